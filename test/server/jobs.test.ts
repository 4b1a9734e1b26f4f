/**
 * Denoise jobs over HTTP: one job per device at a time, the rest queued, progress as server-sent
 * events, cancel; first with a runner the test drives step by step, then with the real pipeline.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DenoiseOptions, DenoiseReport } from '../../src/pipeline/types.js';
import type { ComparisonDetail, ComparisonMetrics, JobView, SeriesDetail, StudiesResponse } from '../../src/server/api-types.js';
import { buildApp } from '../../src/server/app.js';
import type { DenoiseRunner } from '../../src/server/jobs/queue.js';
import { writeFixtureStudy, type FixtureStudy } from './fixture-study.js';
import { jobEvents } from './http.js';

const POLL = { timeout: 15_000, interval: 20 };
const MINIMAL_CARD = path.resolve(import.meta.dirname, '../fixtures-models/minimal.json');
const PER_PIXEL_CARD = path.resolve(import.meta.dirname, '../fixtures-models/per-pixel.json');
/** The per-pixel test model with an `uncertainty` block (as calibrate.ts writes one): K = 2, sigma = sqrt(3² std² + 0.5² noise). */
const CALIBRATION = { samples: 2, spreadScale: 3, noiseScale: 0.5, noiseWindowMm: 12 };

function writeCalibratedModel(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const card = JSON.parse(readFileSync(PER_PIXEL_CARD, 'utf8')) as Record<string, unknown>;
  const uncertainty = { samples: 2, calibration: [CALIBRATION], threshold: 10, units: 'HU' };
  writeFileSync(path.join(dir, 'calibrated.json'), JSON.stringify({ ...card, name: 'calibrated', onnx: 'calibrated.onnx', uncertainty }));
  copyFileSync(PER_PIXEL_CARD.replace(/\.json$/, '.onnx'), path.join(dir, 'calibrated.onnx'));
}

/**
 * A --models folder: a valid card named "tiny" in a file of another name (names are card names),
 * beside files that a name must never reach: a JSON file with a secret value and an ONNX file.
 */
function writeModelFolder(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const card = JSON.parse(readFileSync(MINIMAL_CARD, 'utf8')) as Record<string, unknown>;
  writeFileSync(path.join(dir, 'tiny-file.json'), JSON.stringify({ ...card, name: 'tiny', onnx: 'tiny.onnx' }));
  copyFileSync(MINIMAL_CARD.replace(/\.json$/, '.onnx'), path.join(dir, 'tiny.onnx'));
  writeFileSync(path.join(dir, 'evil.json'), JSON.stringify({ format: 'lowdose-model-card/1', name: 'SECRET-VALUE-1234' }));
  writeFileSync(path.join(dir, 'x.onnx'), 'not a model');
}

interface RunnerCall {
  readonly paths: string[];
  readonly options: DenoiseOptions;
  advance(done: number, total: number): void;
  finish(report: DenoiseReport): void;
}

/** A runner that does nothing until the test says so, and stops when its signal aborts. */
function steppedRunner(): { runner: DenoiseRunner; calls: RunnerCall[]; next: () => Promise<RunnerCall> } {
  const calls: RunnerCall[] = [];
  const waiting: Array<(call: RunnerCall) => void> = [];
  const runner: DenoiseRunner = (paths, options) =>
    new Promise<DenoiseReport>((resolve, reject) => {
      options.signal?.addEventListener('abort', () => reject(options.signal!.reason as Error));
      // Like the pipeline, output appears in outDir as the run goes.
      mkdirSync(options.outDir, { recursive: true });
      writeFileSync(path.join(options.outDir, 'partial.dcm'), 'partial');
      const call: RunnerCall = {
        paths,
        options,
        advance: (done, total) =>
          options.onProgress?.({ seriesIndex: 0, seriesCount: 1, seriesKey: 'k', slicesDone: done, slicesTotal: total }),
        finish: resolve,
      };
      calls.push(call);
      waiting.shift()?.(call);
    });
  const next = () =>
    new Promise<RunnerCall>((resolve) => {
      const seen = calls.length;
      // Calls that already happened are handed out in order.
      if (seen > handed) resolve(calls[handed++]!);
      else waiting.push((call) => (handed++, resolve(call)));
    });
  let handed = 0;
  return { runner, calls, next };
}

/** Reads `event: job` messages off a fetch response one at a time. */
function sseReader(response: Response): { next(): Promise<JobView>; rest(): Promise<JobView[]> } {
  const body = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const pull = async (): Promise<boolean> => {
    const { value, done } = await body.read();
    if (done) return false;
    buffer += decoder.decode(value, { stream: true });
    return true;
  };
  const take = (): JobView | null => {
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end < 0) return null;
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const [event] = jobEvents(`${block}\n\n`);
      if (event) return event;
    }
  };
  return {
    async next() {
      for (;;) {
        const event = take();
        if (event) return event;
        if (!(await pull())) throw new Error('event stream ended');
      }
    },
    async rest() {
      while (await pull());
      const events: JobView[] = [];
      for (let event = take(); event; event = take()) events.push(event);
      return events;
    },
  };
}

let root: string;
let study: FixtureStudy;
let lowDoseId: string;
let denoisedId: string;
let denoisedComparisonId: string;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-jobs-'));
  study = await writeFixtureStudy(path.join(root, 'data'), { size: 48, slices: 3 });
  const probe = await buildApp({ data: [path.join(root, 'data')], workDir: path.join(root, 'probe') });
  const { studies } = (await probe.inject({ url: '/api/studies' })).json() as StudiesResponse;
  await probe.close();
  lowDoseId = studies[0]!.series.find((s) => s.role === 'low-dose')!.id;
  denoisedId = studies[0]!.series.find((s) => s.role === 'denoised')!.id;
  denoisedComparisonId = studies[0]!.comparisons[0]!.id;
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('job queue', () => {
  let app: FastifyInstance;
  let driver: ReturnType<typeof steppedRunner>;

  beforeAll(async () => {
    driver = steppedRunner();
    const models = path.join(root, 'models');
    writeModelFolder(models);
    writeCalibratedModel(models);
    app = await buildApp({
      data: [path.join(root, 'data')],
      workDir: path.join(root, 'work'),
      modelDirs: [models],
      denoise: driver.runner,
      queueDevice: (options) => options.device ?? 'cpu',
    });
  });

  afterAll(async () => {
    await app?.close();
  });

  const submit = async (body: object): Promise<JobView> => {
    const response = await app.inject({ method: 'POST', url: '/api/jobs', payload: body });
    expect(response.statusCode, response.body).toBe(202);
    return response.json() as JobView;
  };
  const get = async (id: string): Promise<JobView> => (await app.inject({ url: `/api/jobs/${id}` })).json() as JobView;

  it('runs one job per device, queues the next, streams progress and ends the stream when the job ends', async () => {
    const first = await submit({ series: [lowDoseId], options: { method: 'diffusion', model: 'tiny', steps: 4, seed: 7, consistency: 0.5, texture: 'full-dose', dose: 0.25 } });
    expect(first.status).toBe('running');
    const call = await driver.next();
    expect(call.paths).toEqual(study.lowDose.slices.map((s) => s.file));
    expect(call.options).toMatchObject({ method: 'diffusion', steps: 4, seed: 7, consistency: 0.5, model: path.join(root, 'models', 'tiny-file.json') });
    // The API's dose is the pipeline's doseLevel (denoise --dose), which full-dose texture uses.
    expect(call.options).toMatchObject({ texture: 'full-dose', doseLevel: 0.25 });
    expect(call.options).not.toHaveProperty('dose');
    expect(first.options).toMatchObject({ texture: 'full-dose', dose: 0.25 });
    expect(call.options.outDir).toBe(path.join(root, 'work', 'jobs', first.id));
    expect(first.options.model).toBe('tiny');
    // Job views show the options as asked, never a server path.
    expect(JSON.stringify((await app.inject({ url: '/api/jobs' })).json())).not.toContain(root);

    const second = await submit({ series: [lowDoseId], options: { method: 'nlm' } });
    expect(second).toMatchObject({ status: 'queued', queuePosition: 0, device: 'cpu' });
    const elsewhere = await submit({ series: [lowDoseId], options: { device: 'cuda' } });
    expect(elsewhere.status).toBe('running');
    const elsewhereCall = await driver.next();

    // Over a real connection: each event is read before the runner moves on.
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const response = await fetch(`${address}/api/jobs/${first.id}/events`);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = sseReader(response);
    expect((await reader.next()).progress).toBeNull();
    call.advance(1, 3);
    expect((await reader.next()).progress).toMatchObject({ fraction: 1 / 3, slicesDone: 1, slicesTotal: 3 });
    call.advance(2, 3);
    expect((await reader.next()).progress!.fraction).toBeCloseTo(2 / 3, 12);
    call.finish(study.report!);
    const events = await reader.rest();
    expect(events.map((e) => e.status)).toEqual(['done']);
    const last = events.at(-1)!;
    expect(last.result).toEqual({ comparisons: [denoisedComparisonId], uncertainty: [null], hallucination: [null], errors: [] });

    // The queued job starts as soon as its device is free.
    const secondCall = await driver.next();
    expect(secondCall.options.method).toBe('nlm');
    expect((await get(second.id)).status).toBe('running');

    // Cancelling a running job aborts its signal.
    const cancelled = await app.inject({ method: 'DELETE', url: `/api/jobs/${second.id}` });
    expect(cancelled.statusCode).toBe(200);
    expect(secondCall.options.signal!.aborted).toBe(true);
    await expect.poll(async () => (await get(second.id)).status, POLL).toBe('cancelled');
    expect((await get(second.id)).error).toMatchObject({ code: 'E_CANCELLED' });
    expect(existsSync(secondCall.options.outDir), 'a cancelled job leaves no partial output').toBe(false);

    // A job queued behind the cuda job is cancelled before it ever reaches the runner.
    const queued = await submit({ series: [lowDoseId], options: { device: 'cuda' } });
    expect(queued.status).toBe('queued');
    const callsBefore = driver.calls.length;
    const gone = (await app.inject({ method: 'DELETE', url: `/api/jobs/${queued.id}` })).json() as JobView;
    expect(gone.status).toBe('cancelled');
    const replay = await app.inject({ url: `/api/jobs/${queued.id}/events` });
    expect(jobEvents(replay.body).map((e) => e.status)).toEqual(['cancelled']);

    // A run that yields no denoised series fails with the pipeline's first error.
    elsewhereCall.finish({ series: [], errors: [{ path: null, code: 'E_MODEL', message: 'model tiny is broken' }] });
    await expect.poll(async () => (await get(elsewhere.id)).status, POLL).toBe('failed');
    expect((await get(elsewhere.id)).error).toEqual({ code: 'E_MODEL', message: 'model tiny is broken' });
    expect(driver.calls.length).toBe(callsBefore);

    const list = (await app.inject({ url: '/api/jobs' })).json() as { jobs: JobView[] };
    expect(list.jobs.map((j) => j.id)).toEqual([queued.id, elsewhere.id, second.id, first.id]);
  });

  it('refuses job options outside what the CLI accepts, and model paths', async () => {
    for (const options of [{ steps: 0 }, { model: '../../etc/passwd' }, { model: '/abs/model.json' }, { device: 'tpu' }, { samples: 1000 }, { consistency: 1.5 }, { unknown: 1 }, { texture: 'plastic' }, { dose: 0 }, { dose: 2 }]) {
      const response = await app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [lowDoseId], options } });
      expect(response.statusCode, JSON.stringify(options)).toBe(400);
      expect(response.json().code).toBe('E_USAGE');
    }
    const unknownSeries = await app.inject({ method: 'POST', url: '/api/jobs', payload: { series: ['AAAAAAAAAAAA'] } });
    expect(unknownSeries.statusCode).toBe(404);
  });

  it('refuses allowIncomplete on a server without --dicomweb (400 E_USAGE), as the CLI refuses --allow-incomplete on a folder', async () => {
    const before = (await app.inject({ url: '/api/jobs' })).json<{ jobs: JobView[] }>().jobs.length;
    const refused = await app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [lowDoseId], options: { method: 'gaussian' }, allowIncomplete: true } });
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ code: 'E_USAGE', message: '"allowIncomplete" needs a PACS: start lowdose serve with --dicomweb <url> or --dimse dimse://<AE title>@host:port' });
    expect((await app.inject({ url: '/api/jobs' })).json<{ jobs: JobView[] }>().jobs).toHaveLength(before);
  });

  it('resolves model names only among installed cards, by card name, with errors that name no path or file content', async () => {
    const listed = (await app.inject({ url: '/api/models' })).json() as { models: Array<{ name: string }> };
    expect(listed.models.map((m) => m.name)).toEqual(['calibrated', 'tiny', 'lowdose-ct-latent', 'lowdose-ct', 'lowdose-pet']);
    for (const model of ['evil.json', 'evil', 'x.onnx', 'x', '../x', 'tiny-file', 'tiny.json', 'package.json', 'lowdose-ct.json']) {
      const response = await app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [lowDoseId], options: { model } } });
      expect(response.statusCode, model).toBe(400);
      const body = response.json() as { code: string; message: string };
      expect(body.code).toBe('E_USAGE');
      // "../x" already fails the name pattern; the others are names that no installed card has.
      if (!model.includes('/')) expect(body.message).toContain('installed: calibrated, tiny, lowdose-ct-latent, lowdose-ct, lowdose-pet');
      for (const secret of [root, process.cwd(), 'SECRET', 'format']) expect(body.message, model).not.toContain(secret);
    }
    const shipped = await app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [lowDoseId], options: { model: 'lowdose-ct', device: 'cuda' } } });
    expect(shipped.statusCode).toBe(202);
    const call = await driver.next();
    expect(call.options.model).toBe(path.join(import.meta.dirname, '../../models/lowdose-ct.json'));
    call.finish({ series: [], errors: [{ path: null, code: 'E_MODEL', message: `${path.join(root, 'models', 'tiny.onnx')} is broken` }] });
    await expect.poll(async () => (await get(shipped.json().id)).status, POLL).toBe('failed');
    // Job views say what failed with folders as labels, never the server's paths.
    expect((await get(shipped.json().id)).error).toEqual({ code: 'E_MODEL', message: '<models 1>/tiny.onnx is broken' });
  });

  it('passes uncertainty and hallucination to the pipeline, and refuses what the calibration does not describe before queueing', async () => {
    const asked = { method: 'diffusion', model: 'calibrated', uncertainty: true, uncertaintyThreshold: 5, hallucination: true, device: 'webgpu' };
    const job = await submit({ series: [lowDoseId], options: asked });
    const call = await driver.next();
    expect(call.options).toMatchObject({ uncertainty: true, uncertaintyThreshold: 5, hallucination: true });
    expect(job.options).toMatchObject({ uncertainty: true, uncertaintyThreshold: 5, hallucination: true });
    call.finish({ series: [], errors: [{ path: null, code: 'E_MODEL', message: 'stop here' }] });
    await expect.poll(async () => (await get(job.id)).status, POLL).toBe('failed');

    const refusals: Array<[object, string, RegExp]> = [
      [{ method: 'nlm', uncertainty: true }, 'E_USAGE', /need the diffusion model's ensemble, not --method nlm/],
      [{ model: 'calibrated', hallucination: true, texture: 'full-dose', dose: 0.25 }, 'E_USAGE', /calibrated for --texture smooth/],
      [{ model: 'calibrated', uncertaintyThreshold: 5 }, 'E_USAGE', /needs --uncertainty or --hallucination/],
      [{ model: 'calibrated', uncertainty: true, samples: 4 }, 'E_USAGE', /calibrated for --samples 2, not 4/],
      [{ model: 'tiny', uncertainty: true }, 'E_MODEL', /model tiny has no uncertainty calibration/],
      [{ model: 'calibrated', uncertainty: 'yes' }, 'E_USAGE', /uncertainty/],
      [{ model: 'calibrated', uncertainty: true, uncertaintyThreshold: 0 }, 'E_USAGE', /uncertaintyThreshold/],
    ];
    const callsBefore = driver.calls.length;
    for (const [options, code, message] of refusals) {
      const response = await app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [lowDoseId], options } });
      expect(response.statusCode, JSON.stringify(options)).toBe(400);
      expect(response.json(), JSON.stringify(options)).toMatchObject({ code, message: expect.stringMatching(message) });
    }
    expect(driver.calls.length, 'a refused job never reaches the runner').toBe(callsBefore);
  });

  it('answers events for an unknown job with a JSON 404', async () => {
    const response = await app.inject({ url: '/api/jobs/AAAAAAAAAAAA/events' });
    expect(response.statusCode).toBe(404);
    expect(response.json().code).toBe('E_NOT_FOUND');
  });
});

describe('a real denoise job', () => {
  it('with uncertainty and hallucination, names the calibrated uncertainty series its comparison overlays, and the map', async () => {
    const models = path.join(root, 'models-real');
    writeCalibratedModel(models);
    const app = await buildApp({ data: [path.join(root, 'data')], workDir: path.join(root, 'work-uncertainty'), modelDirs: [models] });
    try {
      // The per-pixel test model is no denoiser; a warm start with noise gives its ensemble a real spread.
      const options = { model: 'calibrated', sampler: 'warm-start', steps: 2, seed: 3, uncertainty: true, hallucination: true };
      const response = await app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [lowDoseId], options } });
      expect(response.statusCode, response.body).toBe(202);
      const job = response.json() as JobView;
      const last = jobEvents((await app.inject({ url: `/api/jobs/${job.id}/events` })).body).at(-1)!;
      expect(last.status, JSON.stringify(last.error)).toBe('done');
      const { comparisons, uncertainty, hallucination } = last.result!;
      expect(comparisons).toHaveLength(1);
      expect(uncertainty).toHaveLength(1);
      expect(uncertainty![0]).toEqual(expect.any(String));
      expect(hallucination![0]).toEqual(expect.any(String));
      const comparison = (await app.inject({ url: `/api/comparisons/${comparisons[0]!}` })).json() as ComparisonDetail;
      expect(comparison).toMatchObject({ lowDose: lowDoseId, uncertainty: uncertainty![0], hallucination: hallucination![0] });
      expect(comparison.alignment.uncertainty).toEqual([0, 1, 2]);
      // The uncertainty series is the calibrated SD (the card's threshold travels with it), not the raw spread.
      expect(comparison.report).toMatchObject({ samples: 2, uncertaintyThreshold: 10 });
      const series = (await app.inject({ url: `/api/series/${uncertainty![0]!}` })).json() as SeriesDetail;
      expect(series.role).toBe('uncertainty');
      expect(series.derivation).toMatch(/^calibrated uncertainty \(error SD\) = sqrt\(3\^2 std\^2 \+ 0\.5\^2 boxmean/);
      const report = JSON.parse(readFileSync(path.join(root, 'work-uncertainty', 'jobs', job.id, 'report.json'), 'utf8')) as {
        series: Array<{ samples: number; uncertainty: { calibrated: boolean; calibration: typeof CALIBRATION } }>;
      };
      expect(report.series[0]!.samples).toBe(2);
      expect(report.series[0]!.uncertainty).toMatchObject({ calibrated: true, calibration: CALIBRATION });
    } finally {
      await app.close();
    }
  });

  it('denoises a series the user picked although lowdose derived it (as a worker or a series URL does; a folder walk skips it)', async () => {
    const app = await buildApp({ data: [path.join(root, 'data')], workDir: path.join(root, 'work-derived') });
    try {
      const response = await app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [denoisedId], options: { method: 'gaussian' } } });
      expect(response.statusCode, response.body).toBe(202);
      const job = response.json() as JobView;
      const last = jobEvents((await app.inject({ url: `/api/jobs/${job.id}/events` })).body).at(-1)!;
      expect(last.status, JSON.stringify(last.error)).toBe('done');
      expect(last.result!.comparisons).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  it('denoises the low-dose series with non-local means and opens as a new comparison against the reference', async () => {
    const app = await buildApp({ data: [path.join(root, 'data')], workDir: path.join(root, 'work-real') });
    try {
      const response = await app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [lowDoseId], options: { method: 'nlm' } } });
      expect(response.statusCode, response.body).toBe(202);
      const job = response.json() as JobView;
      const events = jobEvents((await app.inject({ url: `/api/jobs/${job.id}/events` })).body);
      const last = events.at(-1)!;
      expect(last.status, JSON.stringify(last.error)).toBe('done');
      expect(last.progress).toMatchObject({ fraction: 1, slicesDone: 3, slicesTotal: 3 });
      const [comparisonId] = last.result!.comparisons;
      expect(comparisonId).not.toBe(denoisedComparisonId);
      const comparison = (await app.inject({ url: `/api/comparisons/${comparisonId}` })).json() as ComparisonDetail;
      expect(comparison).toMatchObject({ lowDose: lowDoseId, pairedBy: 'report' });
      expect(comparison.reference).not.toBeNull();
      const metrics = (await app.inject({ url: `/api/comparisons/${comparisonId}/metrics` })).json() as ComparisonMetrics;
      expect(metrics).toMatchObject({ against: 'reference', units: 'HU' });
      expect(metrics.slices).toHaveLength(3);
      expect(metrics.mean.noise.denoised!).toBeLessThan(metrics.mean.noise.lowDose!);
    } finally {
      await app.close();
    }
  });
});

/**
 * What one request may ask of the server (ServerConfig.limits): past a limit it is refused with a
 * `{ code, message }` that names the limit, before the work starts: a job beyond the queue's room
 * (429), a job event stream beyond the open streams' room, all clients together or one client's
 * (429), a figure or measurement table over more pixels than the server draws or reads per request
 * (413), an upload or a job's output that would leave the work folder's disk with less free space
 * than the server keeps (507; a job's output beside the outputs promised to the jobs not yet ended).
 * The limits are set small here so a 48 x 48 fixture reaches them.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { LowdoseError } from '../../src/errors.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import type { DenoiseRunner } from '../../src/server/jobs/queue.js';
import { formatBytes } from '../../src/util/bytes.js';
import type { ApiError, ComparisonSummary, JobView } from '../../src/server/api-types.js';
import { DEFAULT_LIMITS } from '../../src/server/config.js';
import { figureLayout } from '../../src/server/figure-render.js';
import { jobOutputBytes } from '../../src/server/jobs/output-estimate.js';
import { listedComparisons, serverOver } from '../helpers/server-app.js';
import { writeFixtureStudy, type FixtureStudy } from './fixture-study.js';
import { multipart } from './http.js';

let root: string;
let data: string;
let comparison: ComparisonSummary;
let study: FixtureStudy;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-request-limits-'));
  data = path.join(root, 'data');
  study = await writeFixtureStudy(data, { size: 48, slices: 3 });
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/** A runner that never finishes on its own: the first job runs, the rest wait. Stops when cancelled. */
const endlessRunner: DenoiseRunner = (_paths, options) =>
  new Promise((_resolve, reject) => options.signal?.addEventListener('abort', () => reject(options.signal!.reason as Error)));

describe('the job queue', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await serverOver(root, data, { workDir: path.join(root, 'work-jobs'), denoise: endlessRunner, limits: { queuedJobs: 2 } });
    comparison = (await listedComparisons(app))[0]!;
  });
  afterAll(async () => app?.close());

  const submit = () => app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [comparison.lowDose], options: { method: 'gaussian' } } });

  it('refuses a job beyond its room with 429, and takes one again once a waiting job leaves', async () => {
    const accepted = [];
    for (let i = 0; i < 3; i++) accepted.push((await submit()).json() as JobView);
    expect(accepted.map((j) => j.status)).toEqual(['running', 'queued', 'queued']);

    const refused = await submit();
    expect(refused.statusCode).toBe(429);
    const body = refused.json() as ApiError;
    expect(body.code).toBe('E_USAGE');
    expect(body.message).toContain('2 jobs are waiting to run');
    // Nothing was added: the list holds the three accepted jobs only.
    expect(((await app.inject({ url: '/api/jobs' })).json() as { jobs: JobView[] }).jobs).toHaveLength(3);

    await app.inject({ method: 'DELETE', url: `/api/jobs/${accepted[2]!.id}` });
    expect((await submit()).statusCode).toBe(202);
  });
});

describe('figures and measurement tables', () => {
  let app: FastifyInstance;
  // A 48 x 48 slice is drawn at zoom 10 at scale 1, 20 at scale 2 (figureLayout): the series alone is a
  // 480 x 512 px figure at scale 1 (245,760 px), 960 x 1024 at scale 2 (983,040 px); the comparison's
  // four panes across are 1926 x 512 at scale 1 (986,112 px). Half a million pixels lies between.
  const limit = 500_000;
  beforeAll(async () => {
    app = await serverOver(root, data, { workDir: path.join(root, 'work-figures'), limits: { imagePixels: limit } });
    comparison = (await listedComparisons(app))[0]!;
  });
  afterAll(async () => app?.close());

  it('draw a figure within the pixel limit and refuse a larger one with 413 naming its size', async () => {
    const small = await app.inject({ url: `/api/figure.png?series=${comparison.lowDose}&scale=1` });
    expect(small.statusCode).toBe(200);
    const png = PNG.sync.read(small.rawPayload);
    expect(png.width * png.height).toBeLessThanOrEqual(limit);

    const large = await app.inject({ url: `/api/figure.png?series=${comparison.lowDose}&scale=2` });
    expect(large.statusCode).toBe(413);
    const body = large.json() as ApiError;
    expect(body.code).toBe('E_USAGE');
    expect(body.message).toMatch(/the figure would be \d+ x \d+ px/);
    expect(body.message).toContain('scale=1');

    // A hanging of the comparison (source, denoised, reference, difference: 4 panes across) at scale 1 is over it too,
    // by GET and by POST (the outlines' route).
    const hanging = await app.inject({ url: `/api/figure.png?comparisons=${comparison.id}` });
    expect(hanging.statusCode).toBe(413);
    const posted = await app.inject({ method: 'POST', url: '/api/figure.png', payload: { comparisons: [comparison.id] } });
    expect(posted.statusCode).toBe(413);
  });

  it('draw an ellipse outline of any radius with vertices bounded by the image, not by the radii', async () => {
    // An ellipse of radius 1e12 px would need ~10^13 vertices at the viewer's 2-px chords: an array no engine can hold.
    const huge = { kind: 'ellipse', ellipse: { cx: 24, cy: 24, rx: 1e12, ry: 1e12 } };
    const response = await app.inject({ method: 'POST', url: '/api/figure.png', payload: { series: comparison.lowDose, measurements: [{ shape: huge }] } });
    expect(response.statusCode).toBe(200);
    expect(PNG.sync.read(response.rawPayload).width).toBe(480);
  });

  it('refuse a measurement table whose slices hold more pixels than the limit, and read one within it', async () => {
    const shape = { kind: 'ellipse', ellipse: { cx: 24, cy: 24, rx: 5, ry: 5 } };
    const tight = await serverOver(root, data, { workDir: path.join(root, 'work-table'), limits: { imagePixels: 48 * 48 * 2 } });
    try {
      const one = await tight.inject({ method: 'POST', url: '/api/measurements.csv', payload: { series: comparison.lowDose, index: 1, measurements: [{ shape }] } });
      expect(one.statusCode).toBe(200);
      // Low-dose, denoised and reference slices: three 48 x 48 slices.
      const three = await tight.inject({ method: 'POST', url: '/api/measurements.csv', payload: { comparisons: [comparison.id], index: 1, measurements: [{ shape }] } });
      expect(three.statusCode).toBe(413);
      expect((three.json() as ApiError).message).toContain("the table's 3 slice(s) hold");
    } finally {
      await tight.close();
    }
  });

  it('refuse a slice larger than the pixel limit with 413 before reading it, and serve one within it', async () => {
    const tight = await serverOver(root, data, { workDir: path.join(root, 'work-slice'), limits: { imagePixels: 48 * 48 - 1 } });
    try {
      const refused = await tight.inject({ url: `/api/series/${comparison.lowDose}/slices/0` });
      expect(refused.statusCode).toBe(413);
      expect((refused.json() as ApiError).message).toContain('is 48 x 48 px,');
    } finally {
      await tight.close();
    }
    expect((await app.inject({ url: `/api/series/${comparison.lowDose}/slices/0` })).statusCode).toBe(200);
  });

  it('by default draw a 16-pane hanging of 512 x 512 slices at scale 2 (12 methods, source, reference, difference, uncertainty)', () => {
    const { width, height } = figureLayout(Array.from({ length: 16 }, () => ({ image: { rows: 512, columns: 512 } })), { scale: 2 });
    expect(width * height).toBeLessThanOrEqual(DEFAULT_LIMITS.imagePixels);
  });
});

describe('uploads', () => {
  it('are refused with 507 E_IO, nothing kept, when they would leave less free disk than the reserve', async () => {
    const files = readdirSync(study.lowDoseDir).map((name) => ({ name, data: readFileSync(path.join(study.lowDoseDir, name)) }));
    const upload = (app: FastifyInstance) => app.inject({ method: 'POST', url: '/api/uploads', ...multipart(files) });
    // No disk has 2^53 bytes free: the reserve cannot be kept.
    const full = await serverOver(root, data, { workDir: path.join(root, 'work-full'), limits: { diskReserveBytes: Number.MAX_SAFE_INTEGER } });
    try {
      const refused = await upload(full);
      expect(refused.statusCode).toBe(507);
      const body = refused.json() as ApiError;
      expect(body.code).toBe('E_IO');
      expect(body.message).toContain('the upload does not fit');
      expect(readdirSync(path.join(root, 'work-full', 'uploads'))).toEqual([]);
    } finally {
      await full.close();
    }
    const roomy = await serverOver(root, data, { workDir: path.join(root, 'work-roomy'), limits: { diskReserveBytes: 0 } });
    try {
      expect((await upload(roomy)).statusCode).toBe(200);
    } finally {
      await roomy.close();
    }
  });
});

describe('job outputs', () => {
  const submit = (app: FastifyInstance, options: Record<string, unknown> = { method: 'gaussian' }) =>
    app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [comparison.lowDose], options } });

  it('are estimated per written series as the larger of the source files and their 16-bit pixels', async () => {
    const files = readdirSync(study.lowDoseDir).map((name) => path.join(study.lowDoseDir, name));
    const onDisk = files.reduce((sum, file) => sum + statSync(file).size, 0);
    const pixels = 48 * 48 * 2 * 3;
    const one = await jobOutputBytes([{ rows: 48, columns: 48, slices: 3, files }], {});
    expect(one).toBe(Math.max(onDisk, pixels));
    // A compressed source's files hold fewer bytes than the 16-bit series written from them.
    expect(await jobOutputBytes([{ rows: 48, columns: 48, slices: 3, files: [] }], {})).toBe(pixels);
    // The ensemble's uncertainty series, and the hallucination map with it.
    expect(await jobOutputBytes([{ rows: 48, columns: 48, slices: 3, files }], { samples: 4 })).toBe(2 * one);
    expect(await jobOutputBytes([{ rows: 48, columns: 48, slices: 3, files }], { hallucination: true })).toBe(3 * one);
  });

  it('are refused with 507 E_IO at acceptance, no job listed, when they would leave less free disk than the reserve', async () => {
    const full = await serverOver(root, data, { workDir: path.join(root, 'work-jobs-full'), denoise: endlessRunner, limits: { diskReserveBytes: Number.MAX_SAFE_INTEGER } });
    try {
      comparison = (await listedComparisons(full))[0]!;
      const refused = await submit(full);
      expect(refused.statusCode).toBe(507);
      const body = refused.json() as ApiError;
      expect(body.code).toBe('E_IO');
      expect(body.message).toMatch(/; the job's output \(about [\d.]+ KiB\) does not fit$/);
      expect(((await full.inject({ url: '/api/jobs' })).json() as { jobs: JobView[] }).jobs).toEqual([]);
    } finally {
      await full.close();
    }
  });

  it('fail a queued job with E_IO when it starts and the disk no longer keeps the reserve', async () => {
    const app = await serverOver(root, data, { workDir: path.join(root, 'work-jobs-filling'), denoise: endlessRunner, limits: { diskReserveBytes: 0 } });
    try {
      comparison = (await listedComparisons(app))[0]!;
      const running = (await submit(app)).json() as JobView;
      const queued = (await submit(app)).json() as JobView;
      expect([running.status, queued.status]).toEqual(['running', 'queued']);
      // The disk fills while the job waits: a reserve no disk can keep stands in for it.
      (app.config.limits as { diskReserveBytes: number }).diskReserveBytes = Number.MAX_SAFE_INTEGER;
      await app.inject({ method: 'DELETE', url: `/api/jobs/${running.id}` });
      await expect.poll(() => app.jobs.get(queued.id).status, { timeout: 10_000, interval: 20 }).toBe('failed');
      const ended = app.jobs.get(queued.id);
      expect(ended.error?.code).toBe('E_IO');
      expect(ended.error?.message).toContain("the job's output");
    } finally {
      await app.close();
    }
  });
});

/** A job's run the test drives: write bytes into its folder, fail it, or let the real pipeline finish it. */
interface DrivenRun {
  write(bytes: number): void;
  fail(): void;
  finish(): void;
}

/** A runner that waits for the test: each run is handed out in the order the queue starts them. */
function drivenRunner(): { runner: DenoiseRunner; runs: DrivenRun[] } {
  const runs: DrivenRun[] = [];
  const runner: DenoiseRunner = (paths, options) =>
    new Promise<DenoiseReport>((resolve, reject) => {
      options.signal?.addEventListener('abort', () => reject(options.signal!.reason as Error));
      runs.push({
        write: (bytes) => {
          mkdirSync(options.outDir, { recursive: true });
          writeFileSync(path.join(options.outDir, `written-${bytes}.bin`), Buffer.alloc(bytes));
        },
        fail: () => reject(new LowdoseError('E_DECODE', 'the run failed')),
        finish: () => void denoisePaths(paths, options).then(resolve, reject),
      });
    });
  return { runner, runs };
}

describe('job outputs promised to queued and running jobs', () => {
  const reserve = 64 * 1024;
  /** The stand-in disk's free bytes. */
  let free = 0;
  let estimate = 0;
  let app: FastifyInstance;
  let driven: ReturnType<typeof drivenRunner>;
  const poll = { timeout: 15_000, interval: 20 };

  beforeAll(async () => {
    const files = readdirSync(study.lowDoseDir).map((name) => path.join(study.lowDoseDir, name));
    estimate = await jobOutputBytes([{ rows: 48, columns: 48, slices: 3, files }], {});
  });

  const start = async (name: string) => {
    driven = drivenRunner();
    app = await serverOver(root, data, { workDir: path.join(root, name), denoise: driven.runner, limits: { diskReserveBytes: reserve }, freeBytes: async () => free });
    comparison = (await listedComparisons(app))[0]!;
  };
  afterAll(async () => app?.close());

  const submit = () => app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [comparison.lowDose], options: { method: 'gaussian' } } });
  const listed = async () => ((await app.inject({ url: '/api/jobs' })).json() as { jobs: JobView[] }).jobs.length;
  const run = async (index: number) => {
    await expect.poll(() => driven.runs.length, poll).toBeGreaterThan(index);
    return driven.runs[index]!;
  };

  it('refuse at submission a job whose output would cross the reserve beside them, and take it once one is cancelled, fails or finishes', async () => {
    await start('work-promised');
    // Room for two and a half outputs above the reserve: each job alone fits, a third beside two does not.
    free = reserve + Math.floor(2.5 * estimate);
    const first = (await submit()).json() as JobView;
    const second = (await submit()).json() as JobView;
    expect([first.status, second.status]).toEqual(['running', 'queued']);

    const refused = await submit();
    expect(refused.statusCode).toBe(507);
    const body = refused.json() as ApiError;
    expect(body.code).toBe('E_IO');
    expect(body.message).toContain(`, and ${formatBytes(2 * estimate)} of it is promised to the output of 2 queued or running job(s); the job's output (about ${formatBytes(estimate)}) does not fit`);
    expect(await listed()).toBe(2);

    // Cancelling the queued job gives its room back.
    await app.inject({ method: 'DELETE', url: `/api/jobs/${second.id}` });
    const third = (await submit()).json() as JobView;
    expect(third.status).toBe('queued');
    expect((await submit()).statusCode).toBe(507);

    // So does a job that fails: the third starts, and a fourth fits beside it.
    (await run(0)).fail();
    expect((await app.jobs.settled(first.id)).status).toBe('failed');
    const fourth = (await submit()).json() as JobView;
    expect(fourth.status).toBe('queued');
    expect((await submit()).statusCode).toBe(507);

    // And one that finishes (the stand-in disk's free space stays as it was: only the promise goes).
    (await run(1)).finish();
    expect((await app.jobs.settled(third.id)).status).toBe('done');
    expect((await submit()).statusCode).toBe(202);
    await app.close();
  });

  it('keep an upload off the room promised to a queued job, and let it in once the job is cancelled', async () => {
    await start('work-promised-upload');
    const files = readdirSync(study.lowDoseDir).map((name) => ({ name, data: readFileSync(path.join(study.lowDoseDir, name)) }));
    const upload = () => app.inject({ method: 'POST', url: '/api/uploads', ...multipart(files) });
    // Room above the reserve for one job's output and 16 bytes (the stand-in disk does not fill as
    // the upload is stored: its first chunk must not fit).
    free = reserve + estimate + 16;
    const job = (await submit()).json() as JobView;
    const refused = await upload();
    expect(refused.statusCode).toBe(507);
    expect((refused.json() as ApiError).message).toContain(`, and ${formatBytes(estimate)} of it is promised to the output of 1 queued or running job(s); the upload does not fit`);
    await app.inject({ method: 'DELETE', url: `/api/jobs/${job.id}` });
    expect((await upload()).statusCode).toBe(200);
    await app.close();
  });

  it('count of a running job only what it has not yet written', async () => {
    await start('work-promised-written');
    // Room for three outputs above the reserve; two jobs take two of them.
    free = reserve + 3 * estimate;
    const first = (await submit()).json() as JobView;
    expect((await submit()).statusCode).toBe(202);
    // The running job writes half its output: the disk has that much less free, the promise that much less to come.
    const half = Math.floor(estimate / 2);
    (await run(0)).write(half);
    free -= half;
    expect(app.jobs.get(first.id).status).toBe('running');
    expect((await submit()).statusCode).toBe(202);
    expect((await submit()).statusCode).toBe(507);
    await app.close();
  });
});

describe('job event streams', () => {
  /**
   * GET `url` on a connection of its own (no keep-alive), from the loopback address `from`: its
   * status, its body once it ends, and a way to close it.
   */
  const openStream = (url: string, from = '127.0.0.1', headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: Promise<string>; close(): void }>((resolve, reject) => {
      const request = http.get(url, { agent: false, localAddress: from, headers }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        const body = new Promise<string>((done) => response.on('close', () => done(text)));
        resolve({ status: response.statusCode!, body, close: () => request.destroy() });
      });
      request.on('error', reject);
    });

  it('refuse one beyond the open streams with 429 E_USAGE, and take one again once a stream closes', async () => {
    const app = await serverOver(root, data, { workDir: path.join(root, 'work-streams'), denoise: endlessRunner, limits: { eventStreams: 2 } });
    const streams: Array<{ close(): void }> = [];
    try {
      comparison = (await listedComparisons(app))[0]!;
      const job = (await app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [comparison.lowDose], options: { method: 'gaussian' } } })).json() as JobView;
      const address = await app.listen({ host: '127.0.0.1', port: 0 });
      const open = async () => {
        const stream = await openStream(`${address}/api/jobs/${job.id}/events`);
        streams.push(stream);
        return stream;
      };
      const first = await open();
      const second = await open();
      expect([first.status, second.status]).toEqual([200, 200]);

      const third = await open();
      expect(third.status).toBe(429);
      const body = JSON.parse(await third.body) as ApiError;
      expect(body.code).toBe('E_USAGE');
      expect(body.message).toContain('2 job event streams are open');

      first.close();
      // The server sees the connection close when it does: ask again until it has.
      await expect.poll(async () => (await open()).status, { timeout: 10_000, interval: 50 }).toBe(200);
    } finally {
      for (const stream of streams) stream.close();
      await app.close();
    }
  });

  it('count the clients behind a trusted reverse proxy by their forwarded address, and no one else by a forwarded header', async () => {
    // 127.0.0.1 is the proxy; the clients behind it are told apart by X-Forwarded-For alone.
    const behindProxy = await serverOver(root, data, { workDir: path.join(root, 'work-streams-proxy'), denoise: endlessRunner, trustProxy: ['127.0.0.1'], limits: { eventStreams: 10, eventStreamsPerClient: 1 } });
    // The same, where the proxy is elsewhere: a header from 127.0.0.1 must change nothing.
    const notTrusted = await serverOver(root, data, { workDir: path.join(root, 'work-streams-forged'), denoise: endlessRunner, trustProxy: ['192.0.2.1'], limits: { eventStreams: 10, eventStreamsPerClient: 1 } });
    const streams: Array<{ close(): void }> = [];
    try {
      const statuses = async (app: typeof behindProxy) => {
        comparison = (await listedComparisons(app))[0]!;
        const job = (await app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [comparison.lowDose], options: { method: 'gaussian' } } })).json() as JobView;
        const address = await app.listen({ host: '127.0.0.1', port: 0 });
        const open = async (client: string) => {
          const stream = await openStream(`${address}/api/jobs/${job.id}/events`, '127.0.0.1', { 'x-forwarded-for': client });
          streams.push(stream);
          return stream.status;
        };
        return [await open('198.51.100.1'), await open('198.51.100.2'), await open('198.51.100.1')];
      };
      expect(await statuses(behindProxy)).toEqual([200, 200, 429]);
      expect(await statuses(notTrusted)).toEqual([200, 429, 429]);
    } finally {
      for (const stream of streams) stream.close();
      await behindProxy.close();
      await notTrusted.close();
    }
  });

  it('keep streams for other clients when one client opens as many as it may', async () => {
    const app = await serverOver(root, data, { workDir: path.join(root, 'work-streams-fair'), denoise: endlessRunner, limits: { eventStreams: 3, eventStreamsPerClient: 2 } });
    const streams: Array<{ close(): void }> = [];
    try {
      comparison = (await listedComparisons(app))[0]!;
      const job = (await app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [comparison.lowDose], options: { method: 'gaussian' } } })).json() as JobView;
      const address = await app.listen({ host: '127.0.0.1', port: 0 });
      // Two clients, told apart by their addresses (Linux answers all of 127.0.0.0/8 on loopback).
      const open = async (from: string) => {
        const stream = await openStream(`${address}/api/jobs/${job.id}/events`, from);
        streams.push(stream);
        return stream;
      };
      const greedy = [await open('127.0.0.1'), await open('127.0.0.1')];
      expect(greedy.map((s) => s.status)).toEqual([200, 200]);
      const refused = await open('127.0.0.1');
      expect(refused.status).toBe(429);
      const body = JSON.parse(await refused.body) as ApiError;
      expect(body.code).toBe('E_USAGE');
      expect(body.message).toContain("2 job event streams are open from this client's address, the most this server keeps per client");

      // The other client still gets one; past the server's ceiling it is refused too, with the ceiling's words.
      expect((await open('127.0.0.2')).status).toBe(200);
      const full = await open('127.0.0.2');
      expect(full.status).toBe(429);
      expect((JSON.parse(await full.body) as ApiError).message).toContain('3 job event streams are open, the most this server keeps');

      // A closed stream gives its client's slot back.
      greedy[0]!.close();
      await expect.poll(async () => (await open('127.0.0.1')).status, { timeout: 10_000, interval: 50 }).toBe(200);
    } finally {
      for (const stream of streams) stream.close();
      await app.close();
    }
  });
});

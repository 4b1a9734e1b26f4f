/**
 * Every `denoise` run stops cleanly on SIGINT / SIGTERM (src/cli/stop-on-signal.ts): a folder run,
 * a single DICOMweb study, a single DIMSE study in the middle of its series' C-GET, and a study of a
 * cohort that had finished some of its series. The CLI is spawned on real CT (Mayo L192 / L143 B30f
 * quarter dose, 7 slices each) and signalled once a known point is reached (a log line on stderr, a
 * request or the PACS's bytes held by a proxy in front of Orthanc), then the record (report.json,
 * --json), the exit status and what is left on disk are checked.
 */
import { existsSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, open, readFile, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DICOMWEB_AUTH_ENV } from '../../src/dicomweb/client.js';
import { commandElement, startCuttingProxy, type CuttingProxy } from '../helpers/cutting-proxy.js';
import { startProxy, type Proxy } from '../helpers/http-proxy.js';
import { copyAsOtherSeries, copyAsOtherStudy } from '../helpers/mutate-dicom.js';
import { SIGNAL_EXIT } from '../../src/cli/stop-on-signal.js';
import { findOrthanc, freePort, ORTHANC_AET, readInstances, startOrthanc, uploadInstances, type RunningOrthanc } from '../helpers/orthanc.js';
import { listAll, runUntil } from '../helpers/signal-run.js';

const MAYO_A = path.resolve('../shared/ldct-mayo/L192/B30f/quarter');
const MAYO_B = path.resolve('../shared/ldct-mayo/L143/B30f/quarter');
const haveMayo = existsSync(MAYO_A) && existsSync(MAYO_B);
if (!haveMayo) console.warn('skipping the denoise stop-on-signal tests: ../shared/ldct-mayo is not there');
const installed = findOrthanc();
if (!installed) console.warn('skipping the PACS stop-on-signal tests: Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)');

// Slow enough on CPU (over a second a slice) that a series is still being written when the signal
// lands: the signal is sent on a log line, never after a delay.
const SLOW = ['--method', 'diffusion', '--steps', '10', '--no-progress', '--json'];

interface Report {
  series: Array<{ input: { seriesInstanceUid: string }; output: { dir: string }; skipped?: boolean; earlierRun?: boolean }>;
  errors: Array<{ code: string; message: string; path: string | null }>;
  studies?: Array<{ studyInstanceUid: string; outcome: string; series: string[]; errors: Array<{ code: string; message: string }> }>;
}

/** How many times `needle` occurs in `text`. */
const count = (text: string, needle: RegExp) => (text.match(needle) ?? []).length;
/** The log line denoisePaths writes as a series starts ("CT series "...": 7 slices 512x512 -> dir"). */
const SERIES_START = /CT series "[^"]+": \d+ slices \d+x\d+ -> /g;

describe.skipIf(!haveMayo)('denoise <folder> stopped by a signal', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-stop-folder-'));
    await mkdir(path.join(dir, 'in'));
    await symlink(MAYO_A, path.join(dir, 'in', 'a'));
    await symlink(MAYO_B, path.join(dir, 'in', 'b'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('SIGINT while the second series is written: exit 130, the first series finished in report.json, the second E_CANCELLED without marker, no lock or temporary left; a rerun redoes only the second', async () => {
    const out = path.join(dir, 'out');
    const args = ['denoise', path.join(dir, 'in'), '-o', out, ...SLOW];
    const stopped = await runUntil(args, {}, (stderr) => count(stderr, SERIES_START) >= 2);
    expect(stopped.code, stopped.stderr).toBe(130);
    const printed = JSON.parse(stopped.stdout) as Report;
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as Report;
    for (const r of [printed, report]) {
      expect(r.series).toHaveLength(1);
      expect(r.series[0]!.earlierRun).toBeUndefined();
      expect(r.errors).toEqual([{ code: 'E_CANCELLED', path: expect.any(String), message: expect.stringMatching(/was stopped after [0-6] of 7 slices \(interrupted by SIGINT\).*a rerun into the same -o redoes it/) }]);
    }
    const finishedDir = report.series[0]!.output.dir;
    const cancelledDir = report.errors[0]!.path!;
    expect(cancelledDir).not.toBe(finishedDir);
    expect(existsSync(path.join(finishedDir, '.lowdose-complete.json'))).toBe(true);
    expect(existsSync(path.join(cancelledDir, '.lowdose-complete.json'))).toBe(false);
    // Locks released, nothing half written.
    expect(listAll(out).filter((f) => f.endsWith('.lock') || f.endsWith('.tmp'))).toEqual([]);

    const rerun = await runUntil(args, {}, null);
    expect(rerun.code, rerun.stderr).toBe(0);
    const again = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as Report;
    expect(again.errors).toEqual([]);
    expect(again.series.map((s) => [s.output.dir, Boolean(s.skipped)])).toEqual([
      [finishedDir, true],
      [cancelledDir, false],
    ]);
    expect(readdirSync(cancelledDir).filter((f) => f.endsWith('.dcm'))).toHaveLength(7);
  }, 240_000);

  it('SIGINT during the input scan stops it at the next file: exit 130, --json names how many files were read, no series listed, -o not made', async () => {
    // The scan's first file is a named pipe: its read waits until this test writes it, so the
    // signal lands while the scan is known to be under way, with the series' 7 files still to read.
    const fifo = path.join(dir, 'scan-first.dcm');
    execFileSync('mkfifo', [fifo]);
    const out = path.join(dir, 'out-scan');
    let signalled!: () => void;
    const signalledOnce = new Promise<void>((resolve) => (signalled = resolve));
    const reading = open(fifo, 'w');
    const written = reading.then(async (writer) => {
      await signalledOnce;
      await writer.writeFile('not DICOM');
      await writer.close();
    });
    const run = await runUntil(['denoise', fifo, MAYO_A, '-o', out, '--method', 'gaussian', '--no-progress', '--json'], {}, reading.then(() => undefined), 'SIGINT', signalled);
    await written;
    expect(run.code, run.stderr).toBe(130);
    expect(JSON.parse(run.stdout)).toEqual({
      toolkit: expect.any(Object),
      series: [],
      errors: [{ code: 'E_CANCELLED', path: null, message: 'the input scan was stopped after reading 1 of 8 file(s) (interrupted by SIGINT): no series was listed, nothing was denoised' }],
    });
    expect(existsSync(out)).toBe(false);
  }, 120_000);

  it('SIGTERM while the model loads stops the load: exit 143, report.json has the series not run (no folder, no lock), printed before the load could end', async () => {
    // The model's ONNX file is a named pipe that this test opens for writing: the load waits in its
    // read, the signal is sent once the load has opened it, and the pipe is closed (ending the read)
    // only after the run has printed its report: the run must not wait for the load to print it.
    const modelDir = path.join(dir, 'model-fifo');
    await mkdir(modelDir);
    await copyFile(path.resolve('models/lowdose-ct.json'), path.join(modelDir, 'lowdose-ct.json'));
    const fifo = path.join(modelDir, 'lowdose-ct.onnx');
    execFileSync('mkfifo', [fifo]);
    const out = path.join(dir, 'out-load');
    const loading = open(fifo, 'w');
    let printed!: () => void;
    const reported = new Promise<void>((resolve) => (printed = resolve));
    const closed = Promise.all([loading, reported]).then(([writer]) => writer.close());
    const run = await runUntil(
      ['denoise', MAYO_A, '-o', out, '--model', path.join(modelDir, 'lowdose-ct.json'), '--steps', '2', '--no-progress', '--json'],
      {},
      loading.then(() => undefined),
      'SIGTERM',
      () => {},
      (stdout) => stdout.trimEnd().endsWith('}') && isJson(stdout) && printed(),
    );
    await closed;
    expect(run.code, run.stderr).toBe(143);
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as Report;
    expect(JSON.parse(run.stdout)).toEqual(report);
    expect(report.series).toEqual([]);
    expect(report.errors).toEqual([
      { code: 'E_CANCELLED', path: expect.stringContaining(MAYO_A), message: expect.stringMatching(/^series \S+ was not run: it was stopped while its model was loading \(interrupted by SIGTERM\); nothing of it was written$/) },
    ]);
    // No series folder was made, no lock or temporary left.
    expect(listAll(out).filter((f) => !['report.json'].includes(f))).toEqual([]);
  }, 120_000);
});

/** Whether `text` parses as JSON. */
function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Our AE title, known to Orthanc (C-GET is allowed from it). */
const CALLING_AET = 'LOWDOSE';

describe.skipIf(!haveMayo || !installed)('denoise <PACS study> stopped by a signal (Orthanc)', () => {
  let dir: string;
  let orthanc: RunningOrthanc;
  let proxy: Proxy;
  /** In front of Orthanc's DICOM port: holds what the PACS sends, sees what we send. */
  let dimseProxy: CuttingProxy;
  /** Our C-MOVE storage SCP's port, and the proxy in front of it that Orthanc sends to (it holds what Orthanc sends). */
  let movePort: number;
  let moveProxy: CuttingProxy;
  /** One study of one series; one study of two series (the second a copy of the first as another series). */
  const study = { one: '', two: '' };
  let seriesOfTwo: string[] = [];
  const saved = { auth: process.env[DICOMWEB_AUTH_ENV] };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-stop-pacs-'));
    movePort = await freePort();
    moveProxy = await startCuttingProxy(movePort, 'client');
    orthanc = await startOrthanc(dir, { dicomModalities: { lowdose: { aet: CALLING_AET, host: '127.0.0.1', port: moveProxy.port } } });
    study.one = (await uploadInstances(orthanc, copyAsOtherStudy(await readInstances(MAYO_A, '.IMA'), new Set(), 71)))[0]!['StudyInstanceUID']!;
    const first = copyAsOtherStudy(await readInstances(MAYO_B, '.IMA'), new Set(), 72);
    const uploaded = await uploadInstances(orthanc, [...first, ...copyAsOtherSeries(first, 3)]);
    study.two = uploaded[0]!['StudyInstanceUID']!;
    seriesOfTwo = [...new Set(uploaded.map((t) => t['SeriesInstanceUID']!))];
    proxy = await startProxy(orthanc.http);
    dimseProxy = await startCuttingProxy(orthanc.dicomPort);
    process.env[DICOMWEB_AUTH_ENV] = `basic:${orthanc.user}:${orthanc.password}`;
  }, 180_000);

  afterAll(async () => {
    if (saved.auth === undefined) delete process.env[DICOMWEB_AUTH_ENV];
    else process.env[DICOMWEB_AUTH_ENV] = saved.auth;
    await proxy?.close();
    await dimseProxy?.close();
    await moveProxy?.close();
    await orthanc?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('SIGTERM while one study is pulled: exit 143, report.json says E_CANCELLED and what was pulled, no pull folder or temporary left', async () => {
    const tmp = path.join(dir, 'tmp-one');
    await mkdir(tmp);
    const out = path.join(dir, 'out-one');
    let release!: () => void;
    const signalled = new Promise<void>((resolve) => (release = resolve));
    let retrieved = 0;
    let third!: () => void;
    const atThird = new Promise<void>((resolve) => (third = resolve));
    // The third instance waits until the run has taken the signal: the pull is known to be under way.
    proxy.hold = async (method, url) => {
      if (method === 'GET' && /\/instances\/[^/?]+$/.test(url) && ++retrieved === 3) {
        third();
        await signalled;
      }
    };
    try {
      const run = runUntil(['denoise', `${proxy.base}/dicom-web/studies/${study.one}`, '-o', out, ...SLOW], { TMPDIR: tmp }, atThird, 'SIGTERM', release);
      const result = await run;
      expect(result.code, result.stderr).toBe(143);
      const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as Report & { dicomweb: { pulled: unknown[] } };
      expect(report.series).toEqual([]);
      expect(report.errors).toEqual([expect.objectContaining({ code: 'E_CANCELLED', message: expect.stringContaining('stopped while pulling (interrupted by SIGTERM)') })]);
      expect(report.dicomweb).toBeDefined();
      expect(JSON.parse(result.stdout)).toEqual(report);
      expect(listAll(path.join(tmp, 'lowdose-dicomweb')).filter((f) => !f.startsWith('.'))).toEqual([]);
      expect(listAll(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      proxy.hold = null;
    }
  }, 180_000);

  /**
   * Signals a single-study DIMSE run once the PACS's bytes are held past about two of the series'
   * seven instances (512 x 512 x 2 bytes each; the C-FINDs before are far shorter): `held` is the
   * proxy that carries the instances (the C-GET's association, or the C-MOVE's to our storage SCP),
   * which forwards again once the run has taken the signal. Returns the run, its report and how many
   * C-CANCEL commands went to the PACS.
   */
  async function stopDimsePull(name: string, held: CuttingProxy, options: string[], signal: NodeJS.Signals) {
    const tmp = path.join(dir, `tmp-${name}`);
    await mkdir(tmp);
    const out = path.join(dir, `out-${name}`);
    let hold!: () => void;
    const atHold = new Promise<void>((resolve) => (hold = resolve));
    const cancelCommand = commandElement(0x0100, 0x0fff);
    let cancels = 0;
    held.holdAfter = 1_200_000;
    held.onHold = hold;
    dimseProxy.watch = (chunk) => void (chunk.includes(cancelCommand) && cancels++);
    try {
      const source = `dimse://${ORTHANC_AET}@127.0.0.1:${dimseProxy.port}/${study.one}`;
      const result = await runUntil(['denoise', source, '-o', out, '--calling-aet', CALLING_AET, ...options, '--method', 'gaussian', '--no-progress', '--json'], { TMPDIR: tmp }, atHold, signal, () => held.release());
      const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as Report & { dimse: { pulled: unknown[] } };
      return { source, result, report, cancels, tmp };
    } finally {
      held.holdAfter = null;
      held.onHold = null;
      dimseProxy.watch = null;
      held.release();
    }
  }

  for (const verb of ['C-GET', 'C-MOVE'] as const) {
    const signal = verb === 'C-GET' ? 'SIGTERM' : 'SIGINT';
    it(`${signal} in the middle of a DIMSE study's ${verb}: C-CANCEL sent, the PACS ends the retrieve, exit ${SIGNAL_EXIT[signal]}, report.json says stopped while pulling with nothing pulled, no pull folder or temporary left`, async () => {
      const { source, result, report, cancels, tmp } =
        verb === 'C-GET' ? await stopDimsePull('c-get', dimseProxy, [], signal) : await stopDimsePull('c-move', moveProxy, ['--move-port', String(movePort)], signal);
      expect(result.code, result.stderr).toBe(SIGNAL_EXIT[signal]);
      expect(cancels).toBe(1);
      // Orthanc 1.10.1 ends a cancelled C-GET with 0xFE00; a cancelled C-MOVE with 0xC000 once a
      // sub-operation after the C-CANCEL is answered "not kept" (0xA700) by our storage SCP.
      const answer = verb === 'C-GET' ? '0xfe00 (terminated due to cancel)' : '0xc000';
      expect(result.stderr).toContain(`${verb} of dimse://${ORTHANC_AET}@127.0.0.1:${dimseProxy.port} stopped (interrupted by ${signal}): C-CANCEL sent, the PACS answered ${answer}; nothing more was kept`);
      expect(report.series).toEqual([]);
      expect(report.errors).toEqual([{ code: 'E_CANCELLED', path: source, message: `${source}: stopped while pulling (interrupted by ${signal}); nothing was denoised` }]);
      expect(report.dimse.pulled).toEqual([]);
      expect(JSON.parse(result.stdout)).toEqual(report);
      expect(listAll(path.join(tmp, 'lowdose-dimse')).filter((f) => !f.startsWith('.'))).toEqual([]);
      expect(listAll(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    }, 180_000);
  }

  it('SIGINT while a cohort\'s DICOMweb study query (--patient-id) is held: the QIDO-RS request is aborted, exit 130, --json says the query was stopped and nothing pulled', async () => {
    const out = path.join(dir, 'out-query-web');
    let held!: () => void;
    const atHold = new Promise<void>((resolve) => (held = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    proxy.abandoned.length = 0;
    // The study query waits until the run has taken the signal: an answer cannot race it.
    proxy.hold = async (method, url) => {
      if (method === 'GET' && /\/dicom-web\/studies\?/.test(url)) {
        held();
        await released;
      }
    };
    try {
      const result = await runUntil(['denoise', `${proxy.base}/dicom-web`, '--patient-id', 'L192', '-o', out, ...SLOW], { TMPDIR: dir }, atHold, 'SIGINT');
      expect(result.code, result.stderr).toBe(130);
      // Aborted by the run, not answered: the proxy saw the connection go while it held the query.
      expect(proxy.abandoned.map((r) => r.url)).toEqual([expect.stringMatching(/^\/dicom-web\/studies\?.*PatientID=L192/)]);
      const report = JSON.parse(result.stdout) as Report;
      expect(report.series).toEqual([]);
      expect(report.errors).toEqual([
        expect.objectContaining({ code: 'E_CANCELLED', path: `${proxy.base}/dicom-web`, message: expect.stringMatching(/^the study query on .* was stopped: GET .* stopped \(interrupted by SIGINT\); no study was pulled, nothing was denoised$/) }),
      ]);
    } finally {
      release();
      proxy.hold = null;
    }
  }, 180_000);

  it('SIGINT while a cohort\'s DIMSE study query (--accession) is answered: C-CANCEL sent for the C-FIND, exit 130, --json says the query was stopped', async () => {
    const out = path.join(dir, 'out-query-dimse');
    let held!: () => void;
    const atHold = new Promise<void>((resolve) => (held = resolve));
    const cancelCommand = commandElement(0x0100, 0x0fff);
    let cancels = 0;
    // The PACS's first C-FIND-RSP waits until the run has taken the signal.
    dimseProxy.holdWhen = (chunk) => chunk.includes(commandElement(0x0100, 0x8020));
    dimseProxy.onHold = held;
    dimseProxy.watch = (chunk) => void (chunk.includes(cancelCommand) && cancels++);
    try {
      const pacs = `dimse://${ORTHANC_AET}@127.0.0.1:${dimseProxy.port}`;
      const result = await runUntil(['denoise', pacs, '--accession', 'A1', '-o', out, '--calling-aet', CALLING_AET, ...SLOW], { TMPDIR: dir }, atHold, 'SIGINT', () => dimseProxy.release());
      expect(result.code, result.stderr).toBe(130);
      expect(cancels).toBe(1);
      const report = JSON.parse(result.stdout) as Report;
      expect(report.series).toEqual([]);
      expect(report.errors).toEqual([
        expect.objectContaining({ code: 'E_CANCELLED', path: pacs, message: expect.stringMatching(new RegExp(`^the study query on ${pacs} was stopped: C-FIND of ${pacs} stopped \\(interrupted by SIGINT\\): C-CANCEL sent, .*; no study was pulled, nothing was denoised$`)) }),
      ]);
    } finally {
      dimseProxy.holdWhen = null;
      dimseProxy.onHold = null;
      dimseProxy.watch = null;
      dimseProxy.release();
    }
  }, 180_000);

  it('SIGINT while the second series of a cohort study is denoised: that study lists the series it finished (this run\'s, not earlierRun), the other study is not run', async () => {
    const tmp = path.join(dir, 'tmp-cohort');
    await mkdir(tmp);
    const out = path.join(dir, 'out-cohort');
    const urls = [study.two, study.one].map((uid) => `${proxy.base}/dicom-web/studies/${uid}`);
    // The second series of the first study starts after its first is finished; the second study is
    // pulled ahead meanwhile and is stopped before it is denoised.
    const result = await runUntil(['denoise', ...urls, '-o', out, ...SLOW], { TMPDIR: tmp }, (stderr) => count(stderr, SERIES_START) >= 2);
    expect(result.code, result.stderr).toBe(130);
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as Report;
    const [two, one] = report.studies!;
    expect(two).toMatchObject({ studyInstanceUid: study.two, outcome: 'failed', errors: [expect.objectContaining({ code: 'E_CANCELLED', message: expect.stringMatching(/was stopped after [0-6] of 7 slices/) })] });
    expect(two!.series).toHaveLength(1);
    expect(seriesOfTwo).toContain(two!.series[0]);
    expect(report.series.map((s) => [s.input.seriesInstanceUid, s.earlierRun])).toEqual([[two!.series[0], undefined]]);
    expect(one).toMatchObject({ studyInstanceUid: study.one, outcome: 'failed', series: [], errors: [expect.objectContaining({ code: 'E_CANCELLED' })] });
    expect(listAll(path.join(tmp, 'lowdose-dicomweb')).filter((f) => !f.startsWith('.'))).toEqual([]);
    expect(listAll(out).filter((f) => f.endsWith('.lock') || f.endsWith('.tmp'))).toEqual([]);
  }, 240_000);
});

/**
 * `denoise` over several DICOMweb studies pulls the next study while the current one is denoised
 * (one study ahead), against a real Orthanc behind a proxy that holds chosen requests, so the
 * order of events is checked without timing anything: the next study's instances are retrieved
 * before the current study's derived series is stored. A failure pulling the study ahead is that
 * study's alone. SIGINT while a study is pulled ahead stops the run cleanly: exit 130, report.json
 * with every study (the one pulled ahead and the one never started as E_CANCELLED), no pull folder
 * or temporary file left.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DICOMWEB_AUTH_ENV } from '../../src/dicomweb/client.js';
import { runCli } from '../helpers/cli.js';
import { startProxy, type Proxy } from '../helpers/http-proxy.js';
import { findOrthanc, readInstances, type RunningOrthanc, startOrthanc, uploadCohort } from '../helpers/orthanc.js';
import { listAll, runUntil } from '../helpers/signal-run.js';
import { keepEnv } from '../helpers/env.js';
const CT_DIR = path.resolve('../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const installed = findOrthanc();
if (!installed) console.warn('skipping cohort pull-ahead tests: Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)');

interface CohortReport {
  series: Array<{ input: { seriesInstanceUid: string } }>;
  errors: Array<{ code: string; message: string; path: string | null }>;
  studies: Array<{ source: string; studyInstanceUid: string; outcome: string; series: string[]; errors: Array<{ code: string; message: string }> }>;
}

/** A WADO-RS retrieve of one instance of `study` (not a QIDO-RS instance list). */
const retrievesInstanceOf = (url: string, study: string) => new RegExp(`/studies/${study.replaceAll('.', '\\.')}/series/[^/]+/instances/[^/?]+$`).test(url);

describe.skipIf(!installed)('denoise over several DICOMweb studies pulls one study ahead (Orthanc)', () => {
  let dir: string;
  let orthanc: RunningOrthanc;
  let proxy: Proxy;
  const study: Record<'A' | 'B' | 'C', string> = { A: '', B: '', C: '' };
  const restoreEnv = keepEnv('TMPDIR', DICOMWEB_AUTH_ENV);
  const studyUrl = (name: 'A' | 'B' | 'C') => `${proxy.base}/dicom-web/studies/${study[name]}`;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-pull-ahead-'));
    orthanc = await startOrthanc(dir);
    const originals = await readInstances(CT_DIR);
    Object.assign(study, await uploadCohort(orthanc, originals, 61));
    proxy = await startProxy(orthanc.http);
    process.env[DICOMWEB_AUTH_ENV] = `basic:${orthanc.user}:${orthanc.password}`;
  }, 120_000);

  afterAll(async () => {
    restoreEnv();
    await proxy?.close();
    await orthanc?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("retrieves the next study's instances while the current study is denoised and stored; each study's pull folder is removed", async () => {
    const tmp = path.join(dir, 'tmp-order');
    await mkdir(tmp);
    process.env.TMPDIR = tmp;
    const events: string[] = [];
    let nextPulled!: () => void;
    const pulledAhead = new Promise<void>((resolve) => (nextPulled = resolve));
    proxy.hold = async (method, url) => {
      if (method === 'GET' && retrievesInstanceOf(url, study.B)) {
        events.push('retrieve B');
        nextPulled();
      }
      if (method === 'POST' && url.endsWith(`/studies/${study.A}`)) {
        // A's derived series is stored only after A was denoised: held until B is being retrieved
        // (a run that pulls B only after A has ended would wait here for nothing, 20 s).
        await Promise.race([pulledAhead, new Promise((resolve) => setTimeout(resolve, 20_000))]);
        events.push('store A');
      }
    };
    try {
      const out = path.join(dir, 'out-order');
      const run = await runCli('denoise', studyUrl('A'), studyUrl('B'), '-o', out, '--method', 'gaussian', '--stow', `${proxy.base}/dicom-web`, '--no-progress', '--json');
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(run.stdout) as CohortReport;
      expect(report.studies.map((s) => [s.studyInstanceUid, s.outcome])).toEqual([[study.A, 'done'], [study.B, 'done']]);
      expect(report.series).toHaveLength(2);
      expect(events.indexOf('retrieve B')).toBeGreaterThanOrEqual(0);
      expect(events.indexOf('retrieve B')).toBeLessThan(events.indexOf('store A'));
      // Both pull folders were removed once their study succeeded.
      expect(listAll(path.join(tmp, 'lowdose-dicomweb')).filter((f) => !f.startsWith('.'))).toEqual([]);
    } finally {
      proxy.hold = null;
    }
  }, 120_000);

  it('a failure pulling the study ahead is reported for that study only; the study being denoised is done', async () => {
    const tmp = path.join(dir, 'tmp-fail');
    await mkdir(tmp);
    process.env.TMPDIR = tmp;
    proxy.fail = (method, url) => method === 'GET' && retrievesInstanceOf(url, study.C);
    try {
      const out = path.join(dir, 'out-fail');
      const run = await runCli('denoise', studyUrl('A'), studyUrl('C'), '-o', out, '--method', 'gaussian', '--dicomweb-retries', '0', '--no-progress', '--json');
      expect(run.code, run.stderr).toBe(1);
      const report = JSON.parse(run.stdout) as CohortReport;
      const [a, c] = report.studies;
      expect(a).toMatchObject({ studyInstanceUid: study.A, outcome: 'done', errors: [] });
      expect(a!.series).toHaveLength(1);
      expect(c).toMatchObject({ studyInstanceUid: study.C, outcome: 'failed', series: [] });
      expect(c!.errors.map((e) => e.code)).toEqual(['E_IO']);
      expect(report.errors).toEqual(c!.errors);
      expect(report.series.map((s) => s.input.seriesInstanceUid)).toEqual(a!.series);
    } finally {
      proxy.fail = null;
    }
  }, 120_000);

  it('SIGINT while the next study is pulled ahead and the study before it is being stored: exit 130, every study in report.json (E_CANCELLED for the cut store, the stopped pull and the unstarted study), the denoised study kept in -o, no pull folder or temporary left', async () => {
    const tmp = path.join(dir, 'tmp-sigint');
    await mkdir(tmp);
    const out = path.join(dir, 'out-sigint');
    let noticed!: () => void;
    const signalSeen = new Promise<void>((resolve) => (noticed = resolve));
    let nextPulled!: () => void;
    const pulledAhead = new Promise<void>((resolve) => (nextPulled = resolve));
    let storingA!: () => void;
    const aDenoised = new Promise<void>((resolve) => (storingA = resolve));
    // B's instances and A's store wait until the run has taken the SIGINT, so what each study was doing then is known.
    proxy.hold = async (method, url) => {
      if (method === 'GET' && retrievesInstanceOf(url, study.B)) {
        nextPulled();
        await signalSeen;
      }
      // A's store comes once A is denoised. (A run that pulls B only after A has ended would wait here for nothing: 20 s, then B is pulled.)
      if (method === 'POST' && url.endsWith(`/studies/${study.A}`)) {
        storingA();
        await Promise.race([signalSeen, new Promise((resolve) => setTimeout(resolve, 20_000))]);
      }
    };
    try {
      const args = ['denoise', studyUrl('A'), studyUrl('B'), studyUrl('C'), '-o', out, '--method', 'gaussian', '--stow', `${proxy.base}/dicom-web`, '--no-progress', '--json'];
      // SIGINT once B is being pulled and A is denoised (B's pull begins while A is denoised: a signal
      // then would stop A's series too); the held requests go on once the run says it took it.
      const run = await runUntil(args, { TMPDIR: tmp }, Promise.all([pulledAhead, aDenoised]).then(() => {}), 'SIGINT', noticed);
      // A run without a handler ends at once: nothing is held for a notice that did not come.
      noticed();
      expect(run.code, run.stderr).toBe(130);
      expect(run.stderr).toContain('stopping the studies (SIGINT)');
      const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as CohortReport;
      const [a, b, c] = report.studies;
      expect(report.studies.map((s) => s.studyInstanceUid)).toEqual([study.A, study.B, study.C]);
      // A was denoised; its store in flight is cut by the signal (a rerun into the same -o stores it again).
      expect(a).toMatchObject({ outcome: 'failed', errors: [expect.objectContaining({ code: 'E_CANCELLED', message: expect.stringContaining('was stopped after 0 of 3 instance(s) were stored') })] });
      expect(a!.series.length).toBeGreaterThan(0);
      expect(b).toMatchObject({ outcome: 'failed', series: [], errors: [expect.objectContaining({ code: 'E_CANCELLED' })] });
      expect(c).toMatchObject({ outcome: 'failed', series: [], errors: [expect.objectContaining({ code: 'E_CANCELLED', message: expect.stringContaining('was not run') })] });
      expect(report.errors.map((e) => e.code)).toEqual(['E_CANCELLED', 'E_CANCELLED', 'E_CANCELLED']);
      // Nothing of B's pull is left: no pull folder, no temporary instance file.
      expect(listAll(path.join(tmp, 'lowdose-dicomweb')).filter((f) => !f.startsWith('.'))).toEqual([]);
      expect(listAll(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      proxy.hold = null;
    }
  }, 120_000);
});

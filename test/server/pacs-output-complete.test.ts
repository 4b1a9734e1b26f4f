/**
 * A denoised series stored to a PACS and opened from it again comes without its hidden completion
 * marker (.lowdose-complete.json stays in the `-o` folder), and is still judged right by
 * `serve --dicomweb`: its files state how many files the whole series has (SoftwareVersions `series
 * of 7 files numbered 1-7`, src/dicom/contributing-equipment.ts), so a finished one reads complete,
 * with its series means, and one its run stopped after k slices reads incomplete `k of n`. A real
 * Orthanc (test/helpers/orthanc.ts); the finished series stored by `denoise <study url> --stow`
 * (DICOMweb STOW-RS) and by `denoise dimse://<study> --store` (DIMSE C-STORE), the stopped one's
 * files stored as they were left.
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { PacsOpened, PacsSeriesList } from '../../src/server/api-types.js';
import { buildApp } from '../../src/server/app.js';
import { shortId } from '../../src/server/ids.js';
import { runCli } from '../helpers/cli.js';
import { seriesFolderIn, writeDiscCt } from '../helpers/disc-ct.js';
import { findOrthanc, freePort, ORTHANC_AET, startOrthanc, type RunningOrthanc } from '../helpers/orthanc.js';
import { listedComparisons } from '../helpers/server-app.js';

const SLICES = 7;
const STOP_AFTER = 3;
const installed = findOrthanc();
const CALLING_AET = 'LOWDOSE';

describe.skipIf(!installed)('a denoised series opened from a PACS by serve --dicomweb', () => {
  let dir: string;
  let orthanc: RunningOrthanc;
  let app: FastifyInstance;
  let study: string;
  let stoppedSlices: number;
  /** The denoised series' UIDs: stored with --stow, with --store. */
  let stowed: string;
  let storedByDimse: string;
  const dicoms = (folder: string) => readdirSync(folder).filter((f) => f.endsWith('.dcm')).sort().map((f) => path.join(folder, f));
  const upload = async (files: string[]) => {
    for (const file of files) expect((await orthanc.rest('/instances', { method: 'POST', body: await readFile(file) })).ok).toBe(true);
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-pacs-complete-'));
    orthanc = await startOrthanc(dir, { dicomModalities: { lowdose: { aet: CALLING_AET, host: '127.0.0.1', port: await freePort() } } });
    const low = path.join(dir, 'low');
    await writeDiscCt(low, { slices: SLICES, size: 32, uidSeed: 'pacs-complete-low' });
    await upload(dicoms(low));
    const [found] = (await (await orthanc.rest('/tools/find', { method: 'POST', body: Buffer.from(JSON.stringify({ Level: 'Study', Query: {}, Expand: true })) })).json()) as Array<{
      MainDicomTags: { StudyInstanceUID: string };
    }>;
    study = found!.MainDicomTags.StudyInstanceUID;
    // Finished, and stored back by the run itself (the viewer's "Store the result" and --store send the same files).
    const stored = await runCli('denoise', `${orthanc.dicomweb}/studies/${study}`, '-o', path.join(dir, 'stowed'), '--method', 'gaussian', '--stow', orthanc.dicomweb,
      '--dicomweb-auth', `basic:${orthanc.user}:${orthanc.password}`, '--no-progress', '--json');
    expect(stored.code, stored.stderr).toBe(0);
    stowed = (JSON.parse(stored.stdout) as { series: Array<{ output: { seriesInstanceUid: string } }> }).series[0]!.output.seriesInstanceUid;
    // The same by DIMSE: pulled with C-GET, stored back with C-STORE.
    const pacs = `dimse://${ORTHANC_AET}@127.0.0.1:${orthanc.dicomPort}`;
    const dimse = await runCli('denoise', `${pacs}/${study}`, '-o', path.join(dir, 'stored'), '--method', 'gaussian', '--calling-aet', CALLING_AET, '--store', pacs, '--no-progress', '--json');
    expect(dimse.code, dimse.stderr).toBe(0);
    storedByDimse = (JSON.parse(dimse.stdout) as { series: Array<{ output: { seriesInstanceUid: string } }> }).series[0]!.output.seriesInstanceUid;
    expect(storedByDimse).not.toBe(stowed);
    // Stopped as SIGINT stops a run, once 3 slices are written; its files stored as they were left.
    const controller = new AbortController();
    const run = denoisePaths([low], {
      outDir: path.join(dir, 'stopped'),
      method: 'gaussian',
      batch: 1,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.slicesDone >= STOP_AFTER) controller.abort(new Error('interrupted by SIGINT'));
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'E_CANCELLED' });
    const stoppedFiles = dicoms(seriesFolderIn(path.join(dir, 'stopped')));
    stoppedSlices = stoppedFiles.length;
    await upload(stoppedFiles);
    app = await buildApp({
      data: [],
      workDir: path.join(dir, 'work'),
      viewerDir: null,
      logger: { level: 'silent' },
      dicomweb: { base: orthanc.dicomweb, client: { auth: `basic:${orthanc.user}:${orthanc.password}`, retries: 0 } },
    });
    // The clinician opens the study's four series from the PACS browser.
    const { series } = (await app.inject({ url: `/api/pacs/studies/${study}/series` })).json<PacsSeriesList>();
    expect(series).toHaveLength(4);
    for (const s of series) {
      const opened = await app.inject({ method: 'POST', url: `/api/pacs/studies/${study}/series/${s.seriesInstanceUid}/open` });
      expect(opened.statusCode, opened.body).toBe(200);
      expect(opened.json<PacsOpened>().retrieved).toBe(s.instances);
    }
  }, 180_000);

  afterAll(async () => {
    await app?.close();
    await orthanc?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The comparison whose denoised series has the SeriesInstanceUID `uid`. */
  const comparisonOf = async (uid: string) => {
    const found = (await listedComparisons(app)).find((c) => c.denoised === shortId('series', uid));
    if (!found) throw new Error(`no comparison of ${uid}`);
    return found;
  };

  it('reads a finished series stored with --stow (DICOMweb) or --store (DIMSE) as complete, and gives its series means', async () => {
    expect(await listedComparisons(app)).toHaveLength(3);
    for (const uid of [stowed, storedByDimse]) {
      const finished = await comparisonOf(uid);
      expect(finished.incomplete, uid).toBeNull();
      const means = await app.inject({ url: `/api/comparisons/${finished.id}/metrics` });
      expect(means.statusCode, means.body).toBe(200);
      expect((await app.inject({ url: `/api/comparisons/${finished.id}/metrics.csv` })).statusCode).toBe(200);
    }
  });

  it('reads a series its run stopped after k slices as incomplete, k of n, from the count its files state', async () => {
    expect(stoppedSlices).toBeGreaterThan(0);
    expect(stoppedSlices).toBeLessThan(SLICES);
    const stopped = (await listedComparisons(app)).find((c) => c.incomplete !== null);
    expect(stopped?.incomplete).toMatchObject({ slices: stoppedSlices, expected: SLICES });
    expect(stopped!.incomplete!.message).toContain(`incomplete output: ${stoppedSlices} of ${SLICES} slices`);
    expect(stopped!.incomplete!.message).toContain(`its files say the series has ${SLICES} files numbered 1-${SLICES}: ${stoppedSlices} are here`);
    const means = await app.inject({ url: `/api/comparisons/${stopped!.id}/metrics` });
    expect(means.statusCode).toBe(409);
    expect(means.json()).toMatchObject({ code: 'E_OUTPUT_INCOMPLETE' });
  });
});

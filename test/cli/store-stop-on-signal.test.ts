/**
 * A `denoise <DICOMweb study> --stow <base>` whose STOW-RS destination takes the upload and never
 * answers it (test/helpers/stalled-http.ts) stops on SIGINT: the STOW-RS request in flight is
 * aborted (its connection closed), the series after it are not stored, and the run ends as a
 * stopped run does: exit 130, `report.json` and --json with the series denoised (finished on disk,
 * completion markers and all, so a rerun stores them) and an E_CANCELLED error per series not
 * (wholly) stored, saying how many of its instances were. The source study (two phantom series)
 * comes from the same test server, answered at once; only STOW-RS is held. Before, the request
 * went on until the --dicomweb-timeout and its retries. The C-STORE counterpart (--store) is
 * test/dimse/cancel-unanswered.test.ts.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getString, TAG } from '../../src/dicom/attributes.js';
import { parseDicomBytes } from '../../src/dicom/parse.js';
import { buildMultipart } from '../../src/dicomweb/multipart.js';
import { runPhantom } from '../../src/pipeline/phantom.js';
import { isCompletionMarker } from '../../src/pipeline/frame-output.js';
import { copyAsOtherSeries } from '../helpers/mutate-dicom.js';
import { runUntil } from '../helpers/signal-run.js';
import { RawAnswer, startStalledHttp, type StalledHttp } from '../helpers/stalled-http.js';

interface Report {
  series: Array<{ input: { seriesInstanceUid: string }; output: { seriesInstanceUid: string; dir: string; files: string[] } }>;
  errors: Array<{ code: string; message: string; path: string | null }>;
  dicomweb: { stored: unknown[] };
}

/** One series the test server serves: its UID and its instances' bytes by SOP Instance UID. */
interface ServedSeries {
  readonly seriesInstanceUid: string;
  readonly instances: Map<string, Buffer>;
}

const uidOf = (bytes: Uint8Array, tag: string): string => getString(parseDicomBytes(bytes, 'served').dataSet, tag) ?? '';

let dir: string;
let web: StalledHttp;
let study: string;
const served: ServedSeries[] = [];

/** QIDO-RS and WADO-RS of the served study, answered at once; anything else (STOW-RS) held. */
function answer(method: string, url: string): unknown {
  if (method !== 'GET') return undefined;
  const [route, query = ''] = url.split('?');
  if (route === '/studies') return query.startsWith('limit=1') ? [] : undefined;
  // A page past the last (offset) is empty: every list is whole.
  if (route === `/studies/${study}/series`) {
    if (query.includes('offset=')) return [];
    return served.map((s) => ({ '0020000E': { vr: 'UI', Value: [s.seriesInstanceUid] }, '00080060': { vr: 'CS', Value: ['CT'] }, '00201209': { vr: 'IS', Value: [s.instances.size] } }));
  }
  for (const s of served) {
    const seriesUrl = `/studies/${study}/series/${s.seriesInstanceUid}`;
    if (route === `${seriesUrl}/instances`) {
      // The derived check asks for one instance's DerivationDescription: these have none.
      const uids = query.includes('limit=1') ? [...s.instances.keys()].slice(0, 1) : query.includes('offset=') ? [] : [...s.instances.keys()];
      return uids.map((uid) => ({ '00080018': { vr: 'UI', Value: [uid] } }));
    }
    for (const [uid, bytes] of s.instances) {
      if (route !== `${seriesUrl}/instances/${uid}`) continue;
      const { body, contentType } = buildMultipart([bytes]);
      return new RawAnswer(contentType, body);
    }
  }
  return undefined;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-store-signal-'));
  const phantom = await runPhantom('water', { outDir: path.join(dir, 'phantom'), size: 32, slices: 2, uidSeed: 'store-stop-on-signal' });
  study = phantom.studyInstanceUid;
  // Copies, not Buffers: copyAsOtherSeries slices its input, which for a Buffer is a view of it.
  const first = phantom.files.map((f) => new Uint8Array(readFileSync(f)));
  for (const files of [first, copyAsOtherSeries(first, 7)]) {
    served.push({
      seriesInstanceUid: uidOf(files[0]!, TAG.SeriesInstanceUID),
      instances: new Map(files.map((bytes) => [uidOf(bytes, TAG.SOPInstanceUID), Buffer.from(bytes)])),
    });
  }
  web = await startStalledHttp(answer);
});

afterAll(async () => {
  await web?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('denoise --stow to a DICOMweb server that holds the upload', () => {
  it('SIGINT while STOW-RS is held: the request aborted, exit 130, both series finished on disk, E_CANCELLED for the one stopped (0 of 2 stored) and the one not stored', async () => {
    const out = path.join(dir, 'out');
    const held = web.nextHeld();
    const run = await runUntil(
      ['denoise', `${web.base}/studies/${study}`, '--stow', web.base, '-o', out, '--method', 'gaussian', '--dicomweb-retries', '0', '--no-progress', '--json'],
      { TMPDIR: dir },
      held,
      'SIGINT',
    );
    expect(run.code, run.stderr).toBe(130);
    expect(web.requests.filter((r) => r.method === 'POST')).toEqual([{ method: 'POST', url: `/studies/${study}` }]);
    await web.abandonedAt(1);
    expect(web.abandoned).toEqual([{ method: 'POST', url: `/studies/${study}` }]);

    const report = JSON.parse(run.stdout) as Report;
    expect(report.series.map((s) => s.input.seriesInstanceUid).sort()).toEqual(served.map((s) => s.seriesInstanceUid).sort());
    const [stopped, notStored] = report.series.map((s) => s.output.seriesInstanceUid);
    const stowUrl = `${web.base}/studies/${study}`;
    expect(report.errors).toEqual([
      {
        code: 'E_CANCELLED',
        path: stowUrl,
        message:
          `storing denoised series ${stopped} to ${stowUrl} was stopped after 0 of 2 instance(s) were stored: POST ${stowUrl} stopped (interrupted by SIGINT); ` +
          'the destination may have kept some of the 2 instance(s) it had not confirmed; a rerun into the same -o stores the series again',
      },
      { code: 'E_CANCELLED', path: web.base, message: `denoised series ${notStored} was not stored to ${web.base}: interrupted by SIGINT; a rerun into the same -o stores it` },
    ]);
    expect(report.dicomweb.stored).toEqual([]);
    // The record on disk is the one printed, and each series is finished: its files and completion marker are there.
    expect(JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'))).toMatchObject({ errors: report.errors, series: report.series.map((s) => ({ output: { seriesInstanceUid: s.output.seriesInstanceUid } })) });
    for (const s of report.series) {
      expect(s.output.files).toHaveLength(2);
      for (const file of s.output.files) expect(existsSync(file)).toBe(true);
      expect(readdirSync(s.output.dir).filter(isCompletionMarker)).toHaveLength(1);
    }
  }, 120_000);
});

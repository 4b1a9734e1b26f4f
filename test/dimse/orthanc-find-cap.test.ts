/**
 * A PACS that caps how many matches one C-FIND returns (Orthanc's LimitFindInstances) ends the
 * IMAGE-level C-FIND of a longer series with status 0xFE00 after the first matches: `denoise
 * dimse://...` retrieves such a series whole (one series-level C-GET / C-MOVE, which the cap does
 * not touch) and checks the count against NumberOfSeriesRelatedInstances.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import dicomParser from 'dicom-parser';
import { createHash } from 'node:crypto';
import { startCuttingProxy, withSomeSubOperationsFailed } from '../helpers/cutting-proxy.js';
import { copyAsOtherSeries, copyAsOtherStudy, withSameLengthText } from '../helpers/mutate-dicom.js';
import { findOrthanc, freePort, ORTHANC_AET, readInstances, type RunningOrthanc, startOrthanc } from '../helpers/orthanc.js';
import { openQueue } from '../../src/queue/batch.js';
import { parseRedisUrl } from '../../src/queue/connection.js';
import { hasRedis, startRedis } from '../queue/redis-server.js';

const withModality = (bytes: Uint8Array, modality: string): Uint8Array => withSameLengthText(bytes, 'x00080060', modality);

/** MD5 of a file's PixelData value. */
async function pixelMd5(file: string): Promise<string> {
  const bytes = new Uint8Array(await readFile(file));
  const element = dicomParser.parseDicom(bytes).elements.x7fe00010!;
  return createHash('md5').update(bytes.subarray(element.dataOffset, element.dataOffset + element.length)).digest('hex');
}

/**
 * A chunk of C-FIND answers with every NumberOfSeriesRelatedInstances (0020,1209) of `from` set to
 * `to` (same length), in explicit or implicit VR little endian: a PACS that says a series holds
 * more instances than it sends. Counts how many it changed in `changed`.
 */
function withSeriesCount(from: string, to: string, changed: { count: number }): (chunk: Buffer) => Buffer {
  const tag = Buffer.from([0x20, 0x00, 0x09, 0x12]);
  return (chunk) => {
    const copy = Buffer.from(chunk);
    for (let at = copy.indexOf(tag); at >= 0; at = copy.indexOf(tag, at + 1)) {
      // Explicit VR: tag, 'IS', 2-byte length; implicit: tag, 4-byte length. The value follows at +8 either way.
      const explicit = copy.toString('latin1', at + 4, at + 6) === 'IS';
      const length = explicit ? copy.readUInt16LE(at + 6) : copy.readUInt32LE(at + 4);
      const value = at + 8;
      if (copy.toString('latin1', value, value + length).trim() !== from) continue;
      copy.write(to.padEnd(length, ' '), value, 'latin1');
      changed.count++;
    }
    return copy;
  };
}

const CT_DIR = path.resolve('../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const installed = findOrthanc();

describe.skipIf(!installed)('DIMSE against an Orthanc that caps C-FIND answers', () => {
  let dir: string;
  let orthanc: RunningOrthanc;
  let studyUid: string;
  let movePort: number;
  const savedTmp = process.env.TMPDIR;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-find-cap-'));
    movePort = await freePort();
    process.env.TMPDIR = dir;
    orthanc = await startOrthanc(dir, {
      dicomModalities: { lowdose: { aet: 'LOWDOSE', host: '127.0.0.1', port: movePort } },
      config: { LimitFindInstances: 2, LimitFindResults: 1 },
    });
    for (const file of readdirSync(CT_DIR).filter((f) => f.endsWith('.dcm')).sort()) {
      expect((await orthanc.rest('/instances', { method: 'POST', body: await readFile(path.join(CT_DIR, file)) })).ok).toBe(true);
    }
    const studies = (await (await orthanc.rest('/studies?expand')).json()) as Array<{ MainDicomTags: { StudyInstanceUID: string } }>;
    studyUid = studies[0]!.MainDicomTags.StudyInstanceUID;
  });

  afterAll(async () => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    await orthanc?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a 3-instance series behind LimitFindInstances 2: retrieved whole with one series-level C-GET, all 3 denoised, exit 0', async () => {
    const pacs = `dimse://${ORTHANC_AET}@127.0.0.1:${orthanc.dicomPort}`;
    const out = path.join(dir, 'out');
    const run = await runCli('denoise', `${pacs}/${studyUid}`, '-o', out, '--method', 'gaussian', '--no-progress', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/the PACS listed 2 of its 3 instance\(s\) \(it caps C-FIND answers\); retrieving the whole series with one C-GET/);
    const report = JSON.parse(run.stdout) as { errors: unknown[]; series: Array<{ output: { files: string[] } }>; dimse: { pulled: Array<{ instances: number; retrieved: number }> } };
    expect(report.errors).toEqual([]);
    expect(report.dimse.pulled).toEqual([expect.objectContaining({ instances: 3, retrieved: 3 })]);
    expect(report.series[0]!.output.files).toHaveLength(3);
    // info says the series' instance list is capped: 2 of its 3 (exit 0).
    const info = await runCli('info', `${pacs}/${studyUid}`, '--json');
    expect(info.code, info.stderr).toBe(0);
    expect((JSON.parse(info.stdout) as { series: unknown[] }).series).toEqual([expect.objectContaining({ instances: 3, incomplete: { expected: 3, received: 2, capped: true } })]);
    expect((await runCli('info', `${pacs}/${studyUid}`)).stdout).toContain('warning: incomplete, its instance list holds 2 of the 3 instance(s) the server says the series holds (the server capped the list)');
    // The same pixels as the same files denoised from a folder.
    const plain = await runCli('denoise', CT_DIR, '-o', path.join(dir, 'plain'), '--method', 'gaussian', '--no-progress', '--json');
    const plainFiles = (JSON.parse(plain.stdout) as { series: Array<{ output: { files: string[] } }> }).series[0]!.output.files;
    expect(await Promise.all(report.series[0]!.output.files.map(pixelMd5))).toEqual(await Promise.all(plainFiles.map(pixelMd5)));
  });

  it('a whole-series C-GET cut after the first instance: exit 1 with the count on disk; the rerun retrieves the series whole again and completes', async () => {
    const proxy = await startCuttingProxy(orthanc.dicomPort);
    try {
      const source = `dimse://${ORTHANC_AET}@127.0.0.1:${proxy.port}/${studyUid}`;
      const args = ['denoise', source, '-o', path.join(dir, 'out-cut'), '--method', 'gaussian', '--dimse-timeout', '20', '--no-progress', '--json'];
      // Each CT instance is 526 474 bytes and the PACS sends the next only after our answer to the previous one.
      proxy.cutAfter = 700_000;
      const failed = await runCli(...args);
      expect(failed.code, failed.stderr).toBe(1);
      expect(proxy.cuts).toBe(1);
      const { errors } = JSON.parse(failed.stdout) as { errors: Array<{ code: string; message: string }> };
      expect(errors).toEqual([expect.objectContaining({ code: 'E_IO', message: expect.stringMatching(/retrieving series \S+ whole with C-GET failed with 1 of 3 instance\(s\) on disk: .*; run again$/) })]);
      proxy.cutAfter = null;
      const rerun = await runCli(...args);
      expect(rerun.code, rerun.stderr).toBe(0);
      const report = JSON.parse(rerun.stdout) as { series: Array<{ output: { files: string[] } }>; dimse: { pulled: Array<{ instances: number; retrieved: number }> } };
      expect(report.dimse.pulled).toEqual([expect.objectContaining({ instances: 3, retrieved: 2 })]);
      expect(report.series[0]!.output.files).toHaveLength(3);
    } finally {
      await proxy.close();
    }
  });

  // Orthanc sends the whole series and answers success; a proxy raises its NumberOfSeriesRelatedInstances
  // from 3 to 4 in C-FIND answers and, in the second case, turns its final C-GET / C-MOVE answer into
  // 0xB000 with 1 failed sub-operation (Orthanc 1.10 answers a sub-operation it cannot send with 0xC000).
  it.each([
    { title: 'sends its 3', someFailed: false, answer: 'with success' },
    { title: 'sends its 3 and answers the C-GET / C-MOVE with 0xB000 (1 sub-operation failed)', someFailed: true, answer: 'with 0xb000 (sub-operations complete, one or more failures: 3 completed, 1 failed, 0 with warnings)' },
  ])('a PACS that says the series holds 4 instances and $title: exit 1 E_IO naming 3 of 4, nothing denoised; --allow-incomplete denoises the 3 and records the counts', async ({ someFailed, answer }) => {
    const proxy = await startCuttingProxy(orthanc.dicomPort);
    const [counted, answered] = [{ count: 0 }, { count: 0 }];
    const raiseCount = withSeriesCount('3', '4', counted);
    const failOne = withSomeSubOperationsFailed(1, answered);
    proxy.rewrite = someFailed ? (chunk) => failOne(raiseCount(chunk)) : raiseCount;
    try {
      const source = `dimse://${ORTHANC_AET}@127.0.0.1:${proxy.port}/${studyUid}`;
      const args = (out: string, ...more: string[]) => ['denoise', source, '-o', path.join(dir, out), '--method', 'gaussian', '--no-progress', '--json', ...more];
      const out = someFailed ? 'out-b000' : 'out-short';
      const refused = await runCli(...args(out));
      expect(counted.count).toBeGreaterThan(0);
      expect(refused.code, refused.stderr).toBe(1);
      const refusedReport = JSON.parse(refused.stdout) as { series: unknown[]; errors: Array<{ code: string; message: string; incomplete?: unknown }> };
      expect(refusedReport.series).toEqual([]);
      expect(refusedReport.errors).toEqual([
        expect.objectContaining({
          code: 'E_IO',
          message: expect.stringContaining(` is incomplete: the server says it holds 4 instance(s) and 3 are on disk after the PACS answered the whole-series C-GET ${answer}, so its derived series would lack 1 slice(s); nothing was denoised. --allow-incomplete denoises the 3`),
          incomplete: { seriesInstanceUid: expect.any(String), expected: 4, received: 3 },
        }),
      ]);

      // The same rule for C-MOVE, whose final answer comes on the association the proxy sees.
      const moved = await runCli(...args(`${out}-move`, '--move-port', String(movePort)));
      expect(moved.code, moved.stderr).toBe(1);
      expect((JSON.parse(moved.stdout) as typeof refusedReport).errors).toEqual([
        expect.objectContaining({ code: 'E_IO', message: expect.stringContaining(`answered the whole-series C-MOVE ${answer}`), incomplete: expect.objectContaining({ expected: 4, received: 3 }) }),
      ]);

      const allowed = await runCli(...args(`${out}-allowed`, '--allow-incomplete'));
      expect(allowed.code, allowed.stderr).toBe(0);
      expect(allowed.stderr).toContain('denoising those 3 (--allow-incomplete): the derived series lacks 1 slice(s)');
      const report = JSON.parse(allowed.stdout) as { errors: unknown[]; series: Array<{ output: { files: string[] } }>; dimse: { pulled: Array<{ instances: number; incomplete?: unknown }> } };
      expect(report.errors).toEqual([]);
      expect(report.dimse.pulled).toEqual([expect.objectContaining({ instances: 3, incomplete: { expected: 4, received: 3 } })]);
      expect(report.series[0]!.output.files).toHaveLength(3);
      expect(answered.count).toBe(someFailed ? 3 : 0);
    } finally {
      await proxy.close();
    }
  });

  it('a study whose SERIES-level C-FIND the PACS caps (LimitFindResults 1, a CT and an OT series): asked again per modality, the CT series is denoised; info still says the list is capped', async () => {
    const originals = await readInstances(CT_DIR);
    const ct = copyAsOtherStudy(originals, new Set(), 3);
    const other = copyAsOtherSeries(ct, 1).map((bytes) => withModality(bytes, 'OT'));
    const tags: Array<Record<string, string>> = [];
    for (const bytes of [...ct, ...other]) {
      const response = await orthanc.rest('/instances', { method: 'POST', body: Buffer.from(bytes) });
      expect(response.ok).toBe(true);
      tags.push((await (await orthanc.rest(`/instances/${((await response.json()) as { ID: string }).ID}/simplified-tags`)).json()) as Record<string, string>);
    }
    const study = tags[0]!['StudyInstanceUID']!;
    const pacs = `dimse://${ORTHANC_AET}@127.0.0.1:${orthanc.dicomPort}`;
    const run = await runCli('denoise', `${pacs}/${study}`, '-o', path.join(dir, 'out-series-cap'), '--method', 'gaussian', '--no-progress', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('the PACS stopped the series list after 1 match(es) (it caps C-FIND answers); asking for the CT and PT series alone');
    const report = JSON.parse(run.stdout) as { series: Array<{ output: { files: string[] } }>; dimse: { pulled: Array<{ seriesInstanceUid: string; instances: number }> } };
    expect(report.dimse.pulled).toEqual([expect.objectContaining({ seriesInstanceUid: tags[0]!['SeriesInstanceUID'], instances: 3 })]);
    expect(report.series[0]!.output.files).toHaveLength(3);

    const info = await runCli('info', `${pacs}/${study}`, '--json');
    expect(info.code).toBe(1);
    expect(info.stderr).toMatch(/C-FIND failed with status 0xfe00: the PACS stopped after 1 match\(es\)/);
  });

  it('a PACS that caps its STUDY-level C-FIND (LimitFindResults 1, two studies): info exits 1 naming the cap and how to narrow, denoise over that query too before pulling anything; --patient-id narrows the list under the cap, exit 0', async () => {
    // A second study, of another patient (PatientID 99000 -> 99017, padded to the same even length).
    const originals = await readInstances(CT_DIR);
    for (const bytes of copyAsOtherStudy(originals, new Set(), 17).map((b) => withSameLengthText(b, 'x00100020', '99017 '))) {
      expect((await orthanc.rest('/instances', { method: 'POST', body: Buffer.from(bytes) })).ok).toBe(true);
    }
    const pacs = `dimse://${ORTHANC_AET}@127.0.0.1:${orthanc.dicomPort}`;
    const all = await runCli('info', pacs, '--json');
    expect(all.code).toBe(1);
    expect(all.stderr).toContain(`${pacs}: the PACS caps STUDY-level C-FIND answers: it stopped the study list after 1 match(es) (status 0xfe00; Orthanc: LimitFindResults), so the list would lack studies; narrow it with --patient-id / --from / --to, give a study's address (dimse://.../<StudyInstanceUID>), or raise that cap`);

    const one = await runCli('info', pacs, '--patient-id', '99017', '--json');
    expect(one.code, one.stderr).toBe(0);
    const { studies } = JSON.parse(one.stdout) as { studies: Array<{ patientId: string; studyInstanceUid: string }> };
    expect(studies.map((s) => s.patientId)).toEqual(['99017']);
    // The date keys reach the PACS as DICOM range matching: the study's own day, then a range before it.
    const day = await runCli('info', pacs, '--patient-id', '99017', '--from', '20030417', '--to', '20030417', '--json');
    expect((JSON.parse(day.stdout) as { studies: unknown[] }).studies).toHaveLength(1);
    const before = await runCli('info', pacs, '--patient-id', '99017', '--to', '20030416', '--json');
    expect(before.code, before.stderr).toBe(0);
    expect((JSON.parse(before.stdout) as { studies: unknown[] }).studies).toEqual([]);

    const wildcard = await runCli('info', pacs, '--patient-id', '990*');
    expect(wildcard.code).toBe(1);
    expect(wildcard.stderr).toContain('narrow it further with --patient-id / --from / --to');
    // denoise over a study query: the same cap is an error before any study is pulled, never a part of the cohort.
    const cohort = path.join(dir, 'out-capped-cohort');
    const capped = await runCli('denoise', pacs, '--patient-id', '990*', '-o', cohort, '--method', 'gaussian', '--no-progress', '--json');
    expect(capped.code).toBe(1);
    expect(capped.stdout).toContain('the PACS caps STUDY-level C-FIND answers: it stopped the study list after 1 match(es)');
    expect(existsSync(cohort)).toBe(false);
    const narrowed = await runCli('denoise', pacs, '--patient-id', '99017', '-o', cohort, '--method', 'gaussian', '--no-progress', '--json');
    expect(narrowed.code, narrowed.stderr).toBe(0);
    expect((JSON.parse(narrowed.stdout) as { studies: Array<{ studyInstanceUid: string; outcome: string }> }).studies).toEqual([
      expect.objectContaining({ studyInstanceUid: studies[0]!.studyInstanceUid, outcome: 'done' }),
    ]);
    // The keys narrow a study list: with a study address, or a folder, they are a usage error.
    expect((await runCli('info', `${pacs}/${studies[0]!.studyInstanceUid}`, '--patient-id', '99017')).code).toBe(2);
    expect((await runCli('info', CT_DIR, '--from', '20030417')).code).toBe(2);
    expect((await runCli('info', pacs, '--from', '2003-04-17')).code).toBe(2);
  });

  // After the test above: the PACS holds two studies and caps STUDY-level C-FIND at 1 match.
  it.skipIf(!hasRedis)('batch over a study query the PACS caps: the same E_IO at submission (exit 1), nothing queued', async () => {
    const redis = await startRedis();
    try {
      const pacs = `dimse://${ORTHANC_AET}@127.0.0.1:${orthanc.dicomPort}`;
      const capped = await runCli('batch', pacs, '--patient-id', '990*', '-o', path.join(dir, 'out-capped-batch'), '--redis', redis.url, '--method', 'gaussian', '--json');
      expect(capped.code).toBe(1);
      expect(JSON.parse(capped.stdout)).toEqual({ errors: [expect.objectContaining({ code: 'E_IO', message: expect.stringContaining('the PACS caps STUDY-level C-FIND answers: it stopped the study list after 1 match(es)') })] });
      const queue = await openQueue(parseRedisUrl(redis.url));
      try {
        expect(Object.values(await queue.getJobCounts()).every((n) => n === 0)).toBe(true);
      } finally {
        await queue.close();
      }
    } finally {
      await redis.stop();
    }
  });

  it('the same with --move-port: one series-level C-MOVE to our storage SCP', async () => {
    const pacs = `dimse://${ORTHANC_AET}@127.0.0.1:${orthanc.dicomPort}`;
    const run = await runCli('denoise', `${pacs}/${studyUid}`, '-o', path.join(dir, 'out-move'), '--method', 'gaussian', '--move-port', String(movePort), '--no-progress', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/listed 2 of its 3 instance\(s\).*one C-MOVE/);
    const report = JSON.parse(run.stdout) as { series: Array<{ output: { files: string[] } }>; dimse: { pulled: Array<{ instances: number }> } };
    expect(report.dimse.pulled).toEqual([expect.objectContaining({ instances: 3 })]);
    expect(report.series[0]!.output.files).toHaveLength(3);
  });
});

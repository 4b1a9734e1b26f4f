/**
 * A PACS that caps how many matches one C-FIND returns (Orthanc's LimitFindInstances) ends the
 * IMAGE-level C-FIND of a longer series with status 0xFE00: `denoise dimse://...` must say that the
 * list was cut by the PACS's cap, not only "C-FIND failed with status 0xfe00", and retrieve nothing.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { findOrthanc, ORTHANC_AET, startOrthanc, type RunningOrthanc } from '../helpers/orthanc.js';

const CT_DIR = path.resolve('../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const installed = findOrthanc();

describe.skipIf(!installed)('DIMSE against an Orthanc that caps C-FIND answers', () => {
  let dir: string;
  let orthanc: RunningOrthanc;
  let studyUid: string;
  const savedTmp = process.env.TMPDIR;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-find-cap-'));
    process.env.TMPDIR = dir;
    orthanc = await startOrthanc(dir, {
      dicomModalities: { lowdose: { aet: 'LOWDOSE', host: '127.0.0.1', port: 1 } },
      config: { LimitFindInstances: 2 },
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

  it('a 3-instance series behind LimitFindInstances 2: exit 1, E_IO naming the cap, nothing retrieved', async () => {
    const pacs = `dimse://${ORTHANC_AET}@127.0.0.1:${orthanc.dicomPort}`;
    const out = path.join(dir, 'out');
    const run = await runCli('denoise', `${pacs}/${studyUid}`, '-o', out, '--method', 'gaussian', '--no-progress', '--json');
    expect(run.code).toBe(1);
    const { errors } = JSON.parse(run.stdout) as { errors: Array<{ code: string; message: string }> };
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe('E_IO');
    expect(errors[0]!.message).toMatch(/C-FIND failed with status 0xfe00: the PACS stopped after 2 match\(es\), so it caps how many results one C-FIND returns \(Orthanc: LimitFindInstances/);
    expect(existsSync(path.join(dir, 'lowdose-dimse')) ? readdirSync(path.join(dir, 'lowdose-dimse')) : []).toEqual([]);
  });
});

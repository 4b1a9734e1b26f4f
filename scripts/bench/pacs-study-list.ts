/**
 * What resolving a cohort named by StudyInstanceUIDs costs: `lowdose info <PACS> --studies-from
 * <file>` (the study queries `denoise --studies-from` makes before it pulls anything) against a local
 * Orthanc (Debian's `orthanc` + `orthanc-dicomweb`, started as the PACS tests start it) holding
 * --studies copies of one real CT instance as studies, all named in the file. Each build given with
 * --bin runs it --repeats times, alternating, over DICOMweb (through test/helpers/http-proxy.ts,
 * which counts the QIDO-RS requests) and over DIMSE (through test/helpers/cutting-proxy.ts, which
 * counts the associations: one per C-FIND). Prints one line per run and, with --json, every row.
 *
 *   npx tsx scripts/bench/pacs-study-list.ts --bin <old build>/bin/lowdose.js --bin bin/lowdose.js
 *     [--studies 200] [--repeats 3] [--json]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runTimed } from './timed-cli.js';
import { startCuttingProxy } from '../../test/helpers/cutting-proxy.js';
import { startProxy } from '../../test/helpers/http-proxy.js';
import { copyAsOtherStudy } from '../../test/helpers/mutate-dicom.js';
import { findOrthanc, freePort, ORTHANC_AET, readInstances, startOrthanc, uploadInstances } from '../../test/helpers/orthanc.js';

const { values } = parseArgs({
  options: {
    bin: { type: 'string', multiple: true },
    studies: { type: 'string', default: '200' },
    repeats: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
const bins = (values.bin ?? ['bin/lowdose.js']).map((b) => path.resolve(b));
const count = Number(values.studies);
const repeats = Number(values.repeats);
const CALLING_AET = 'LOWDOSE';
const CT_DIR = path.resolve('../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');


if (!findOrthanc()) throw new Error('Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)');
const dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-study-list-'));
const orthanc = await startOrthanc(dir, { dicomModalities: { lowdose: { aet: CALLING_AET, host: '127.0.0.1', port: await freePort() } } });
const http = await startProxy(orthanc.http);
const tcp = await startCuttingProxy(orthanc.dicomPort);
const rows: Array<{ bin: string; protocol: 'dicomweb' | 'dimse'; repeat: number; ms: number; queries: number; studies: number }> = [];
try {
  const first = (await readInstances(CT_DIR))[0]!;
  const uids = new Set<string>();
  for (let shift = 1; uids.size < count; shift++) uids.add((await uploadInstances(orthanc, copyAsOtherStudy([first], new Set(), shift)))[0]!['StudyInstanceUID']!);
  const file = path.join(dir, 'cohort.csv');
  await writeFile(file, `StudyInstanceUID\n${[...uids].join('\n')}\n`);
  const env = { ...process.env, TMPDIR: dir, LOWDOSE_DICOMWEB_AUTH: `basic:${orthanc.user}:${orthanc.password}` };
  const targets = {
    dicomweb: [`${http.base}/dicom-web`],
    dimse: [`dimse://${ORTHANC_AET}@127.0.0.1:${tcp.port}`, '--calling-aet', CALLING_AET],
  } as const;
  for (let repeat = 0; repeat < repeats; repeat++) {
    for (const bin of repeat % 2 === 0 ? bins : [...bins].reverse()) {
      for (const protocol of ['dicomweb', 'dimse'] as const) {
        http.served.length = 0;
        tcp.connections = 0;
        const args = ['info', ...targets[protocol], '--studies-from', file, '--json'];
        const result = await runTimed(bin, args, env);
        if (result.code !== 0) throw new Error(`${bin} ${args.join(' ')} exited ${result.code}: ${result.stderr.slice(-2000)}`);
        const listed = (JSON.parse(result.stdout) as { studies: unknown[] }).studies.length;
        // QIDO-RS: the first page of each study search (a later page, `offset`, belongs to the same query).
        const queries = protocol === 'dimse' ? tcp.connections : http.served.filter((r) => /\/studies\?/.test(r.url) && !/[?&]offset=/.test(r.url)).length;
        rows.push({ bin, protocol, repeat, ms: Math.round(result.ms), queries, studies: listed });
        console.log(`${protocol} ${bin}: ${(result.ms / 1000).toFixed(2)} s wall, ${queries} ${protocol === 'dimse' ? 'C-FIND associations' : 'QIDO-RS study queries'}, ${listed} of ${count} studies listed`);
      }
    }
  }
  if (values.json) console.log(JSON.stringify({ studies: count, rows }, null, 2));
} finally {
  await tcp.close();
  await http.close();
  await orthanc.stop();
  await rm(dir, { recursive: true, force: true });
}

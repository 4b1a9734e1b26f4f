/**
 * What a rerun of a finished PACS cohort costs: `lowdose denoise` over the studies (their DICOMweb
 * study URLs, or `dimse://` with --dimse) into one -o on a local Orthanc (Debian's `orthanc` +
 * `orthanc-dicomweb`, started as the PACS tests start it), once to finish them, then again
 * --repeats times each with and without `--skip-by-uid`, alternating. Per rerun: wall time, the
 * instances retrieved (the report's `pulled[].retrieved`), the studies not pulled and, over
 * DICOMweb, the requests and response bytes through test/helpers/http-proxy.ts in front of Orthanc
 * (WADO-RS instance retrieves and everything else), and the CLI's peak resident memory (GNU time's
 * maximum RSS, where /usr/bin/time is installed).
 *
 *   npx tsx scripts/bench/pacs-rerun.ts [--bin bin/lowdose.js]
 *     [--study ../shared/ldct-mayo/L143/B30f/quarter --study ../shared/ldct-mayo/L192/B30f/quarter]
 *     [--method gaussian] [--repeats 3] [--dimse] [--json]
 *
 * `--method diffusion` runs the default (the shipped model at its defaults, no --method given).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runTimed } from './timed-cli.js';
import { startProxy } from '../../test/helpers/http-proxy.js';
import { findOrthanc, freePort, ORTHANC_AET, readInstances, startOrthanc, uploadInstances } from '../../test/helpers/orthanc.js';

const { values } = parseArgs({
  options: {
    bin: { type: 'string', default: 'bin/lowdose.js' },
    study: { type: 'string', multiple: true },
    method: { type: 'string', default: 'gaussian' },
    repeats: { type: 'string', default: '3' },
    dimse: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const bin = path.resolve(values.bin);
const folders = (values.study ?? ['../shared/ldct-mayo/L143/B30f/quarter', '../shared/ldct-mayo/L192/B30f/quarter']).map((s) => path.resolve(s));
const repeats = Number(values.repeats);
const CALLING_AET = 'LOWDOSE';


interface RunReport {
  series: Array<{ skipped?: boolean }>;
  studies: Array<{ skipped?: boolean; dicomweb?: { pulled: Array<{ retrieved: number }> }; dimse?: { pulled: Array<{ retrieved: number }> } }>;
}

if (!findOrthanc()) throw new Error('Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)');
const dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-pacs-rerun-'));
const orthanc = await startOrthanc(dir, { dicomModalities: { lowdose: { aet: CALLING_AET, host: '127.0.0.1', port: await freePort() } } });
const proxy = await startProxy(orthanc.http);
const rows: Array<{ skipByUid: boolean; repeat: number; ms: number; peakRssKib: number | null; retrieved: number; studiesNotPulled: number; seriesSkipped: number; retrieves: number; retrieveBytes: number; otherRequests: number; otherBytes: number }> = [];
try {
  const studies: string[] = [];
  for (const folder of folders) {
    const files = await readInstances(folder, '');
    studies.push((await uploadInstances(orthanc, files))[0]!['StudyInstanceUID']!);
  }
  const addresses = studies.map((uid) => (values.dimse ? `dimse://${ORTHANC_AET}@127.0.0.1:${orthanc.dicomPort}/${uid}` : `${proxy.base}/dicom-web/studies/${uid}`));
  const env = { ...process.env, TMPDIR: dir, LOWDOSE_DICOMWEB_AUTH: `basic:${orthanc.user}:${orthanc.password}` };
  const out = path.join(dir, 'out');
  const base = ['denoise', ...addresses, '-o', out, '--no-progress', '--json', ...(values.dimse ? ['--calling-aet', CALLING_AET] : []), ...(values.method === 'diffusion' ? [] : ['--method', values.method])];
  const first = await runTimed(bin, base, env);
  if (first.code !== 0) throw new Error(`the first run exited ${first.code}: ${first.stderr.slice(-2000)}`);
  console.log(`first run: ${(first.ms / 1000).toFixed(2)} s wall`);
  for (let repeat = 0; repeat < repeats; repeat++) {
    for (const skipByUid of repeat % 2 === 0 ? [false, true] : [true, false]) {
      proxy.served.length = 0;
      const args = [...base, ...(skipByUid ? ['--skip-by-uid'] : [])];
      const result = await runTimed(bin, args, env);
      if (result.code !== 0) throw new Error(`${args.join(' ')} exited ${result.code}: ${result.stderr.slice(-2000)}`);
      const report = JSON.parse(result.stdout) as RunReport;
      const retrieved = report.studies.flatMap((s) => (s.dicomweb ?? s.dimse)?.pulled ?? []).reduce((n, p) => n + p.retrieved, 0);
      const isRetrieve = (url: string) => /\/instances\/[^/?]+$/.test(url);
      const retrieves = proxy.served.filter((r) => r.method === 'GET' && isRetrieve(r.url));
      const others = proxy.served.filter((r) => !(r.method === 'GET' && isRetrieve(r.url)));
      const row = {
        skipByUid,
        repeat,
        ms: Math.round(result.ms),
        peakRssKib: result.peakRssKib,
        retrieved,
        studiesNotPulled: report.studies.filter((s) => s.skipped).length,
        seriesSkipped: report.series.filter((s) => s.skipped).length,
        retrieves: retrieves.length,
        retrieveBytes: retrieves.reduce((n, r) => n + r.bytes, 0),
        otherRequests: others.length,
        otherBytes: others.reduce((n, r) => n + r.bytes, 0),
      };
      rows.push(row);
      console.log(
        `rerun${skipByUid ? ' --skip-by-uid' : ''}: ${(row.ms / 1000).toFixed(2)} s wall${row.peakRssKib === null ? '' : `, peak RSS ${(row.peakRssKib / 1024).toFixed(0)} MiB`}, ${row.retrieved} instance(s) retrieved, ${row.studiesNotPulled} of ${report.studies.length} studies not pulled, ` +
          `${row.seriesSkipped} series skipped${values.dimse ? '' : `; HTTP: ${row.retrieves} WADO-RS retrieves (${row.retrieveBytes} bytes), ${row.otherRequests} other requests (${row.otherBytes} bytes)`}`,
      );
    }
  }
  if (values.json) console.log(JSON.stringify({ studies: folders, addresses: values.dimse ? 'dimse' : 'dicomweb', method: values.method, rows }, null, 2));
} finally {
  await proxy.close();
  await orthanc.stop();
  await rm(dir, { recursive: true, force: true });
}

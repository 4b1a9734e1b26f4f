/**
 * Wall time of `lowdose denoise` over a cohort of PACS studies, on a local Orthanc (Debian's
 * `orthanc` + `orthanc-dicomweb`, started as the PACS tests start it): the studies are uploaded
 * once, then each built CLI given with --bin denoises them all in one run (their DICOMweb study
 * URLs, or `dimse://` with --dimse) into a fresh -o, --repeats times per method, alternating the
 * CLIs so that a machine that slows down does not favour one. Prints one line per run and, with
 * --json, every time.
 *
 *   npx tsx scripts/bench/pacs-cohort.ts --bin bin/lowdose.js [--bin /tmp/old/bin/lowdose.js]
 *     [--study ../shared/ldct-mayo/L143/B30f/quarter --study ../shared/ldct-mayo/L192/B30f/quarter]
 *     [--method gaussian --method diffusion] [--repeats 2] [--dimse] [--retrieve-delay-ms 0] [--json]
 *
 * `--method diffusion` runs the default (the shipped model at its defaults, no --method given).
 * `--retrieve-delay-ms <ms>` (DICOMweb only) puts test/helpers/http-proxy.ts in front of Orthanc and
 * holds each WADO-RS instance retrieve that long before forwarding it, as a PACS farther away than
 * loopback would take (four retrieves are in flight at a time).
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runTimed } from './timed-cli.js';
import { startProxy } from '../../test/helpers/http-proxy.js';
import { findOrthanc, freePort, ORTHANC_AET, startOrthanc, uploadInstances } from '../../test/helpers/orthanc.js';

const { values } = parseArgs({
  options: {
    bin: { type: 'string', multiple: true },
    study: { type: 'string', multiple: true },
    method: { type: 'string', multiple: true },
    repeats: { type: 'string', default: '2' },
    dimse: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    'retrieve-delay-ms': { type: 'string', default: '0' },
  },
});
const bins = (values.bin ?? ['bin/lowdose.js']).map((b) => path.resolve(b));
const folders = (values.study ?? ['../shared/ldct-mayo/L143/B30f/quarter', '../shared/ldct-mayo/L192/B30f/quarter']).map((s) => path.resolve(s));
const methods = values.method ?? ['gaussian', 'diffusion'];
const repeats = Number(values.repeats);
const CALLING_AET = 'LOWDOSE';


if (!findOrthanc()) throw new Error('Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)');
const dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-pacs-cohort-'));
const orthanc = await startOrthanc(dir, { dicomModalities: { lowdose: { aet: CALLING_AET, host: '127.0.0.1', port: await freePort() } } });
const delayMs = Number(values['retrieve-delay-ms']);
const proxy = delayMs > 0 ? await startProxy(orthanc.http) : null;
if (proxy) proxy.hold = (method, url) => (method === 'GET' && /\/instances\/[^/?]+$/.test(url) ? new Promise((resolve) => setTimeout(resolve, delayMs)) : undefined);
const dicomweb = proxy ? `${proxy.base}/dicom-web` : orthanc.dicomweb;
const times: Array<{ bin: string; method: string; repeat: number; ms: number; slices: number }> = [];
try {
  const studies: string[] = [];
  for (const folder of folders) {
    const files = await Promise.all(readdirSync(folder).sort().map(async (f) => new Uint8Array(await readFile(path.join(folder, f)))));
    studies.push((await uploadInstances(orthanc, files))[0]!['StudyInstanceUID']!);
  }
  const addresses = studies.map((uid) => (values.dimse ? `dimse://${ORTHANC_AET}@127.0.0.1:${orthanc.dicomPort}/${uid}` : `${dicomweb}/studies/${uid}`));
  const env = { ...process.env, TMPDIR: dir, LOWDOSE_DICOMWEB_AUTH: `basic:${orthanc.user}:${orthanc.password}` };
  for (const method of methods) {
    for (let repeat = 0; repeat < repeats; repeat++) {
      for (const bin of repeat % 2 === 0 ? bins : [...bins].reverse()) {
        const out = path.join(dir, `out-${times.length}`);
        const args = ['denoise', ...addresses, '-o', out, '--no-progress', '--json', ...(values.dimse ? ['--calling-aet', CALLING_AET] : []), ...(method === 'diffusion' ? [] : ['--method', method])];
        const result = await runTimed(bin, args, env);
        if (result.code !== 0) throw new Error(`${bin} ${args.join(' ')} exited ${result.code}: ${result.stderr.slice(-2000)}`);
        const report = JSON.parse(result.stdout) as { series: Array<{ output: { files: string[] } }>; studies: unknown[] };
        const slices = report.series.reduce((n, s) => n + s.output.files.length, 0);
        times.push({ bin, method, repeat, ms: Math.round(result.ms), slices });
        console.log(`${method} ${bin}: ${(result.ms / 1000).toFixed(2)} s wall, ${report.studies.length} studies, ${slices} slices`);
        await rm(out, { recursive: true, force: true });
      }
    }
  }
  if (values.json) console.log(JSON.stringify({ studies: folders, addresses: values.dimse ? 'dimse' : 'dicomweb', retrieveDelayMs: delayMs, times }, null, 2));
} finally {
  await proxy?.close();
  await orthanc.stop();
  await rm(dir, { recursive: true, force: true });
}

/**
 * End to end speed of `denoise` on a real series: how close the whole run (DICOM read, padding,
 * the engine, the network, DICOM write) comes to the network's own time.
 *
 *   npx tsx scripts/bench/denoise-series.ts [--volume ../shared/ct/lidc-0314-chest.nii.gz]
 *     [--series-dir <dir>] [--out <dir>] [--batch 1] [--threads n] [--repeats 3] [--json]
 *
 * The series is a real CT volume from ../shared/ct (default LIDC-IDRI-0314, 140 slices of
 * 512 x 512, Philips Brilliance 16P chest) written once as a DICOM series by the toolkit's own
 * writer (src/dicom/write-volume.ts) into --series-dir (default: a folder under the system's
 * temporary directory, kept for the next run). Each repeat denoises it into --out with
 * `--overwrite`, the shipped CT model at its defaults, and reports the series report's msPerSlice
 * (from the first slice read to the last slice written) over its modelMsPerSlice, the main
 * thread's CPU time per slice and the part of it outside the network's forward passes (Linux; the
 * whole call: scan, model loading, reading, the engine, writing), and a SHA-256 of the denoised pixel values read back from
 * the written files, which must not change between runs or engine versions for the same seed.
 * With the network on a worker thread (as `denoise` runs it) the main thread spends no CPU inside
 * forward passes, and the worker's CPU outside them (copying tensors) is added to the outside part.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { OnnxSession, type ForwardSession } from '../../src/runtime/session.js';
import { WorkerSession } from '../../src/runtime/worker-session.js';
import { threadCpuMs } from '../../src/util/thread-cpu.js';
import { readNiftiVolume } from '../train/nifti-volume.js';

const { values: args } = parseArgs({
  options: {
    volume: { type: 'string', default: path.resolve(import.meta.dirname, '../../../shared/ct/lidc-0314-chest.nii.gz') },
    'series-dir': { type: 'string' },
    out: { type: 'string' },
    batch: { type: 'string', default: '1' },
    threads: { type: 'string' },
    repeats: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});

const volumePath = path.resolve(args.volume);
const name = path.basename(volumePath).replace(/\.nii(\.gz)?$/, '');
const seriesDir = path.resolve(args['series-dir'] ?? path.join(os.tmpdir(), `lowdose-series-${name}`));
const outDir = path.resolve(args.out ?? path.join(os.tmpdir(), `lowdose-series-${name}-denoised`));
const log = (message: string) => {
  if (!args.json) console.error(message);
};

if (!existsSync(seriesDir) || readdirSync(seriesDir).length === 0) {
  log(`writing ${volumePath} as a DICOM series into ${seriesDir}`);
  const { volume } = readNiftiVolume(volumePath);
  await writeVolumeSeries(volume, seriesDir, { uidSeed: `bench-${name}`, seriesDescription: `${name} (bench)` });
}

// Every session the runs open, to subtract the main thread's CPU time inside forward passes from its
// total (a session on a worker thread: none) and add the worker's CPU outside them (its copies).
const sessions: ForwardSession[] = [];
const createSession = OnnxSession.create.bind(OnnxSession);
OnnxSession.create = async (...args: Parameters<typeof OnnxSession.create>) => {
  const session = await createSession(...args);
  sessions.push(session);
  return session;
};
const createWorkerSession = WorkerSession.create.bind(WorkerSession);
WorkerSession.create = async (...args: Parameters<typeof WorkerSession.create>) => {
  const session = await createWorkerSession(...args);
  sessions.push(session);
  return session;
};
const forwardCpuMs = () => sessions.reduce((sum, s) => sum + (s.stats.forwardCpuMs ?? NaN) - (s.stats.workerCpuMs ?? 0), 0);

const runs: Array<{
  msPerSlice: number;
  modelMsPerSlice: number;
  ratio: number;
  cpuMsPerSlice: number | null;
  outsideNetworkCpuMsPerSlice: number | null;
  wallMs: number;
}> = [];
let slices = 0;
let hash = '';
for (let r = 0; r < Number(args.repeats); r++) {
  const cpu = threadCpuMs();
  const forwardCpu = forwardCpuMs();
  const started = performance.now();
  const report = await denoisePaths([seriesDir], {
    outDir,
    overwrite: true,
    batch: Number(args.batch),
    ...(args.threads ? { threads: Number(args.threads) } : {}),
  });
  const wallMs = performance.now() - started;
  const cpuEnded = threadCpuMs();
  const series = report.series[0];
  if (!series || report.errors.length > 0) throw new Error(`denoise failed: ${JSON.stringify(report.errors)}`);
  slices = series.input.files.length;
  const modelMs = series.modelMsPerSlice ?? NaN;
  runs.push({
    msPerSlice: series.msPerSlice,
    modelMsPerSlice: modelMs,
    ratio: series.msPerSlice / modelMs,
    cpuMsPerSlice: cpu !== null && cpuEnded !== null ? (cpuEnded - cpu) / slices : null,
    outsideNetworkCpuMsPerSlice: cpu !== null && cpuEnded !== null ? (cpuEnded - cpu - (forwardCpuMs() - forwardCpu)) / slices : null,
    wallMs,
  });
  log(`run ${r + 1}: ${series.msPerSlice} ms/slice, network ${modelMs} ms/slice, ratio ${(series.msPerSlice / modelMs).toFixed(3)}, load ${os.loadavg()[0]!.toFixed(2)}`);
  if (r === 0) hash = await outputHash(series.output.dir);
}

/** SHA-256 of the denoised series' values as read back from its files, in slice order. */
async function outputHash(dir: string): Promise<string> {
  const scan = await scanPaths([dir]);
  const digest = createHash('sha256');
  for (const series of scan.series) {
    for (let i = 0; i < series.slices.length; i++) {
      const image = await readSliceImage(series, i);
      digest.update(new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength));
    }
  }
  return digest.digest('hex');
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
const result = {
  volume: volumePath,
  slices,
  batch: Number(args.batch),
  loadAverage: os.loadavg().map((v) => Math.round(v * 100) / 100),
  msPerSlice: median(runs.map((r) => r.msPerSlice)),
  modelMsPerSlice: median(runs.map((r) => r.modelMsPerSlice)),
  ratio: median(runs.map((r) => r.ratio)),
  cpuMsPerSlice: runs.every((r) => r.cpuMsPerSlice !== null) ? median(runs.map((r) => r.cpuMsPerSlice!)) : null,
  outsideNetworkCpuMsPerSlice: runs.every((r) => r.outsideNetworkCpuMsPerSlice !== null) ? median(runs.map((r) => r.outsideNetworkCpuMsPerSlice!)) : null,
  outputSha256: hash,
  runs,
};
if (args.json) console.log(JSON.stringify(result, null, 2));
else {
  console.log(
    `${name}: ${slices} slices, batch ${result.batch}: ${result.msPerSlice} ms/slice end to end, network ${result.modelMsPerSlice} ms/slice, ` +
      `ratio ${result.ratio.toFixed(3)} (median of ${runs.length}); main-thread CPU ${result.cpuMsPerSlice?.toFixed(1) ?? 'n/a'} ms/slice, ` +
      `${result.outsideNetworkCpuMsPerSlice?.toFixed(1) ?? 'n/a'} of it outside the network; ` +
      `output sha256 ${hash.slice(0, 16)}; load ${result.loadAverage.join(' ')}`,
  );
}

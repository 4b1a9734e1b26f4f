/**
 * Speed of the low-dose simulators on this machine.
 *
 *   npx tsx scripts/bench/simulate.ts [--slices N] [--workers N] [--json]
 *
 * 1. One 512 x 512 real abdomen CT slice (../shared/ct/crlm-1004-abdomen, 0.8 mm pixels), single
 *    thread: noise insertion and truth-mode simulation (projection + noise + FBP), median of 3 runs
 *    after a warm-up; projection and FBP timed on their own too.
 * 2. N slices of that volume through `simulateVolume` with 1 worker and with --workers workers
 *    (default: cores), checking that both give identical bytes.
 * 3. One 128 x 128 IEC PET slice (OSEM 3 x 12, low + full counts).
 * 4. Noise texture of the kernel presets on the 20 cm water phantom (512 x 512, 250 mm field):
 *    full-dose noise std at the default i0 and the radial NPS peak / mean frequency.
 * 5. Noise insertion into real scans (../shared/ct, middle slice, put back on its original grid so
 *    the image centre is the isocentre): i0 estimated from the slice, then the no-reference noise
 *    estimate after insertion at 50 / 25 / 10 % against sigma / sqrt(d). Skip with --no-real.
 */
import { existsSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sliceOf, type Volume } from '../../src/image.js';
import { generateIec, iecAttenuation } from '../../src/phantoms/iec.js';
import { noisePowerSpectrum, tileRois } from '../../src/metrics/nps.js';
import { generateWater } from '../../src/phantoms/water.js';
import { estimateNoise, SOFT_TISSUE_HU } from '../../src/metrics/noise-estimate.js';
import {
  KERNEL_PRESETS,
  ctInsertionNoise,
  estimateCtI0,
  huToMu,
  insertCtNoise,
  projectFanBeam,
  reconstructFanBeam,
  resolveFanBeam,
  resolveKernel,
  simulateCtFromTruth,
  simulatePet,
  simulateVolume,
} from '../../src/simulate/index.js';
import { readNiftiVolume } from '../train/nifti-volume.js';
import { scalarText } from '../../src/util/text.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const json = args.includes('--json');
const sliceCount = option('--slices', 8);
const workers = option('--workers', availableParallelism());

const here = path.dirname(fileURLToPath(import.meta.url));
const abdomen = path.resolve(here, '../../../shared/ct/crlm-1004-abdomen.nii.gz');

function loadCt(): { volume: Volume; source: string } {
  if (existsSync(abdomen)) {
    const { volume } = readNiftiVolume(abdomen);
    // Pad the cropped 512 x 403 slices back to 512 x 512 (air) so the benchmark is a full slice.
    const size = Math.max(volume.rows, volume.columns);
    const top = Math.floor((size - volume.rows) / 2);
    const left = Math.floor((size - volume.columns) / 2);
    const slices = volume.slices.map((s) => {
      const out = new Float32Array(size * size).fill(-1024);
      for (let r = 0; r < volume.rows; r++) out.set(s.subarray(r * volume.columns, (r + 1) * volume.columns), (r + top) * size + left);
      return out;
    });
    return { volume: { ...volume, rows: size, columns: size, slices }, source: 'crlm-1004-abdomen (real CT, padded to 512x512)' };
  }
  return { volume: generateWater({ size: 512, slices: sliceCount, fov: 400 }).volume, source: 'water phantom 512x512 (shared CT not found)' };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Median wall time of `runs` calls after a warm-up, and the median CPU time of this thread (user +
 * system): on a shared machine the CPU time is the better measure of the code itself.
 */
function time(fn: () => void, runs = 3): number {
  fn();
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
    const used = process.cpuUsage(c);
    cpu.push((used.user + used.system) / 1000);
  }
  cpuTimes.push(median(cpu));
  return median(times);
}
const cpuTimes: number[] = [];

const { volume, source } = loadCt();
const mid = Math.floor(volume.slices.length / 2);
const slice = sliceOf(volume, mid);
const grid = { rows: slice.rows, columns: slice.columns, dy: slice.pixelSpacing[0], dx: slice.pixelSpacing[1] };
const geometry = resolveFanBeam();
const mu = huToMu(slice.data);
const sinogram = projectFanBeam(grid, mu, geometry);

const results = {
  machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, node ${process.version}`,
  ctSource: source,
  ctSize: [slice.rows, slice.columns],
  geometry: `${geometry.views} views x ${geometry.channels} channels`,
  msProjection: time(() => projectFanBeam(grid, mu, geometry)),
  msFbp: time(() => reconstructFanBeam(sinogram, geometry, grid, resolveKernel('standard'))),
  msInsertSlice: time(() => insertCtNoise(slice, { dose: 0.25, seed: 1 })),
  msTruthSlice: time(() => simulateCtFromTruth(slice, { dose: 0.25, seed: 1, fullDose: false })),
  msTruthPairSlice: time(() => simulateCtFromTruth(slice, { dose: 0.25, seed: 1 })),
  cpuMs: {} as Record<string, number>,
  volume: {} as Record<string, unknown>,
  pet: {} as Record<string, unknown>,
};

results.cpuMs = {
  projection: cpuTimes[0]!,
  fbp: cpuTimes[1]!,
  insertSlice: cpuTimes[2]!,
  truthSlice: cpuTimes[3]!,
  truthPairSlice: cpuTimes[4]!,
};

const sub: Volume = { ...volume, slices: volume.slices.slice(mid - Math.floor(sliceCount / 2), mid - Math.floor(sliceCount / 2) + sliceCount) };
const job = { kind: 'ct-insert' as const, options: { dose: 0.25, seed: 7 } };
let t = performance.now();
const single = await simulateVolume(sub, job, { workers: 1 });
const msSingle = performance.now() - t;
t = performance.now();
const pooled = await simulateVolume(sub, job, { workers });
const msPooled = performance.now() - t;
const identical = single.lowDose.slices.every((s, k) => Buffer.from(s.buffer).equals(Buffer.from(pooled.lowDose.slices[k]!.buffer)));
results.volume = {
  slices: sub.slices.length,
  workers,
  msPerSliceSingleThread: msSingle / sub.slices.length,
  msPerSliceWorkers: msPooled / sub.slices.length,
  speedup: msSingle / msPooled,
  identicalToSingleThread: identical,
};

const iecOptions = { size: 128, slices: 1, spacing: 3 };
const iec = sliceOf(generateIec(iecOptions).volume, 0);
const iecMu = iecAttenuation(iecOptions)[0]!;
results.pet = {
  size: [iec.rows, iec.columns],
  msSlice: time(() => simulatePet(iec, { countsFraction: 0.25, seed: 1, muMapPerCm: iecMu })),
};

// Noise texture per kernel preset: one full-dose quantum noise realisation (the extra noise at
// dose 1/2 without electronic noise has exactly the full-dose quantum variance).
const water = sliceOf(generateWater({ size: 512, slices: 1, fov: 250 }).volume, 0);
const inside = new Uint8Array(512 * 512);
for (let i = 0; i < 512; i++) {
  for (let j = 0; j < 512; j++) {
    const x = (j - 255.5) * water.pixelSpacing[1];
    const y = (i - 255.5) * water.pixelSpacing[0];
    inside[i * 512 + j] = x * x + y * y < 85 * 85 ? 1 : 0;
  }
}
const textures: Record<string, { stdHu: number; npsPeak: number; npsMean: number }> = {};
for (const preset of Object.keys(KERNEL_PRESETS)) {
  const noise = ctInsertionNoise(water, { dose: 0.5, seed: 1, kernel: preset as keyof typeof KERNEL_PRESETS, electronicNoise: 0 });
  const nps = noisePowerSpectrum({ ...water, data: noise }, { roiSize: 64, rois: tileRois(512, 512, 64, { mask: inside }), detrend: 'mean' });
  textures[preset] = { stdHu: Math.sqrt(nps.variance), npsPeak: nps.peakFrequency, npsMean: nps.meanFrequency };
}
(results as Record<string, unknown>).kernelTexture = textures;

// Insertion into real scans with the calibrated i0.
const realRows: Record<string, unknown>[] = [];
if (!args.includes('--no-real')) {
  for (const name of ['crlm-1004-abdomen', 'lidc-0001-chest', 'lidc-0314-chest']) {
    const file = path.resolve(here, `../../../shared/ct/${name}.nii.gz`);
    if (!existsSync(file)) continue;
    const { volume: v, sidecar } = readNiftiVolume(file);
    const offset = (sidecar['crop_offset_xyz'] as number[] | undefined) ?? [0, 0, 0];
    const shape = (sidecar['cropped_from_shape_xyz'] as number[] | undefined) ?? [v.columns, v.rows, v.slices.length];
    const [columns, rows] = [shape[0]!, shape[1]!];
    const data = new Float32Array(rows * columns).fill(-1024);
    const src = v.slices[Math.floor(v.slices.length / 2)]!;
    for (let r = 0; r < v.rows; r++) data.set(src.subarray(r * v.columns, (r + 1) * v.columns), (r + offset[1]!) * columns + offset[0]!);
    const image = { rows, columns, data, pixelSpacing: [v.spacing[0], v.spacing[1]] as [number, number] };
    const noiseOf = (d: Float32Array) => estimateNoise({ ...image, data: d }, { valueRange: SOFT_TISSUE_HU }).std;
    const calibration = estimateCtI0(image, { seed: 1 });
    const row: Record<string, unknown> = {
      scan: name,
      kernel: sidecar['ConvolutionKernel'],
      sliceThicknessMm: sidecar['SliceThickness'],
      imageNoiseHu: calibration.imageNoise,
      i0: calibration.i0,
    };
    for (const dose of [0.5, 0.25, 0.1]) {
      row[`noiseAt${dose * 100}`] = noiseOf(insertCtNoise(image, { dose, seed: 2, i0: calibration.i0 }).data);
    }
    row['uncalibratedNoiseAt25'] = noiseOf(insertCtNoise(image, { dose: 0.25, seed: 2 }).data);
    realRows.push(row);
  }
}
(results as Record<string, unknown>).realInsertion = realRows;

if (json) {
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
} else {
  const r = results;
  console.log(r.machine);
  console.log(`CT ${r.ctSize.join('x')} (${r.ctSource}), ${r.geometry}, single thread:`);
  console.log(`  projection ${r.msProjection.toFixed(0)} ms, FBP ${r.msFbp.toFixed(0)} ms`);
  console.log(`  noise insertion ${r.msInsertSlice.toFixed(0)} ms/slice, truth mode ${r.msTruthSlice.toFixed(0)} ms/slice, truth low+full pair ${r.msTruthPairSlice.toFixed(0)} ms/slice`);
  const c = r.cpuMs;
  console.log(`  (CPU time of this thread: projection ${c.projection!.toFixed(0)}, FBP ${c.fbp!.toFixed(0)}, insertion ${c.insertSlice!.toFixed(0)}, truth ${c.truthSlice!.toFixed(0)}, pair ${c.truthPairSlice!.toFixed(0)} ms)`);
  const v = r.volume as { slices: number; workers: number; msPerSliceSingleThread: number; msPerSliceWorkers: number; speedup: number; identicalToSingleThread: boolean };
  console.log(`volume of ${v.slices} slices (insertion): 1 thread ${v.msPerSliceSingleThread.toFixed(0)} ms/slice, ${v.workers} workers ${v.msPerSliceWorkers.toFixed(0)} ms/slice (x${v.speedup.toFixed(2)}), identical: ${v.identicalToSingleThread}`);
  console.log(`PET ${(r.pet.size as number[]).join('x')} IEC slice (OSEM 3x12, low + full): ${(r.pet.msSlice as number).toFixed(0)} ms`);
  console.log('kernel texture, 20 cm water, 512 x 512 of 0.49 mm, full dose at the default i0:');
  for (const [name, t] of Object.entries(textures)) {
    console.log(`  ${name.padEnd(8)} noise ${t.stdHu.toFixed(1)} HU, NPS peak ${t.npsPeak.toFixed(2)} / mean ${t.npsMean.toFixed(2)} cycles/mm`);
  }
  if (realRows.length > 0) console.log('noise insertion into real scans (no-reference noise estimate, HU):');
  for (const row of realRows) {
    const f = (k: string) => (row[k] as number).toFixed(1);
    console.log(
      `  ${scalarText(row.scan)} (${scalarText(row.kernel)}, ${scalarText(row.sliceThicknessMm)} mm): own ${f('imageNoiseHu')}, i0 ${(row.i0 as number).toExponential(1)}; ` +
        `50% ${f('noiseAt50')}, 25% ${f('noiseAt25')} (sigma/sqrt(d) ${((row.imageNoiseHu as number) * 2).toFixed(1)}), 10% ${f('noiseAt10')}; ` +
        `25% with i0 1e5: ${f('uncalibratedNoiseAt25')}`,
    );
  }
}

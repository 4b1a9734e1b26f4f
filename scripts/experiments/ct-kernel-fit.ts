/**
 * Fits the simulated FBP's kernel to the noise texture of a real scanner kernel (docs/simulation.md,
 * "Fitting the kernels"): the radial NPS of real added noise (quarter minus full dose,
 * ../shared/ldct-mayo, pooled over all slices of a patient and kernel) against that of simulated
 * 25 % dose insertion noise reconstructed with each candidate window and cutoff, on two slices per
 * patient (one noise sinogram each, drawn on the rebinned rays as the simulator does, i0 1e6,
 * reconstructed with every candidate). Both curves are normalised to unit sum, so only the shape
 * counts; candidates are ranked by the squared distance. The presets were fitted on L143 alone;
 * L192 is the held-out patient (add it with --patients to see how the choice carries over).
 *
 *   npx tsx scripts/experiments/ct-kernel-fit.ts [B30f|D45f] [--patients L143,L192]
 *     [--candidates '[["butterworth",0.5,8], ...]'] [--curves]
 *
 * Without --candidates: Hann and Hamming at cutoffs 0.30 to 0.70 in steps of 0.025, and Butterworth
 * of order 4, 6 and 8 at cutoffs 0.25 to 0.60 in steps of 0.025. Prints the best eight per
 * patient, with NPS peak (smoothed) and mean frequency (bins of 0.02 cycles/mm).
 */
import path from 'node:path';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import { addedNoise } from '../../src/metrics/added-noise.js';
import { smoothedRadialPeak } from '../../src/metrics/nps.js';
import {
  bowtieTransmission,
  huToMu,
  MU_WATER_CT_PER_MM,
  projectFanBeam,
  resolveFanBeam,
  type ReconKernel,
} from '../../src/simulate/index.js';
import { extraNoiseSinogram, incidentPhotons } from '../../src/simulate/ct-noise.js';
import { rebinToParallel, reconstructParallel, type ParallelSinogram } from '../../src/simulate/fbp.js';
import { Rng } from '../../src/util/random.js';
import { ROOT } from './figures.js';

const args = process.argv.slice(2);
const only = args.find((a) => a === 'B30f' || a === 'D45f');
const curves = args.includes('--curves');
const candidateArg = args.indexOf('--candidates');
const patientsArg = args.indexOf('--patients');
const patients = patientsArg >= 0 ? args[patientsArg + 1]!.split(',') : ['L143'];
const MAYO = path.resolve(ROOT, '../shared/ldct-mayo');
const geometry = resolveFanBeam();
const BIN = 0.02;
const BINS = 36;
/** Slices whose noise is simulated, per kernel (two with many flat soft-tissue ROIs). */
const FIT_SLICES: Record<string, number[]> = { B30f: [1, 3], D45f: [0, 1] };

function candidates(): ReconKernel[] {
  if (candidateArg >= 0) {
    const list = JSON.parse(args[candidateArg + 1]!) as Array<[ReconKernel['window'], number, number?]>;
    return list.map(([window, cutoff, order]) => ({ window, cutoff, ...(order ? { order } : {}) }));
  }
  const out: ReconKernel[] = [];
  for (const window of ['hann', 'hamming'] as const) {
    for (let c = 0.3; c <= 0.7001; c += 0.025) out.push({ window, cutoff: Math.round(c * 1000) / 1000 });
  }
  for (const order of [4, 6, 8]) for (let c = 0.25; c <= 0.6001; c += 0.025) out.push({ window: 'butterworth', cutoff: Math.round(c * 1000) / 1000, order });
  return out;
}

/** Radial NPS on fixed 0.02 cycles/mm bins (so slices of one patient can be summed), times ROI count. */
function radial(a: ReturnType<typeof addedNoise>): number[] {
  const { nps2d, frequencyRows: fy, frequencyColumns: fx } = a.nps;
  const total = new Float64Array(BINS);
  const count = new Float64Array(BINS);
  const nyquist = Math.min(-fy[0]!, -fx[0]!);
  for (let r = 0; r < fy.length; r++) {
    for (let c = 0; c < fx.length; c++) {
      const f = Math.hypot(fy[r]!, fx[c]!);
      const b = Math.round(f / BIN);
      if (b >= BINS || f > nyquist) continue;
      total[b]! += nps2d[r * fx.length + c]!;
      count[b]!++;
    }
  }
  return Array.from(total, (v, b) => (count[b] ? (v / count[b]) * a.rois.length : NaN));
}

const sumCurves = (list: number[][]) => list[0]!.map((_, i) => list.reduce((acc, c) => acc + c[i]!, 0));
function normalise(curve: number[]): number[] {
  const s = curve.reduce((a, v) => a + (Number.isNaN(v) ? 0 : v), 0);
  return curve.map((v) => v / s);
}
function describe(curve: number[]): { peak: number; mean: number } {
  let s = 0;
  let sw = 0;
  curve.forEach((v, b) => {
    if (Number.isNaN(v)) return;
    s += v;
    sw += v * b * BIN;
  });
  const peak = smoothedRadialPeak(Float64Array.from(curve, (_, b) => b * BIN), Float64Array.from(curve));
  return { peak, mean: sw / s };
}
const label = (k: ReconKernel) => `${k.window}${k.order ? ` order ${k.order}` : ''} cutoff ${k.cutoff.toFixed(2)}`;

for (const patient of patients) {
  for (const kernel of ['B30f', 'D45f']) {
    if (only && only !== kernel) continue;
    const full = (await scanPaths([path.join(MAYO, patient, kernel, 'full')])).series[0]!;
    const quarter = (await scanPaths([path.join(MAYO, patient, kernel, 'quarter')])).series[0]!;
    const realCurves: number[][] = [];
    const noisy: Array<{ image: Awaited<ReturnType<typeof readSliceImage>>; sinogram: ParallelSinogram }> = [];
    for (let k = 0; k < full.slices.length; k++) {
      const f = await readSliceImage(full, k);
      realCurves.push(radial(addedNoise(await readSliceImage(quarter, k), f)));
      if (!FIT_SLICES[kernel]!.includes(k)) continue;
      const grid = { rows: f.rows, columns: f.columns, dy: f.pixelSpacing[0], dx: f.pixelSpacing[1] };
      const p = projectFanBeam(grid, huToMu(f.data.map((v) => Math.max(v, -1000))), geometry);
      const model = { i0: 1e6, electronicNoise: 0, minCounts: 1, bowtie: bowtieTransmission(geometry, 'body') };
      const rays = rebinToParallel(p, geometry, grid);
      const incident = rebinToParallel(incidentPhotons(model, geometry.views, geometry.channels), geometry, grid).data;
      noisy.push({ image: f, sinogram: { ...rays, data: extraNoiseSinogram(rays.data, incident, 0.25, model, new Rng(1, k, 2)) } });
    }
    const real = normalise(sumCurves(realCurves));
    const r = describe(real);
    console.log(`${patient} ${kernel} real: NPS peak ${r.peak.toFixed(3)}, mean ${r.mean.toFixed(3)} cycles/mm`);
    const ranked: Array<{ error: number; line: string }> = [];
    for (const candidate of candidates()) {
      const simulated = normalise(
        sumCurves(
          noisy.map(({ image, sinogram }) => {
            const grid = { rows: image.rows, columns: image.columns, dy: image.pixelSpacing[0], dx: image.pixelSpacing[1] };
            const mu = reconstructParallel({ ...sinogram, data: sinogram.data.slice() }, geometry, grid, candidate);
            const toHu = 1000 / MU_WATER_CT_PER_MM;
            return radial(addedNoise({ ...image, data: image.data.map((v, i) => v + mu[i]! * toHu) }, image));
          }),
        ),
      );
      let error = 0;
      real.forEach((v, i) => {
        if (!Number.isNaN(v) && !Number.isNaN(simulated[i]!)) error += (v - simulated[i]!) ** 2;
      });
      const s = describe(simulated);
      ranked.push({ error, line: `${label(candidate)}: distance ${(error * 1e4).toFixed(2)}e-4, NPS peak ${s.peak.toFixed(3)}, mean ${s.mean.toFixed(3)}` });
      if (curves) console.log(`    ${label(candidate)}: ${simulated.map((v) => (v * 100).toFixed(1)).join(' ')}`);
    }
    ranked.sort((a, b) => a.error - b.error);
    for (const c of ranked.slice(0, 8)) console.log(`  ${c.line}`);
    if (curves) console.log(`    real: ${real.map((v) => (v * 100).toFixed(1)).join(' ')}`);
  }
}

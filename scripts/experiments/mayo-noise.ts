/**
 * The CT simulator's 25 % dose noise against real quarter-dose noise (docs/simulation.md,
 * "Calibration against real quarter-dose scans").
 *
 *   npx tsx scripts/experiments/mayo-noise.ts [--workers N] [--no-figures] [--electronic-noise S]
 *
 * For each patient and kernel of ../shared/ldct-mayo (Siemens SOMATOM Definition AS+, 3 mm):
 *  - real added noise: quarter minus full dose of the same slice;
 *  - simulated added noise: `lowdose simulate --dose 0.25` (runSimulate, seed 0, the defaults:
 *    --mode insert, --kernel auto from ConvolutionKernel, --i0 auto) minus the same full-dose slice;
 *  - "before": the same with --kernel standard, the default until the kernel presets were fitted.
 * Each is measured over square 64-pixel ROIs of flat soft tissue of the full-dose slice
 * (src/metrics/added-noise.ts): SD, radial NPS peak (smoothed) and mean frequency, SD of ROIs within
 * 60 mm of the image centre and beyond 110 mm. Per patient and kernel the NPS of all slices is
 * pooled (weighted by ROI count). Also the full-dose noise that --i0 auto estimated against the
 * real one (real added SD / sqrt 3: quarter dose has 4x the variance of full dose).
 *
 * Writes docs/experiments/mayo-noise.json and mayo-nps-<patient>-<kernel>.png. With
 * --electronic-noise S (photons, default the simulator's 5) it only prints, writing nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readSliceImage, scanPaths, type Series } from '../../src/dicom/index.js';
import type { Image2D } from '../../src/image.js';
import { addedNoise, smoothedPeak, type AddedNoise } from '../../src/metrics/added-noise.js';
import { estimateNoise, SOFT_TISSUE_HU } from '../../src/metrics/noise-estimate.js';
import { runSimulate } from '../../src/pipeline/simulate.js';
import { PALETTE, ROOT, linePlot, saveFigure, saveJson, type Series as PlotSeries } from './figures.js';

const args = process.argv.slice(2);
const workersArg = args.indexOf('--workers');
const workers = workersArg >= 0 ? Number(args[workersArg + 1]) : 1;
const electronicArg = args.indexOf('--electronic-noise');
const electronicNoise = electronicArg >= 0 ? Number(args[electronicArg + 1]) : undefined;
const write = electronicNoise === undefined;
const figures = write && !args.includes('--no-figures');
const MAYO = path.resolve(ROOT, '../shared/ldct-mayo');
const GROUPS = [
  ['L143', 'B30f'],
  ['L143', 'D45f'],
  ['L192', 'B30f'],
  ['L192', 'D45f'],
] as const;

interface Measured {
  std: number;
  centreStd: number;
  peripheryStd: number;
  peakFrequency: number;
  meanFrequency: number;
  rois: number;
}

const round = (v: number, digits: number) => (Number.isFinite(v) ? Math.round(v * 10 ** digits) / 10 ** digits : null);
function summarise(a: AddedNoise): Measured {
  return { std: a.std, centreStd: a.centreStd, peripheryStd: a.peripheryStd, peakFrequency: a.peakFrequency, meanFrequency: a.meanFrequency, rois: a.rois.length };
}
function rounded(m: Measured) {
  return {
    std: round(m.std, 1),
    centreStd: round(m.centreStd, 1),
    peripheryStd: round(m.peripheryStd, 1),
    peakFrequency: round(m.peakFrequency, 3),
    meanFrequency: round(m.meanFrequency, 3),
    rois: m.rois,
  };
}

/** ROI-count-weighted pool of several slices' added noise (all on one pixel grid). */
function pool(list: readonly AddedNoise[]) {
  const first = list[0]!.nps.radial;
  const frequency = first.frequency;
  const nps = new Float64Array(frequency.length);
  let rois = 0;
  let variance = 0;
  const centre: number[] = [];
  const periphery: number[] = [];
  for (const a of list) {
    const n = a.rois.length;
    rois += n;
    variance += n * a.std * a.std;
    a.nps.radial.nps.forEach((v, k) => (nps[k]! += n * v));
    for (const r of a.rois) (r.distanceMm <= 60 ? centre : r.distanceMm >= 110 ? periphery : []).push(r.std * r.std);
  }
  for (let k = 0; k < nps.length; k++) nps[k]! /= rois;
  let sum = 0;
  let weighted = 0;
  nps.forEach((v, k) => {
    if (Number.isNaN(v)) return;
    sum += v;
    weighted += v * frequency[k]!;
  });
  const rms = (v: number[]) => (v.length ? Math.sqrt(v.reduce((a, b) => a + b, 0) / v.length) : NaN);
  const measured: Measured = {
    std: Math.sqrt(variance / rois),
    centreStd: rms(centre),
    peripheryStd: rms(periphery),
    peakFrequency: smoothedPeak(frequency, nps),
    meanFrequency: weighted / sum,
    rois,
  };
  return { measured, frequency: Array.from(frequency), nps: Array.from(nps) };
}

async function images(series: Series): Promise<Image2D[]> {
  const out: Image2D[] = [];
  for (let k = 0; k < series.slices.length; k++) out.push(await readSliceImage(series, k));
  return out;
}

async function simulate(dir: string, kernel: 'auto' | 'standard', scratch: string) {
  const outDir = path.join(scratch, kernel, path.relative(MAYO, dir).replace(/[\\/]/g, '_'));
  const { result } = await runSimulate([dir], { dose: 0.25, outDir, seed: 0, kernel, workers, ...(electronicNoise !== undefined ? { electronicNoise } : {}) });
  const s = result.series[0];
  if (!s) throw new Error(`simulate failed on ${dir}: ${JSON.stringify(result.errors)}`);
  const series = (await scanPaths([s.output.dir])).series[0]!;
  return { settings: s.settings, warnings: s.warnings, images: await images(series) };
}

const scratch = mkdtempSync(path.join(tmpdir(), 'lowdose-mayo-noise-'));
const report: Record<string, unknown>[] = [];
try {
  for (const [patient, kernel] of GROUPS) {
    const dir = (dose: string) => path.join(MAYO, patient, kernel, dose);
    const fullSeries = (await scanPaths([dir('full')])).series[0]!;
    const full = await images(fullSeries);
    const quarter = await images((await scanPaths([dir('quarter')])).series[0]!);
    const sim = await simulate(dir('full'), 'auto', scratch);
    const before = await simulate(dir('full'), 'standard', scratch);
    const real = full.map((f, k) => addedNoise(quarter[k]!, f));
    const calibrated = full.map((f, k) => addedNoise(sim.images[k]!, f));
    const old = full.map((f, k) => addedNoise(before.images[k]!, f));
    const slices = full.map((f, k) => ({
      slice: k,
      real: rounded(summarise(real[k]!)),
      simulated: rounded(summarise(calibrated[k]!)),
      before: rounded(summarise(old[k]!)),
      // Full-dose noise: the truth (real added / sqrt 3) and the no-reference estimate --i0 auto uses.
      fullDoseNoise: round(real[k]!.std / Math.sqrt(3), 1),
      fullDoseNoiseEstimate: round(estimateNoise(f, { valueRange: SOFT_TISSUE_HU }).std, 1),
    }));
    const pooled = { real: pool(real), simulated: pool(calibrated), before: pool(old) };
    const group = {
      patient,
      kernel,
      convolutionKernel: fullSeries.convolutionKernel,
      pixelMm: full[0]!.pixelSpacing[1],
      slices: full.length,
      settings: sim.settings,
      settingsBefore: before.settings,
      warnings: [...sim.warnings, ...before.warnings],
      real: rounded(pooled.real.measured),
      simulated: rounded(pooled.simulated.measured),
      before: rounded(pooled.before.measured),
      ratio: {
        std: round(pooled.simulated.measured.std / pooled.real.measured.std, 3),
        peakFrequency: round(pooled.simulated.measured.peakFrequency / pooled.real.measured.peakFrequency, 3),
        meanFrequency: round(pooled.simulated.measured.meanFrequency / pooled.real.measured.meanFrequency, 3),
      },
      perSlice: slices,
      radialNps: {
        frequency: pooled.real.frequency.map((v) => round(v, 4)),
        real: pooled.real.nps.map((v) => round(v, 2)),
        simulated: pooled.simulated.nps.map((v) => round(v, 2)),
        before: pooled.before.nps.map((v) => round(v, 2)),
      },
    };
    report.push(group);
    const r = group.real;
    const s = group.simulated;
    console.log(
      `${patient} ${kernel}: SD real ${r.std} sim ${s.std} (before ${group.before.std}); NPS peak ${r.peakFrequency} / ${s.peakFrequency} ` +
        `(before ${group.before.peakFrequency}); mean ${r.meanFrequency} / ${s.meanFrequency}; i0 ${String(sim.settings.i0)}; ` +
        `simulated / real SD ${group.ratio.std}`,
    );
    if (figures) {
      const points = (nps: number[]) => pooled.real.frequency.map((f, k) => [f, nps[k]!] as const).filter(([f, v]) => f > 0 && Number.isFinite(v));
      const series: PlotSeries[] = [
        { name: 'real: quarter - full', points: points(pooled.real.nps), color: PALETTE[0]! },
        { name: "simulated: lowdose simulate", points: points(pooled.simulated.nps), color: PALETTE[1]! },
        { name: 'before: standard kernel', points: points(pooled.before.nps), color: PALETTE[6]! },
      ];
      saveFigure(
        `mayo-nps-${patient}-${kernel}.png`,
        linePlot({
          title: `${patient} ${kernel} (${full.length} slices): added noise at 25 % dose, radial NPS`,
          xLabel: 'cycles/mm',
          yLabel: 'HU^2 mm^2',
          series,
        }),
      );
    }
  }
  if (write) saveJson('mayo-noise.json', {
    command: 'npx tsx scripts/experiments/mayo-noise.ts',
    dose: 0.25,
    seed: 0,
    roi: '64 x 64 pixels of flat soft tissue (full-dose local mean in -150..250 HU), stride 16',
    groups: report,
  });
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

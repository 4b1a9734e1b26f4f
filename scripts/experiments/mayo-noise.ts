/**
 * The CT simulator's quarter-dose noise against real quarter-dose noise (docs/simulation.md,
 * "Calibration against real quarter-dose scans").
 *
 *   npx tsx scripts/experiments/mayo-noise.ts [--workers N] [--no-figures] [--electronic-noise S] [--tcm T]
 *
 * For each patient and kernel of ../shared/ldct-mayo (Siemens SOMATOM Definition AS+, 3 mm):
 *  - real added noise: quarter minus full dose of the same slice;
 *  - simulated added noise: `lowdose simulate --dose 0.22` (runSimulate, seed 0, the defaults:
 *    --mode insert, --kernel auto from ConvolutionKernel, --i0 auto, bowtie, --tcm) minus the same
 *    full-dose slice. 0.22 is MAYO_QUARTER_DOSE, the simulator dose whose added noise equals that of
 *    the AAPM-Mayo "quarter dose" (fitted on L143; L192 is held out);
 *  - nominal: the same at --dose 0.25, to show what the photon calibration changes;
 *  - before: the simulator at commit 831bca6, from docs/experiments/mayo-noise-before.json.
 * Each is measured over square 64-pixel ROIs of flat soft tissue of the full-dose slice
 * (src/metrics/added-noise.ts): SD, radial NPS peak (smoothed) and mean frequency, SD of ROIs within
 * 60 mm of the image centre and beyond 110 mm, and the slope of log SD against the attenuation
 * behind each ROI (mayo-common.ts). Per patient and kernel the NPS of all slices is pooled
 * (weighted by ROI count). Also the real pairs' quarter / full noise variance ratio.
 *
 * Writes docs/experiments/mayo-noise.json and mayo-nps-<patient>-<kernel>.png. With
 * --electronic-noise or --tcm it only prints, writing nothing.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { scanPaths } from '../../src/dicom/index.js';
import { addedNoise, type AddedNoise } from '../../src/metrics/added-noise.js';
import { estimateNoise, SOFT_TISSUE_HU } from '../../src/metrics/noise-estimate.js';
import { smoothedRadialPeak } from '../../src/metrics/nps.js';
import { runSimulate } from '../../src/pipeline/simulate.js';
import { MAYO_QUARTER_DOSE } from '../../src/simulate/index.js';
import { PALETTE, ROOT, linePlot, saveFigure, saveJson, type Series as PlotSeries } from './figures.js';
import { GROUPS, MAYO, attenuationWeights, loadPairs, pool, round, rounded, seriesImages, varianceRatio, type Measured } from './mayo-common.js';

const args = process.argv.slice(2);
const numberArg = (name: string) => {
  const k = args.indexOf(name);
  return k >= 0 ? Number(args[k + 1]) : undefined;
};
const workers = numberArg('--workers') ?? 1;
const electronicNoise = numberArg('--electronic-noise');
const tcm = numberArg('--tcm');
const write = electronicNoise === undefined && tcm === undefined;
const figures = write && !args.includes('--no-figures');

interface BeforeGroup {
  patient: string;
  kernel: string;
  simulated: { std: number; peakFrequency: number; meanFrequency: number; centreStd: number | null; peripheryStd: number | null };
  radialNps: { frequency: number[]; simulated: (number | null)[] };
}
const before = JSON.parse(readFileSync(path.join(ROOT, 'docs/experiments/mayo-noise-before.json'), 'utf8')) as { groups: BeforeGroup[] };

async function simulate(dir: string, dose: number, scratch: string) {
  const outDir = path.join(scratch, String(dose), path.relative(MAYO, dir).replace(/[\\/]/g, '_'));
  const { result } = await runSimulate([dir], {
    dose,
    outDir,
    seed: 0,
    kernel: 'auto',
    workers,
    ...(electronicNoise !== undefined ? { electronicNoise } : {}),
    ...(tcm !== undefined ? { tcm } : {}),
  });
  const s = result.series[0];
  if (!s) throw new Error(`simulate failed on ${dir}: ${JSON.stringify(result.errors)}`);
  const series = (await scanPaths([s.output.dir])).series[0]!;
  return { settings: s.settings, warnings: s.warnings, images: await seriesImages(series) };
}

const ratio = (a: Measured, b: Measured) => ({
  std: round(a.std / b.std, 3),
  peakFrequency: round(a.peakFrequency / b.peakFrequency, 3),
  meanFrequency: round(a.meanFrequency / b.meanFrequency, 3),
  centreStd: round(a.centreStd / b.centreStd, 3),
  peripheryStd: round(a.peripheryStd / b.peripheryStd, 3),
});

const scratch = mkdtempSync(path.join(tmpdir(), 'lowdose-mayo-noise-'));
const report: Record<string, unknown>[] = [];
try {
  for (const [patient, kernel] of GROUPS) {
    const { dir, fullSeries, full, quarter } = await loadPairs(patient, kernel);
    const sim = await simulate(dir('full'), MAYO_QUARTER_DOSE, scratch);
    const nominal = await simulate(dir('full'), 0.25, scratch);
    const real = full.map((f, k) => addedNoise(quarter[k]!, f));
    const weights = full.map((f, k) => attenuationWeights(f, real[k]!));
    const measure = (images: readonly { data: Float32Array }[]): AddedNoise[] => full.map((f, k) => addedNoise({ ...f, data: images[k]!.data }, f));
    const calibrated = measure(sim.images);
    const atNominal = measure(nominal.images);
    const ratios = full.map((f, k) => varianceRatio(f, real[k]!));
    const pooled = { real: pool(real, weights), simulated: pool(calibrated, weights), nominal: pool(atNominal, weights) };
    const old = before.groups.find((g) => g.patient === patient && g.kernel === kernel)!;
    const rois = real.reduce((a, r) => a + r.rois.length, 0);
    const group = {
      patient,
      kernel,
      role: patient === 'L143' ? 'tuning' : 'held out',
      convolutionKernel: fullSeries.convolutionKernel,
      pixelMm: full[0]!.pixelSpacing[1],
      slices: full.length,
      settings: sim.settings,
      warnings: [...sim.warnings, ...nominal.warnings],
      real: rounded(pooled.real.measured),
      simulated: rounded(pooled.simulated.measured),
      nominal: rounded(pooled.nominal.measured),
      // Its peak read again from its stored curve with today's estimate (smoothedRadialPeak; the
      // file's own came from a [1 2 1] / 4 smoothing), so that the column compares like with like.
      before: { ...old.simulated, peakFrequency: round(smoothedRadialPeak(Float64Array.from(old.radialNps.frequency), Float64Array.from(old.radialNps.simulated, (v) => v ?? NaN)), 3) },
      ratio: ratio(pooled.simulated.measured, pooled.real.measured),
      ratioNominal: ratio(pooled.nominal.measured, pooled.real.measured),
      // Quarter / full noise variance of the real pairs (mayo-common.ts varianceRatio), ROI-weighted.
      realVarianceRatio: round(ratios.reduce((a, r, k) => a + r.ratio * real[k]!.rois.length, 0) / rois, 2),
      perSlice: full.map((f, k) => ({
        slice: k,
        real: rounded(pool([real[k]!], [weights[k]!]).measured),
        simulated: rounded(pool([calibrated[k]!], [weights[k]!]).measured),
        varianceRatio: round(ratios[k]!.ratio, 2),
        // What --i0 auto starts from: the no-reference estimate of the full-dose noise.
        fullDoseNoiseEstimate: round(estimateNoise(f, { valueRange: SOFT_TISSUE_HU }).std, 1),
      })),
      radialNps: {
        frequency: pooled.real.frequency.map((v) => round(v, 4)),
        real: pooled.real.nps.map((v) => round(v, 2)),
        simulated: pooled.simulated.nps.map((v) => round(v, 2)),
        nominal: pooled.nominal.nps.map((v) => round(v, 2)),
      },
    };
    report.push(group);
    const r = group.real;
    const s = group.simulated;
    console.log(
      `${patient} ${kernel}: SD real ${r.std} sim ${s.std} (nominal 0.25 ${group.nominal.std}, before ${old.simulated.std}); ` +
        `NPS peak ${r.peakFrequency} / ${s.peakFrequency} (before ${group.before.peakFrequency}); mean ${r.meanFrequency} / ${s.meanFrequency}; ` +
        `centre ${r.centreStd} / ${s.centreStd}, periphery ${r.peripheryStd} / ${s.peripheryStd}; slope ${r.attenuationSlope} / ${s.attenuationSlope}; ` +
        `simulated / real SD ${group.ratio.std}, peak ${group.ratio.peakFrequency}; real variance ratio ${group.realVarianceRatio}`,
    );
    if (figures) {
      const points = (f: readonly (number | null)[], nps: readonly (number | null)[]) =>
        f.map((x, k) => [x, nps[k]] as const).filter((p): p is readonly [number, number] => p[0] !== null && p[0] > 0 && p[1] !== null && Number.isFinite(p[1]));
      const series: PlotSeries[] = [
        { name: 'real: quarter - full', points: points(pooled.real.frequency, pooled.real.nps), color: PALETTE[0]! },
        { name: `simulated: --dose ${MAYO_QUARTER_DOSE}`, points: points(pooled.real.frequency, pooled.simulated.nps), color: PALETTE[1]! },
        { name: 'simulated: --dose 0.25', points: points(pooled.real.frequency, pooled.nominal.nps), color: PALETTE[4]! },
        { name: 'before (831bca6)', points: points(old.radialNps.frequency, old.radialNps.simulated), color: PALETTE[6]! },
      ];
      saveFigure(
        `mayo-nps-${patient}-${kernel}.png`,
        linePlot({
          title: `${patient} ${kernel} (${full.length} slices, ${group.role}): added noise at quarter dose, radial NPS`,
          xLabel: 'cycles/mm',
          yLabel: 'HU^2 mm^2',
          series,
        }),
      );
    }
  }
  if (write) {
    saveJson('mayo-noise.json', {
      command: 'npx tsx scripts/experiments/mayo-noise.ts',
      dose: MAYO_QUARTER_DOSE,
      seed: 0,
      roi: '64 x 64 pixels of flat soft tissue (full-dose local mean in -150..250 HU), stride 16',
      groups: report,
    });
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

/**
 * PET quantitation on the IEC body phantom, per sphere:
 * - SUVmean bias: mean SUV in the sphere's VOI (voxel centres inside its nominal diameter, over
 *   every slice) of the denoised series, relative to the full-dose scan's in the same VOI. The
 *   reference is the full-dose scan, not the true activity, because the VOI mean is dominated by
 *   the scanner's partial-volume loss (full dose reads 11 to 24 % below truth here), which a
 *   denoiser neither causes nor is asked to undo; what it must not do is move the mean.
 * - SUVmax recovery: max SUV in the VOI over the true sphere SUV (the recovery coefficient RCmax
 *   of NEMA NU 2 / EARL). Noise inflates SUVmax at low counts, blur deflates it; the band says
 *   how far either may go.
 * Both are expected values: the mean over the case's noise realisations (SUVmean bias paired per
 * realisation with that realisation's full-count scan), with the standard error and each
 * realisation's value in `measured` (docs/qa.md, "Expected bias over noise realisations").
 * The true SUV is the sphere's activity times the SUV per Bq/ml that the noise-free truth series
 * reads in the background. Sphere statistics are `lesionStats` (src/metrics/lesions.ts), the code
 * behind `lowdose metrics --lesions`; each check's `measured` also carries the PERCIST SUVpeak, and
 * how many of its 1.2 cm peak spheres the volume cut (`sphereCut`): the fixture's 4 slices of 3 mm cut
 * every one, so these are means over the voxels that exist, not full PERCIST SUVpeaks.
 */
import { lesionStats, placedStackEdges, roiStats, type LesionStats } from '../../metrics/index.js';
import type { IecGeometry, IecSphere } from '../../phantoms/index.js';
import type { QaConfig } from '../config.js';
import { circleAt } from '../fixtures.js';
import { fmt, judge, ratio } from '../judge.js';
import { describeRealisations, meanOf, realisationFields, realisationsOf, summarise } from '../realisations.js';
import type { FamilyResult, QaCase, QaCheck, SliceStack } from '../types.js';

const BACKGROUND_RADIUS_MM = 15;

export function petChecks(c: QaCase, config: QaConfig): FamilyResult {
  if (c.phantom !== 'iec') return { checks: [] };
  const bias = config.checks['suvmean-bias'];
  const recovery = config.checks['suvmax-recovery'];
  const g = c.geometry as unknown as IecGeometry;
  const suvPerBqml = truthSuvPerBqml(c.truth, g);
  const realisations = realisationsOf(c);
  const checks: QaCheck[] = [];
  for (const sphere of [...g.spheres].sort((a, b) => b.diameter - a.diameter)) {
    const per = realisations.map((r) => ({ denoised: sphereStats(r.denoised, sphere), input: sphereStats(r.low, sphere), full: sphereStats(r.full, sphere) }));
    const avg = (pick: (p: (typeof per)[number]) => number) => meanOf(per.map(pick));
    const denoisedMean = avg((p) => p.denoised.mean);
    const fullMean = avg((p) => p.full.mean);
    const voxels = per[0]!.full.voxels;
    const peaks = per.flatMap((p) => [p.denoised, p.input, p.full]);
    const trueSuv = sphere.activityBqml * suvPerBqml;
    const subject = `${sphere.diameter} mm`;
    if (bias.enabled && sphere.diameter >= bias.minDiameterMm) {
      // Paired per realisation: each denoised mean against the full-count scan of that realisation.
      const relative = (v: number, full: number) => (v - full) / full;
      const values = per.map((p) => relative(p.denoised.mean, p.full.mean));
      const summary = summarise(values);
      const inputBias = meanOf(per.map((p) => relative(p.input.mean, p.full.mean)));
      checks.push(
        judge(
          {
            check: 'suvmean-bias',
            phantom: c.phantom,
            dose: c.dose,
            subject,
            unit: 'fraction',
            detail:
              `SUVmean in the ${sphere.diameter} mm sphere (${voxels} voxels): denoised ${fmt(denoisedMean)}, input ${fmt(avg((p) => p.input.mean))} ` +
              `(${fmt(100 * (inputBias ?? NaN), 2)} %), full dose ${fmt(fullMean)}, true ${fmt(trueSuv)}; ` +
              describeRealisations(summary, (v) => `${fmt(100 * v, 2)} %`) +
              describeCutPeaks(peaks),
            measured: {
              denoised: denoisedMean,
              input: avg((p) => p.input.mean),
              full: fullMean,
              true: trueSuv,
              denoisedPeak: avg((p) => p.denoised.peak),
              inputPeak: avg((p) => p.input.peak),
              fullPeak: avg((p) => p.full.peak),
              // The share of those peaks' spheres (each series, each realisation) the volume cut: 0 none, 1 all.
              peakSphereCut: meanOf(peaks.map((s) => (s.peakSphereCut ? 1 : 0))),
              inputBias,
              ...realisationFields(realisations, values, summary),
            },
          },
          summary.mean,
          bias,
        ),
      );
    }
    if (recovery.enabled && sphere.diameter >= recovery.minDiameterMm) {
      const values = per.map((p) => ratio(p.denoised.max, trueSuv));
      const summary = summarise(values);
      checks.push(
        judge(
          {
            check: 'suvmax-recovery',
            phantom: c.phantom,
            dose: c.dose,
            subject,
            unit: 'ratio',
            detail:
              `SUVmax / true SUV ${fmt(trueSuv)} in the ${sphere.diameter} mm sphere: denoised ${fmt(summary.mean)}, ` +
              `input ${fmt(meanOf(per.map((p) => ratio(p.input.max, trueSuv))))}, full dose ${fmt(meanOf(per.map((p) => ratio(p.full.max, trueSuv))))}; ` +
              describeRealisations(summary, (v) => fmt(v, 2)),
            measured: {
              denoised: avg((p) => p.denoised.max),
              input: avg((p) => p.input.max),
              full: avg((p) => p.full.max),
              true: trueSuv,
              ...realisationFields(realisations, values, summary),
            },
          },
          summary.mean,
          recovery,
        ),
      );
    }
  }
  return { checks };
}

/**
 * SUVmean / SUVmax / SUVpeak of an IEC sphere: its nominal diameter as the VOI. The stack is the
 * whole series, so its ends tell `lesionStats` whether the SUVpeak sphere was cut.
 */
export function sphereStats(stack: SliceStack, sphere: IecSphere): LesionStats {
  return lesionStats(stack.slices, { name: `${sphere.diameter} mm`, centre: sphere.centre, radius: sphere.diameter / 2 }, placedStackEdges(stack.slices));
}

/** "; SUVpeak sphere cut by the volume's edge in 24 of 24 readings (38 to 40 of 59 voxels)", or nothing where none was cut. */
function describeCutPeaks(peaks: readonly LesionStats[]): string {
  const cut = peaks.filter((s) => s.peakSphereCut);
  if (cut.length === 0) return '';
  const kept = cut.map((s) => s.peakVoxels);
  const whole = [...new Set(cut.map((s) => s.peakVoxels + s.peakSphereOutside))];
  const lo = Math.min(...kept);
  const hi = Math.max(...kept);
  return `; SUVpeak sphere cut by the volume's edge in ${cut.length} of ${peaks.length} readings (${lo === hi ? lo : `${lo} to ${hi}`} of ${whole.join(' or ')} voxels)`;
}

/** SUV per Bq/ml: the truth's mean background value over the background activity. */
function truthSuvPerBqml(truth: SliceStack, g: IecGeometry): number {
  let sum = 0;
  let n = 0;
  for (const slice of truth.slices) {
    for (const centre of g.backgroundRois) {
      sum += roiStats(slice, circleAt(slice, centre, BACKGROUND_RADIUS_MM)).mean;
      n++;
    }
  }
  return sum / n / g.backgroundBqml;
}

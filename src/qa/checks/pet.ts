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
 * The true SUV is the sphere's activity times the SUV per Bq/ml that the noise-free truth series
 * reads in the background. Sphere statistics are `lesionStats` (src/metrics/lesions.ts), the code
 * behind `lowdose metrics --lesions`; each check's `measured` also carries the PERCIST SUVpeak.
 */
import { lesionStats, roiStats, type LesionStats } from '../../metrics/index.js';
import type { IecGeometry, IecSphere } from '../../phantoms/index.js';
import type { QaConfig } from '../config.js';
import { circleAt } from '../fixtures.js';
import { fmt, judge, ratio } from '../judge.js';
import type { FamilyResult, QaCase, QaCheck, SliceStack } from '../types.js';

const BACKGROUND_RADIUS_MM = 15;

export function petChecks(c: QaCase, config: QaConfig): FamilyResult {
  if (c.phantom !== 'iec') return { checks: [] };
  const bias = config.checks['suvmean-bias'];
  const recovery = config.checks['suvmax-recovery'];
  const g = c.geometry as unknown as IecGeometry;
  const suvPerBqml = truthSuvPerBqml(c.truth, g);
  const checks: QaCheck[] = [];
  for (const sphere of [...g.spheres].sort((a, b) => b.diameter - a.diameter)) {
    const denoised = sphereStats(c.denoised, sphere);
    const input = sphereStats(c.low, sphere);
    const full = sphereStats(c.full, sphere);
    const trueSuv = sphere.activityBqml * suvPerBqml;
    const subject = `${sphere.diameter} mm`;
    if (bias.enabled && sphere.diameter >= bias.minDiameterMm) {
      const relative = (v: number) => (v - full.mean) / full.mean;
      checks.push(
        judge(
          {
            check: 'suvmean-bias',
            phantom: c.phantom,
            dose: c.dose,
            subject,
            unit: 'fraction',
            detail:
              `SUVmean in the ${sphere.diameter} mm sphere (${full.voxels} voxels): denoised ${fmt(denoised.mean)}, input ${fmt(input.mean)} ` +
              `(${fmt(100 * relative(input.mean), 2)} %), full dose ${fmt(full.mean)}, true ${fmt(trueSuv)}`,
            measured: {
              denoised: denoised.mean,
              input: input.mean,
              full: full.mean,
              true: trueSuv,
              denoisedPeak: denoised.peak,
              inputPeak: input.peak,
              fullPeak: full.peak,
            },
          },
          relative(denoised.mean),
          bias,
        ),
      );
    }
    if (recovery.enabled && sphere.diameter >= recovery.minDiameterMm) {
      checks.push(
        judge(
          {
            check: 'suvmax-recovery',
            phantom: c.phantom,
            dose: c.dose,
            subject,
            unit: 'ratio',
            detail:
              `SUVmax / true SUV ${fmt(trueSuv)} in the ${sphere.diameter} mm sphere: denoised ${fmt(ratio(denoised.max, trueSuv))}, ` +
              `input ${fmt(ratio(input.max, trueSuv))}, full dose ${fmt(ratio(full.max, trueSuv))}`,
            measured: { denoised: denoised.max, input: input.max, full: full.max, true: trueSuv },
          },
          ratio(denoised.max, trueSuv),
          recovery,
        ),
      );
    }
  }
  return { checks };
}

/** SUVmean / SUVmax / SUVpeak of an IEC sphere: its nominal diameter as the VOI. */
export function sphereStats(stack: SliceStack, sphere: IecSphere): LesionStats {
  return lesionStats(stack.slices, { name: `${sphere.diameter} mm`, centre: sphere.centre, radius: sphere.diameter / 2 });
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

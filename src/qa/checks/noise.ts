/**
 * Noise reduction: pooled noise SD in the phantom's uniform ROIs, denoised against the low-dose
 * input. value = 1 - SD(denoised) / SD(input), so 0.4 means 40 % less noise. The full-dose SD is
 * reported beside it: the reduction that would reach full-dose noise is 1 - SD(full) / SD(input).
 */
import { roiStats } from '../../metrics/index.js';
import type { QaConfig } from '../config.js';
import { circleAt } from '../fixtures.js';
import { fmt, judge, ratio } from '../judge.js';
import { uniformRois, type UniformRoi } from '../regions.js';
import type { FamilyResult, QaCase, SliceStack } from '../types.js';

export function noiseChecks(c: QaCase, config: QaConfig): FamilyResult {
  const settings = config.checks['noise-reduction'];
  const rois = uniformRois(c);
  if (!settings.enabled || rois.length === 0) return { checks: [] };
  const low = pooledNoise(c.low, rois);
  const denoised = pooledNoise(c.denoised, rois);
  const full = pooledNoise(c.full, rois);
  const kept = ratio(denoised, low);
  const value = kept === null ? null : 1 - kept;
  const unit = c.low.units;
  const detail =
    `noise SD in ${rois.length} uniform ROIs: input ${fmt(low)} ${unit}, denoised ${fmt(denoised)}, full dose ${fmt(full)} ` +
    `(full dose would be a ${fmt(1 - (ratio(full, low) ?? NaN))} reduction)`;
  return {
    checks: [
      judge(
        { check: 'noise-reduction', phantom: c.phantom, dose: c.dose, unit: 'fraction', detail, measured: { input: low, denoised, full } },
        value,
        settings,
      ),
    ],
  };
}

/**
 * sqrt of the mean ROI variance: pooling variances rather than pixels keeps slow shading between
 * ROIs (cupping, a denoiser's bias drift) out of the noise figure.
 */
export function pooledNoise(stack: SliceStack, rois: readonly UniformRoi[]): number {
  let sum = 0;
  for (const roi of rois) {
    const slice = stack.slices[roi.slice]!;
    const { std } = roiStats(slice, circleAt(slice, roi.centre, roi.radius));
    sum += std * std;
  }
  return Math.sqrt(sum / rois.length);
}

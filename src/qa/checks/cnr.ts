/**
 * Low-contrast detectability: CNR of the ACR module-2 rods (6 HU over a 90 HU background), per
 * rod size, denoised against the low-dose input. CNR = |mean(rods) - mean(bg)| / SD(bg), with the
 * four rods of a size pooled into one signal ROI and pylinac's module-2 background ROI. The check
 * is the ratio CNR(denoised) / CNR(input): both come from the same noise realisation, so the ratio
 * is much steadier than either CNR (at 10 % dose the 6 HU contrast is below one noise SD). A
 * denoiser that smooths the noise but also the rods keeps the ratio near 1; one that erases rods
 * drops it below.
 */
import { roiMaskFor, roiStats } from '../../metrics/index.js';
import type { AcrGeometry, AcrInsert } from '../../phantoms/index.js';
import type { QaConfig } from '../config.js';
import { circleAt } from '../fixtures.js';
import { fmt, judge, ratio } from '../judge.js';
import { moduleSlice } from '../regions.js';
import type { FamilyResult, QaCase, QaCheck, QaSlice, SliceStack } from '../types.js';
import { lowContrastRods, rodsBySize, rodsName } from './rod-groups.js';

/** Signal ROI radius as a fraction of the rod's, at least 0.75 pixel so that every rod has a pixel. */
const ROD_ROI_FRACTION = 0.6;

export function cnrChecks(c: QaCase, config: QaConfig): FamilyResult {
  const settings = config.checks['cnr-ratio'];
  if (!settings.enabled || c.phantom !== 'acr') return { checks: [] };
  const g = c.geometry as unknown as AcrGeometry;
  const index = moduleSlice(c.low, g, 2);
  const background = g.rois.find((r) => r.module === 2);
  if (!background) throw new RangeError('ACR geometry has no module-2 background ROI');
  const checks: QaCheck[] = [];
  for (const [diameter, rods] of rodsBySize(lowContrastRods(g), settings.minDiameterMm)) {
    const cnrOf = (stack: SliceStack) => rodCnr(stack.slices[index]!, rods, background);
    const input = cnrOf(c.low);
    const denoised = cnrOf(c.denoised);
    const full = cnrOf(c.full);
    checks.push(
      judge(
        {
          check: 'cnr-ratio',
          phantom: c.phantom,
          dose: c.dose,
          subject: `${diameter} mm`,
          unit: 'ratio',
          detail: `CNR of ${rodsName(diameter, rods)}: denoised ${fmt(denoised)}, input ${fmt(input)}, full dose ${fmt(full)}`,
          measured: { input, denoised, full },
        },
        ratio(denoised, input),
        settings,
      ),
    );
  }
  return { checks };
}

export function rodCnr(slice: QaSlice, rods: readonly AcrInsert[], background: { centre: readonly [number, number]; radius: number }): number {
  const pixel = Math.min(slice.pixelSpacing[0], slice.pixelSpacing[1]);
  const mask = new Uint8Array(slice.rows * slice.columns);
  for (const rod of rods) {
    const roi = circleAt(slice, rod.centre, Math.max(rod.radius * ROD_ROI_FRACTION, 0.75 * pixel));
    const one = roiMaskFor(slice, roi);
    for (let i = 0; i < mask.length; i++) mask[i]! |= one[i]!;
  }
  const signal = roiStats(slice, mask);
  const bg = roiStats(slice, circleAt(slice, background.centre, background.radius));
  return Math.abs(signal.mean - bg.mean) / bg.std;
}

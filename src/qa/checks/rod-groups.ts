/**
 * The ACR module-2 low-contrast rods as the rod checks (cnr-ratio, contrast-retention) judge them:
 * one check per rod size, the rods of a size pooled.
 */
import type { AcrGeometry, AcrInsert } from '../../phantoms/index.js';
import { roundTo } from '../../util/round.js';

/** Module 2's low-contrast rods. */
export function lowContrastRods(g: AcrGeometry): AcrInsert[] {
  return g.inserts.filter((i) => i.module === 2 && i.kind === 'low-contrast');
}

/**
 * `rods` of at least `minDiameterMm` grouped by diameter (mm, to 0.1 mm, so that the geometry's
 * rounding cannot split a size), largest first.
 */
export function rodsBySize(rods: readonly AcrInsert[], minDiameterMm: number): [number, AcrInsert[]][] {
  const groups = new Map<number, AcrInsert[]>();
  for (const rod of rods) {
    const diameter = roundTo(rod.radius * 2, 1);
    if (diameter < minDiameterMm) continue;
    groups.set(diameter, [...(groups.get(diameter) ?? []), rod]);
  }
  return [...groups.entries()].sort((a, b) => b[0] - a[0]);
}

/** How a check's detail names a size's rods: "4 rods of 6 mm", or "the 6 mm rod". */
export function rodsName(diameter: number, rods: readonly AcrInsert[]): string {
  return rods.length > 1 ? `${rods.length} rods of ${diameter} mm` : `the ${diameter} mm rod`;
}

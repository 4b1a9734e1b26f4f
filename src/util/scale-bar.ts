/** The scale bar of a figure or a viewer pane: a round length in mm that fits a width in pixels. */
export const BAR_LENGTHS_MM = [1, 2, 5, 10, 20, 50, 100, 200, 500];

/**
 * A scale bar: the longest round length (1, 2, 5 × 10^k mm) that fits in `maxPx` screen pixels at
 * `pxPerMm`, or null when even 1 mm does not (or the spacing is unknown).
 */
export function scaleBar(pxPerMm: number, maxPx: number): { mm: number; px: number } | null {
  if (!(pxPerMm > 0) || !Number.isFinite(pxPerMm)) return null;
  let best: { mm: number; px: number } | null = null;
  for (const mm of BAR_LENGTHS_MM) if (mm * pxPerMm <= maxPx) best = { mm, px: mm * pxPerMm };
  return best;
}

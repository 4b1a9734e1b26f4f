/**
 * A pane's slice the way the live viewer shows it beside the low-dose slice: a series whose grid is
 * mirrored or turned by quarter turns against the low-dose one (same plane, another
 * ImageOrientationPatient) is flipped / turned back (viewer/src/pane-geometry.ts followView), so
 * its anatomy lies the same way up. The server's figure (`POST /api/figure.png`) draws panes pixel
 * for pixel; through this it draws such a pane, and the ROI outlines placed on it, as the viewer does.
 */
import type { Image2D } from '../image.js';
import { gridMapping, mapShape, type PixelAffine, type SliceGrid } from '../metrics/grid-mapping.js';
import type { Shape } from '../metrics/roi-shapes.js';

/** [[a, b], [d, e]] of a grid map with each entry −1, 0 or 1: which way each pixel axis goes (as the viewer's axesOf). */
type Axes = readonly [number, number, number, number];

function axesOf(t: PixelAffine): Axes {
  const sign = (v: number, other: number) => (Math.abs(v) > Math.abs(other) ? Math.sign(v) : 0);
  return [sign(t.a, t.b), sign(t.b, t.a), sign(t.d, t.e), sign(t.e, t.d)];
}

/**
 * `image` of slice `grid`, and `shapes` in its pixels, turned so that its pixel axes run as those of
 * slice `frame` (the low-dose slice): pixel p of the pane lands where the viewer puts it on screen,
 * frame axes = Aᵀ·(p − centre), A the axes of the frame → pane map. Unchanged when the grids do not
 * map (another orientation, no geometry) or their axes already agree.
 */
export function turnedLikeFrame<S extends { readonly shape: Shape }>(image: Image2D, shapes: readonly S[], frame: SliceGrid, grid: SliceGrid): { image: Image2D; shapes: S[]; turned: boolean } {
  const mapping = gridMapping(frame, grid);
  if (mapping.kind !== 'mapped') return { image, shapes: [...shapes], turned: false };
  const [a00, a01, a10, a11] = axesOf(mapping.affine);
  if (a00 === 1 && a11 === 1) return { image, shapes: [...shapes], turned: false };
  const swap = a01 !== 0;
  const rows = swap ? image.columns : image.rows;
  const columns = swap ? image.rows : image.columns;
  const data = new Float32Array(rows * columns);
  const padding = image.padding ? new Uint8Array(rows * columns) : null;
  for (let oy = 0; oy < rows; oy++) {
    for (let ox = 0; ox < columns; ox++) {
      // Pixel centres: displacement from the turned image's centre, back into the pane's pixels.
      const ux = ox + 0.5 - columns / 2;
      const uy = oy + 0.5 - rows / 2;
      const px = Math.round(a00 * ux + a01 * uy + image.columns / 2 - 0.5);
      const py = Math.round(a10 * ux + a11 * uy + image.rows / 2 - 0.5);
      const source = py * image.columns + px;
      data[oy * columns + ox] = image.data[source]!;
      if (padding) padding[oy * columns + ox] = image.padding![source]!;
    }
  }
  // The pane's pixels into the turned image's: o = Aᵀ·(p − pane centre) + turned centre.
  const cx = image.columns / 2;
  const cy = image.rows / 2;
  const toTurned: PixelAffine = {
    a: a00,
    b: a10,
    c: columns / 2 - (a00 * cx + a10 * cy),
    d: a01,
    e: a11,
    f: rows / 2 - (a01 * cx + a11 * cy),
  };
  const pixelSpacing: readonly [number, number] = swap ? [image.pixelSpacing[1], image.pixelSpacing[0]] : image.pixelSpacing;
  return {
    image: { rows, columns, data, pixelSpacing, padding },
    shapes: shapes.map((s) => ({ ...s, shape: mapShape(s.shape, toTurned) })),
    turned: true,
  };
}

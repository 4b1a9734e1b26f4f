/**
 * A pane's slice the way the live viewer shows it beside the low-dose slice. followView
 * (viewer/src/pane-geometry.ts) shows, in a pane of another field of view (in-plane origin, matrix),
 * pixel spacing or orientation (mirrored, turned by quarter turns), the patient point at the
 * low-dose pane's centre at its own centre, at the same millimetres per screen pixel and the same
 * way up. The server's figure (`GET` / `POST /api/figure.png`) draws panes pixel for pixel; through
 * this it draws such a pane on the low-dose slice's grid, so its anatomy lies where the low-dose
 * pane has it, at that pane's size, and the part of the low-dose field outside its own is empty.
 */
import type { Image2D } from '../image.js';
import { gridMapping, mapPoint, type SliceGrid } from '../metrics/grid-mapping.js';

/**
 * `image` (slice `grid`) resampled onto slice `frame`'s grid through gridMapping (frame → pane
 * pixels, the mapping followView uses): each frame pixel takes the pane pixel whose area holds its
 * centre (nearest neighbour: no invented values), NaN (drawn black, as the viewer's empty canvas)
 * and padding where the pane has none. Unchanged (`moved` false) when the grids do not map (another
 * orientation, no geometry: the viewer then copies the view) or are one grid.
 */
export function paneOnFrame(image: Image2D, frame: SliceGrid, grid: SliceGrid): { image: Image2D; moved: boolean } {
  const mapping = gridMapping(frame, grid);
  if (mapping.kind !== 'mapped' || !movesOnFrame(image, frame, grid)) return { image, moved: false };
  const { rows, columns } = frame;
  const data = new Float32Array(rows * columns);
  // The pane's padding carried over; outside its field every pixel is padding, so nothing reads it as a value.
  const padding = image.padding ? new Uint8Array(rows * columns) : null;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < columns; x++) {
      const q = mapPoint(mapping.affine, { x: x + 0.5, y: y + 0.5 });
      const px = Math.floor(q.x);
      const py = Math.floor(q.y);
      const o = y * columns + x;
      if (px < 0 || py < 0 || px >= image.columns || py >= image.rows) {
        data[o] = Number.NaN;
        if (padding) padding[o] = 1;
        continue;
      }
      data[o] = image.data[py * image.columns + px]!;
      if (padding) padding[o] = image.padding![py * image.columns + px]!;
    }
  }
  return { image: { rows, columns, data, pixelSpacing: frame.pixelSpacing, padding }, moved: true };
}

/**
 * Whether paneOnFrame moves a slice of `image`'s matrix onto `frame` (the grids map and are not
 * one grid): known from the geometry alone, before any pixel is resampled.
 */
export function movesOnFrame(image: Pick<Image2D, 'rows' | 'columns'>, frame: SliceGrid, grid: SliceGrid): boolean {
  const mapping = gridMapping(frame, grid);
  return mapping.kind === 'mapped' && !(mapping.identity && image.rows === frame.rows && image.columns === frame.columns);
}

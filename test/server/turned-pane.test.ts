/** turnedLikeFrame: a pane stored mirrored or turned against the low-dose grid comes back as the low-dose grid holds the same patient points. */
import { describe, expect, it } from 'vitest';
import type { SliceGrid } from '../../src/metrics/grid-mapping.js';
import { turnedLikeFrame } from '../../src/server/turned-pane.js';

// The low-dose grid: 3 columns x 2 rows of 1 x 2 mm pixels (row spacing 1, column spacing 2), axial.
const frame: SliceGrid = { rows: 2, columns: 3, pixelSpacing: [1, 2], orientation: [1, 0, 0, 0, 1, 0], position: [0, 0, 0] };
/** Value at patient (x, y): distinct for every low-dose pixel centre. */
const value = (x: number, y: number) => 10 * y + x;
const lowDose = Float32Array.from({ length: 6 }, (_, i) => value(2 * (i % 3), Math.floor(i / 3)));

function sampled(grid: SliceGrid): Float32Array {
  const [rowDir, columnDir] = [grid.orientation!.slice(0, 3), grid.orientation!.slice(3, 6)];
  return Float32Array.from({ length: grid.rows * grid.columns }, (_, i) => {
    const [r, c] = [Math.floor(i / grid.columns), i % grid.columns];
    const p = [0, 1].map((k) => grid.position![k]! + c * grid.pixelSpacing[1] * rowDir[k]! + r * grid.pixelSpacing[0] * columnDir[k]!);
    return value(p[0]!, p[1]!);
  });
}

describe('turnedLikeFrame', () => {
  it('mirrors back a grid stored right to left', () => {
    const grid: SliceGrid = { rows: 2, columns: 3, pixelSpacing: [1, 2], orientation: [-1, 0, 0, 0, 1, 0], position: [4, 0, 0] };
    const out = turnedLikeFrame({ rows: 2, columns: 3, data: sampled(grid), pixelSpacing: [1, 2] }, [], frame, grid);
    expect(out.turned).toBe(true);
    expect([...out.image.data]).toEqual([...lowDose]);
  });

  it('turns back a grid stored a quarter turn (rows and columns, spacings and an ellipse swap)', () => {
    // Columns run along +y (1 mm), rows along −x (2 mm): the first pixel at the low-dose grid's top right.
    const grid: SliceGrid = { rows: 3, columns: 2, pixelSpacing: [2, 1], orientation: [0, 1, 0, -1, 0, 0], position: [4, 0, 0] };
    const ellipse = { name: 'R1', shape: { kind: 'ellipse' as const, ellipse: { cx: 1, cy: 1.5, rx: 0.5, ry: 1 } } };
    const out = turnedLikeFrame({ rows: 3, columns: 2, data: sampled(grid), pixelSpacing: [2, 1] }, [ellipse], frame, grid);
    expect([out.image.rows, out.image.columns, ...out.image.pixelSpacing]).toEqual([2, 3, 1, 2]);
    expect([...out.image.data]).toEqual([...lowDose]);
    // The pane's point (1, 1.5) is patient (4 − 1·2, 0.5·1) = (2, 0.5), low-dose (1.5, 1); 0.5 px of 1 mm along y and 1 px of 2 mm along x swap.
    expect(out.shapes[0]!.shape).toEqual({ kind: 'ellipse', ellipse: { cx: 1.5, cy: 1, rx: 1, ry: 0.5 } });
  });

  it('leaves a pane on the low-dose axes as it is', () => {
    const out = turnedLikeFrame({ rows: 2, columns: 3, data: lowDose, pixelSpacing: [1, 2] }, [], frame, { ...frame, position: [10, 5, 0] });
    expect(out.turned).toBe(false);
  });
});

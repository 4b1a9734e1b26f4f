/**
 * paneOnFrame: a pane stored mirrored or turned against the low-dose grid, or of another field of
 * view, comes back as the low-dose grid holds the same patient points (empty where it has none).
 */
import { describe, expect, it } from 'vitest';
import type { SliceGrid } from '../../src/metrics/grid-mapping.js';
import { paneOnFrame } from '../../src/server/pane-on-frame.js';

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

describe('paneOnFrame', () => {
  it('mirrors back a grid stored right to left', () => {
    const grid: SliceGrid = { rows: 2, columns: 3, pixelSpacing: [1, 2], orientation: [-1, 0, 0, 0, 1, 0], position: [4, 0, 0] };
    const out = paneOnFrame({ rows: 2, columns: 3, data: sampled(grid), pixelSpacing: [1, 2] }, frame, grid);
    expect(out.moved).toBe(true);
    expect([...out.image.data]).toEqual([...lowDose]);
  });

  it('turns back a grid stored a quarter turn (rows and columns, spacings swap)', () => {
    // Columns run along +y (1 mm), rows along −x (2 mm): the first pixel at the low-dose grid's top right.
    const grid: SliceGrid = { rows: 3, columns: 2, pixelSpacing: [2, 1], orientation: [0, 1, 0, -1, 0, 0], position: [4, 0, 0] };
    const out = paneOnFrame({ rows: 3, columns: 2, data: sampled(grid), pixelSpacing: [2, 1] }, frame, grid);
    expect([out.image.rows, out.image.columns, ...out.image.pixelSpacing]).toEqual([2, 3, 1, 2]);
    expect([...out.image.data]).toEqual([...lowDose]);
  });

  it('moves a pane whose first pixel lies elsewhere onto the low-dose pixels, empty (NaN, padding) outside its field', () => {
    // One column (2 mm) further along x: low-dose column c is its column c − 1.
    const grid: SliceGrid = { ...frame, position: [2, 0, 0] };
    const out = paneOnFrame({ rows: 2, columns: 3, data: sampled(grid), pixelSpacing: [1, 2], padding: new Uint8Array(6) }, frame, grid);
    expect(out.moved).toBe(true);
    expect([...out.image.data]).toEqual([Number.NaN, lowDose[1], lowDose[2], Number.NaN, lowDose[4], lowDose[5]]);
    expect([...out.image.padding!]).toEqual([1, 0, 0, 1, 0, 0]);
  });

  it('puts a smaller matrix (a cropped field) where it lies in the low-dose field', () => {
    // 1 x 2 pixels from the low-dose second column.
    const grid: SliceGrid = { rows: 1, columns: 2, pixelSpacing: [1, 2], orientation: frame.orientation, position: [2, 0, 0] };
    const out = paneOnFrame({ rows: 1, columns: 2, data: sampled(grid), pixelSpacing: [1, 2] }, frame, grid);
    expect([out.image.rows, out.image.columns]).toEqual([2, 3]);
    expect([...out.image.data]).toEqual([Number.NaN, lowDose[1], lowDose[2], Number.NaN, Number.NaN, Number.NaN]);
  });

  it('leaves a pane on the low-dose grid, or on none it maps to, as it is', () => {
    const image = { rows: 2, columns: 3, data: lowDose, pixelSpacing: [1, 2] as [number, number] };
    expect(paneOnFrame(image, frame, frame)).toEqual({ image, moved: false });
    expect(paneOnFrame(image, frame, { ...frame, orientation: [1, 0, 0, 0, 0, 1] }).moved).toBe(false);
    expect(paneOnFrame(image, frame, { ...frame, position: null }).moved).toBe(false);
  });
});

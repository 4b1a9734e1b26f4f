/**
 * ROIs, lengths and slices carried between panes of other pixel grids through patient
 * coordinates. Known answers: one phantom defined in patient millimetres (two uniform inserts)
 * sampled on the low-dose grid and on a "reference" grid of another pixel spacing, field of view
 * and orientation, as a resampled reference would be; an ROI over an insert reads the insert's
 * value in both panes, where the same pixel indices in the reference read other anatomy.
 */
import { describe, expect, it } from 'vitest';
import type { Orientation, Vec3 } from '../../src/dicom/types.js';
import { gridMapping, invertAffine, mapPoint, mapShape, placeWithNote, shapeInPane, slicesAlongNormal, unmatchedText, type SliceGrid } from '../../src/metrics/grid-mapping.js';
import { lengthMm, measurementTable, regionStats, tableCsv, type PixelValues, type Shape } from '../../src/metrics/roi-shapes.js';

const AXIAL: Orientation = [1, 0, 0, 0, 1, 0];

/** Patient LPS mm: 60 HU in a disc of 25 mm radius around (12, −8), 120 HU in one of 15 mm around (−40, 30), 0 elsewhere. */
function phantom(p: Vec3): number {
  if (Math.hypot(p[0] - 12, p[1] + 8) <= 25) return 60;
  if (Math.hypot(p[0] + 40, p[1] - 30) <= 15) return 120;
  return 0;
}

/** The phantom sampled at the pixel centres of a grid (ImagePositionPatient + column·Δc·row cosines + row·Δr·column cosines). */
function sample(grid: SliceGrid): PixelValues {
  const o = grid.orientation!;
  const p0 = grid.position!;
  const [dr, dc] = grid.pixelSpacing;
  return {
    rows: grid.rows,
    columns: grid.columns,
    pixelSpacing: grid.pixelSpacing,
    value: (i) => {
      const row = Math.floor(i / grid.columns);
      const column = i % grid.columns;
      return phantom([0, 1, 2].map((k) => p0[k]! + column * dc * o[k]! + row * dr * o[3 + k]!) as Vec3);
    },
  };
}

/** The low-dose grid: 256² at 0.7 mm, first pixel at (−89.6, −89.6), slice at z = 10. */
const LOW: SliceGrid = { rows: 256, columns: 256, pixelSpacing: [0.7, 0.7], orientation: AXIAL, position: [-89.6, -89.6, 10] };
/** A reference resampled to 1.1 mm rows, 0.9 mm columns, 160 × 200 pixels and another field of view. */
const REFERENCE: SliceGrid = { rows: 160, columns: 200, pixelSpacing: [1.1, 0.9], orientation: AXIAL, position: [-70.3, -60.15, 10] };

/** Image pixels (corner-based) of patient (x, y) in an axial grid. */
function pixelOf(grid: SliceGrid, x: number, y: number): { x: number; y: number } {
  return { x: 0.5 + (x - grid.position![0]) / grid.pixelSpacing[1], y: 0.5 + (y - grid.position![1]) / grid.pixelSpacing[0] };
}

/** An ellipse of semi-axes 15 × 10 mm over the 60 HU insert, drawn on the low-dose grid. */
const centre = pixelOf(LOW, 12, -8);
const OVER_INSERT: Shape = { kind: 'ellipse', ellipse: { cx: centre.x, cy: centre.y, rx: 15 / 0.7, ry: 10 / 0.7 } };

describe('an ROI carried to a reference of another pixel spacing and field of view', () => {
  it('reads the uniform insert as 60 HU in both panes, where the same pixel indices read 0 HU of other anatomy', () => {
    const low = regionStats(sample(LOW), OVER_INSERT)!;
    const placed = shapeInPane(OVER_INSERT, LOW, REFERENCE);
    expect(placed.reason).toBeNull();
    const reference = regionStats(sample(REFERENCE), placed.shape!)!;
    expect(low.mean).toBe(60);
    expect(reference.mean).toBe(60);
    expect(reference.sd).toBe(0);
    // The same physical area (π·15·10 mm²) within pixelisation on both grids.
    for (const s of [low, reference]) expect(Math.abs(s.areaMm2 - Math.PI * 150) / (Math.PI * 150)).toBeLessThan(0.03);
    // What the viewer did before: the same pixel indices on the reference grid lie in the background.
    expect(regionStats(sample(REFERENCE), OVER_INSERT)!.mean).toBe(0);
  });

  it('moves rectangles, freehand outlines and lengths to the same patient place', () => {
    const a = pixelOf(LOW, -48, 22);
    const b = pixelOf(LOW, -32, 38);
    const rectangle: Shape = { kind: 'rectangle', from: a, to: b };
    const triangle: Shape = { kind: 'freehand', points: [pixelOf(LOW, 0, -10), pixelOf(LOW, 20, -10), pixelOf(LOW, 10, 5)] };
    for (const [shape, value] of [
      [rectangle, 120],
      [triangle, 60],
    ] as const) {
      expect(regionStats(sample(LOW), shape)!.mean).toBe(value);
      expect(regionStats(sample(REFERENCE), shapeInPane(shape, LOW, REFERENCE).shape!)!.mean).toBe(value);
    }
    // A 40 mm line along x is 40 mm in either grid's pixel spacing.
    const line: Shape = { kind: 'length', from: pixelOf(LOW, -20, 0), to: pixelOf(LOW, 20, 0) };
    const moved = shapeInPane(line, LOW, REFERENCE).shape as Extract<Shape, { kind: 'length' }>;
    expect(lengthMm(line.from, line.to, LOW.pixelSpacing)).toBeCloseTo(40, 9);
    expect(lengthMm(moved.from, moved.to, REFERENCE.pixelSpacing)).toBeCloseTo(40, 9);
  });

  it('maps a pixel corner by hand: 1 mm pixels from the origin to 0.5 mm pixels from (5, 5), 3 mm further along the normal', () => {
    const from: SliceGrid = { rows: 64, columns: 64, pixelSpacing: [1, 1], orientation: AXIAL, position: [0, 0, 0] };
    const to: SliceGrid = { rows: 64, columns: 64, pixelSpacing: [0.5, 0.5], orientation: AXIAL, position: [5, 5, 3] };
    const m = gridMapping(from, to);
    if (m.kind !== 'mapped') throw new Error(m.reason);
    // Corner (10, 20) is patient (9.5, 19.5): 4.5 and 14.5 mm from (5, 5), 9 and 29 half-millimetre pixels, plus the half pixel to the corner.
    expect(mapPoint(m.affine, { x: 10, y: 20 })).toEqual({ x: 9.5, y: 29.5 });
    expect(m.planeOffsetMm).toBeCloseTo(3, 12);
    expect(m.identity).toBe(false);
    const back = mapPoint(invertAffine(m.affine), { x: 9.5, y: 29.5 });
    expect(back.x).toBeCloseTo(10, 12);
    expect(back.y).toBeCloseTo(20, 12);
    expect(gridMapping(from, { ...from, position: [0, 0, 7] })).toMatchObject({ kind: 'mapped', identity: true });
  });

  it('follows a flipped and a quarter-turned reference grid, an ellipse keeping its millimetres', () => {
    // Rows running right to left (x decreasing), and rows running down y with columns along x.
    const flipped: SliceGrid = { rows: 200, columns: 200, pixelSpacing: [0.8, 0.8], orientation: [-1, 0, 0, 0, 1, 0], position: [80, -80, 10] };
    const turned: SliceGrid = { rows: 220, columns: 180, pixelSpacing: [0.9, 1.0], orientation: [0, 1, 0, 1, 0, 0], position: [-95, -85, 10] };
    for (const grid of [flipped, turned]) {
      const placed = shapeInPane(OVER_INSERT, LOW, grid);
      expect(placed.reason).toBeNull();
      const s = regionStats(sample(grid), placed.shape!)!;
      expect(s.mean).toBe(60);
      expect(Math.abs(s.areaMm2 - Math.PI * 150) / (Math.PI * 150)).toBeLessThan(0.03);
    }
    // Quarter turn: the 15 mm semi-axis along x becomes the row (y-pixel) axis of the turned grid.
    const e = (mapShape(OVER_INSERT, (gridMapping(LOW, turned) as Extract<ReturnType<typeof gridMapping>, { kind: 'mapped' }>).affine) as Extract<Shape, { kind: 'ellipse' }>).ellipse;
    expect(e.ry * 0.9).toBeCloseTo(15, 9);
    expect(e.rx * 1.0).toBeCloseTo(10, 9);
  });
});

describe('panes whose grids cannot be matched say why instead of giving a number', () => {
  it('refuses another orientation (coronal against axial, or a 30° in-plane turn)', () => {
    const coronal: SliceGrid = { ...REFERENCE, orientation: [1, 0, 0, 0, 0, -1] };
    const c = Math.cos(Math.PI / 6);
    const s = Math.sin(Math.PI / 6);
    const rotated: SliceGrid = { ...REFERENCE, orientation: [c, s, 0, -s, c, 0] };
    for (const grid of [coronal, rotated]) expect(shapeInPane(OVER_INSERT, LOW, grid)).toEqual({ shape: null, reason: 'orientation' });
  });

  it('refuses a grid without geometry, unless neither has any and the matrix and spacing are one (a derived series)', () => {
    expect(shapeInPane(OVER_INSERT, LOW, { ...REFERENCE, position: null })).toEqual({ shape: null, reason: 'no-geometry' });
    const bare: SliceGrid = { ...LOW, position: null, orientation: null };
    expect(shapeInPane(OVER_INSERT, bare, bare)).toEqual({ shape: OVER_INSERT, reason: null });
    expect(shapeInPane(OVER_INSERT, bare, { ...bare, pixelSpacing: [0.8, 0.8] }).reason).toBe('no-geometry');
  });

  it("refuses an ROI that reaches out of a smaller reference field of view, and a plane of another section", () => {
    // 40 × 40 mm around (−40, 30): holds the 120 HU insert, not the 60 HU one.
    const small: SliceGrid = { rows: 40, columns: 40, pixelSpacing: [1, 1], orientation: AXIAL, position: [-59.5, 10.5, 10] };
    expect(shapeInPane(OVER_INSERT, LOW, small)).toEqual({ shape: null, reason: 'outside' });
    const away = shapeInPane(OVER_INSERT, LOW, { ...REFERENCE, position: [-70.3, -60.15, 11.5] }, 0.25);
    expect(away).toEqual({ shape: null, reason: 'no-slice', offsetMm: 1.5 });
    expect(unmatchedText(away as { reason: 'no-slice'; offsetMm: number })).toBe("not measured: this series' nearest slice is 1.5 mm away");
  });

  it('writes the reason in the measurement table and its CSV, and the numbers where the grids match', () => {
    const coronal: SliceGrid = { ...REFERENCE, orientation: [1, 0, 0, 0, 0, -1] };
    const panes = [
      { key: 'lowDose', slice: 3, units: 'HU', values: sample(LOW), place: placeWithNote(LOW, LOW) },
      { key: 'reference', slice: 3, units: 'HU', values: sample(REFERENCE), place: placeWithNote(LOW, REFERENCE) },
      { key: 'other', slice: 3, units: 'HU', values: sample(REFERENCE), place: placeWithNote(LOW, coronal) },
    ];
    const { rows, cnr } = measurementTable(panes, [{ name: 'R1', shape: OVER_INSERT }]);
    expect(rows.map((r) => [r.pane, r.stats?.mean ?? null, r.note])).toEqual([
      ['lowDose', 60, null],
      ['reference', 60, null],
      ['other', null, 'not measured: this series has another orientation'],
    ]);
    const csv = tableCsv(rows, cnr).split('\n');
    expect(csv[0]).toBe('measurement,kind,pane,slice,units,mean,sd,min,max,pixels,area_mm2,length_mm,note');
    expect(csv[3]).toBe('R1,ellipse,other,3,HU,,,,,,,,not measured: this series has another orientation');
  });
});

describe('slices paired along the slice normal', () => {
  const FRAME = '2.25.7004001';
  const stack = (z: readonly number[], xy: [number, number], orientation: Orientation = AXIAL, frameOfReferenceUid: string | null = FRAME) => ({ orientation, positions: z.map((v): Vec3 => [xy[0], xy[1], v]), frameOfReferenceUid });

  it('pairs 1 mm low-dose slices with a 2 mm reference of another field of view by position, the odd ones 1 mm off', () => {
    const low = stack([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [-100, -100]);
    const reference = stack([0, 2, 4, 6, 8], [-120, -90]);
    const p = slicesAlongNormal(low, reference)!;
    expect(p.nearest).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    expect(p.offsetMm).toEqual([0, -1, 0, -1, 0, -1, 0, -1, 0, -1]);
    expect(p.toleranceMm).toBe(0.25);
  });

  it('leaves out slices beyond the reference, and pairs nothing for another orientation or without positions', () => {
    const low = stack([0, 3, 6, 9, 12], [0, 0]);
    expect(slicesAlongNormal(low, stack([6, 9], [5, 5]))!.nearest).toEqual([-1, -1, 0, 1, -1]);
    expect(slicesAlongNormal(low, stack([0, 3], [0, 0], [1, 0, 0, 0, 0, -1]))).toBeNull();
    expect(slicesAlongNormal(low, { orientation: AXIAL, positions: [null, null], frameOfReferenceUid: FRAME })).toBeNull();
  });

  it('pairs nothing along the normal with a stack of another frame of reference or of none, as pairSlices', () => {
    const low = stack([0, 3, 6, 9, 12], [0, 0]);
    // Another patient's scan whose table positions coincide along the normal: not one coordinate system.
    expect(slicesAlongNormal(low, stack([6, 9], [5, 5], AXIAL, '2.25.7004002'))).toBeNull();
    expect(slicesAlongNormal(low, stack([6, 9], [5, 5], AXIAL, null))).toBeNull();
    expect(slicesAlongNormal(stack([0, 3], [0, 0], AXIAL, null), stack([0, 3], [0, 0], AXIAL, null))).toBeNull();
  });

  it('pairs a reference shifted by 1.4 mm of its 3 mm slices with the slab that holds each plane, 1.4 mm off', () => {
    const p = slicesAlongNormal(stack([0, 3, 6], [0, 0]), stack([1.4, 4.4, 7.4], [0, 0]))!;
    expect(p.nearest).toEqual([0, 1, 2]);
    for (const offset of p.offsetMm) expect(offset).toBeCloseTo(1.4, 9);
    // Beyond the quarter-spacing tolerance: a readout there names the distance instead of a number.
    expect(p.toleranceMm).toBe(0.75);
  });
});

/**
 * The viewer's panes through patient coordinates (viewer/src/pane-geometry.ts): zoom and pan that
 * show the same anatomy the same size at the same place in a pane of another pixel spacing and
 * field of view, shapes drawn in such a pane carried back to the low-dose pixels they are kept in,
 * and slices paired along the normal from the series facts the API gives.
 */
import { describe, expect, it } from 'vitest';
import { gridMapping, mapPoint, type SliceGrid } from '../../src/metrics/grid-mapping.js';
import { displayedOrientation, followView, turnMatrix, pairAlongNormal, panePlacement, placeShape, pointInPane, pointToFrame, shapeToFrame, sliceGrid, type PanePlacement, type PaneView } from '../../viewer/src/pane-geometry.js';
import type { SeriesDetail } from '../../viewer/src/api.js';

const LOW: SliceGrid = { rows: 96, columns: 96, pixelSpacing: [0.7, 0.7], orientation: [1, 0, 0, 0, 1, 0], position: [-33.25, -33.25, 4] };
const REFERENCE: SliceGrid = { ...LOW, pixelSpacing: [0.9, 0.9] };
const own = (grid: SliceGrid): PanePlacement => ({ frame: LOW, grid, toleranceMm: 0.5 });

describe('zoom and pan through patient coordinates', () => {
  it('shows the patient point at the low-dose canvas centre at the reference canvas centre, at the same millimetres per screen pixel', () => {
    // Low-dose: twice enlarged, shifted 10 pixels left: the canvas centre shows pixel (58, 48), patient (-33.25 + 57.5·0.7, …).
    const view = followView({ scale: 2, translation: { x: -10, y: 0 } }, { rows: 96, columns: 96, placement: own(LOW) }, { rows: 96, columns: 96, placement: own(REFERENCE) });
    expect(view.scale).toBeCloseTo((2 * 0.9) / 0.7, 12);
    // That patient point is reference pixel 0.5 + 57.5·0.7 / 0.9 from the corner.
    expect(view.translation.x).toBeCloseTo(48 - (0.5 + (57.5 * 0.7) / 0.9), 9);
    expect(view.translation.y).toBeCloseTo(48 - (0.5 + (47.5 * 0.7) / 0.9), 9);
    // And back.
    const back = followView(view, { rows: 96, columns: 96, placement: own(REFERENCE) }, { rows: 96, columns: 96, placement: own(LOW) });
    expect(back.scale).toBeCloseTo(2, 12);
    expect(back.translation.x).toBeCloseTo(-10, 9);
    expect(back.translation.y).toBeCloseTo(0, 9);
  });

  it('copies the view between panes of one grid, and where the grids do not map', () => {
    const view = { scale: 1.5, translation: { x: 3, y: -4 } };
    expect(followView(view, { rows: 96, columns: 96, placement: own(LOW) }, { rows: 96, columns: 96, placement: own(LOW) })).toEqual(view);
    const coronal = { ...REFERENCE, orientation: [1, 0, 0, 0, 0, -1] } as SliceGrid;
    expect(followView(view, { rows: 96, columns: 96, placement: own(LOW) }, { rows: 96, columns: 96, placement: own(coronal) })).toEqual(view);
    expect(followView(view, { rows: 96, columns: 96, placement: null }, { rows: 96, columns: 96, placement: own(REFERENCE) })).toEqual(view);
  });
});

/** Where cornerstone draws image point p, from the canvas centre: scale·(translation + R·F·(p − size / 2)) (square pixels). */
function screenOf(view: PaneView, size: number, p: { x: number; y: number }): { x: number; y: number } {
  const m = turnMatrix(view);
  const q = { x: p.x - size / 2, y: p.y - size / 2 };
  return { x: view.scale * (view.translation.x + m[0] * q.x + m[1] * q.y), y: view.scale * (view.translation.y + m[2] * q.x + m[3] * q.y) };
}

describe('panes on a mirrored or quarter-turned grid', () => {
  // The low-dose field, stored mirrored left-right (rows run from the patient's left to right) and
  // turned a quarter (rows run posterior, columns right to left): the first pixel at the other corner.
  const MIRRORED: SliceGrid = { ...LOW, orientation: [-1, 0, 0, 0, 1, 0], position: [-33.25 + 95 * 0.7, -33.25, 4] };
  const TURNED: SliceGrid = { ...LOW, pixelSpacing: [0.9, 0.9], orientation: [0, 1, 0, -1, 0, 0], position: [30, -30, 4] };
  const view = { scale: 2, translation: { x: -10, y: 6 } };
  const points = [
    { x: 0, y: 0 },
    { x: 96, y: 0 },
    { x: 20, y: 70 },
    { x: 48, y: 48 },
  ];

  for (const [name, grid, expected] of [
    ['mirrored', MIRRORED, { rotation: 0, hflip: true, vflip: false }],
    // Its rows run posterior, the low-dose columns' way: turned 90° clockwise they run down.
    ['turned a quarter', TURNED, { rotation: 90, hflip: false, vflip: false }],
  ] as const) {
    it(`flips or turns a pane ${name} against the low-dose grid so that every patient point lies at the same screen point`, () => {
      const next = followView(view, { rows: 96, columns: 96, placement: own(LOW) }, { rows: 96, columns: 96, placement: own(grid) });
      expect({ rotation: next.rotation, hflip: next.hflip, vflip: next.vflip }).toEqual(expected);
      const mapping = gridMapping(LOW, grid);
      if (mapping.kind !== 'mapped') throw new Error('unmapped');
      for (const p of points) {
        const there = screenOf(next, 96, mapPoint(mapping.affine, p));
        const here = screenOf(view, 96, p);
        expect(there.x).toBeCloseTo(here.x, 9);
        expect(there.y).toBeCloseTo(here.y, 9);
      }
      // And back: the low-dose pane gets its own view, unturned.
      const back = followView(next, { rows: 96, columns: 96, placement: own(grid) }, { rows: 96, columns: 96, placement: own(LOW) });
      expect(back.scale).toBeCloseTo(2, 12);
      expect(back.translation.x).toBeCloseTo(-10, 9);
      expect(back.translation.y).toBeCloseTo(6, 9);
      expect({ rotation: back.rotation, hflip: back.hflip, vflip: back.vflip }).toEqual({ rotation: 0, hflip: false, vflip: false });
      // The turned pane's edges name what the low-dose pane's do.
      expect(displayedOrientation(grid.orientation, next)).toEqual([1, 0, 0, 0, 1, 0]);
    });
  }

  it('leaves panes of one orientation unturned', () => {
    const next = followView(view, { rows: 96, columns: 96, placement: own(LOW) }, { rows: 96, columns: 96, placement: own(REFERENCE) });
    expect({ rotation: next.rotation, hflip: next.hflip, vflip: next.vflip }).toEqual({ rotation: 0, hflip: false, vflip: false });
    expect(displayedOrientation(LOW.orientation, next)).toEqual([1, 0, 0, 0, 1, 0]);
  });
});

describe('shapes and points between a pane and the low-dose pixels', () => {
  it('carries a rectangle drawn in the reference back to low-dose pixels over the same patient millimetres', () => {
    const drawn = { kind: 'rectangle' as const, from: { x: 10.5, y: 20.5 }, to: { x: 30.5, y: 40.5 } };
    const kept = shapeToFrame(drawn, own(REFERENCE));
    // Reference pixel centre 10 is patient -33.25 + 10·0.9 = -24.25 mm: low-dose pixel 0.5 + 9/0.7.
    expect(kept).toMatchObject({ kind: 'rectangle' });
    const r = kept as Extract<typeof kept, { kind: 'rectangle' }>;
    expect(r.from.x).toBeCloseTo(0.5 + 9 / 0.7, 9);
    expect(r.to.y).toBeCloseTo(0.5 + 36 / 0.7, 9);
    const p = pointToFrame({ x: 10.5, y: 20.5 }, own(REFERENCE))!;
    expect(pointInPane(p, own(REFERENCE)).point!.x).toBeCloseTo(10.5, 9);
    expect(shapeToFrame(drawn, own({ ...REFERENCE, orientation: [0, 0, 1, 1, 0, 0] }))).toBeNull();
    expect(pointInPane(p, own({ ...REFERENCE, position: [-33.25, -33.25, 6] }))).toEqual({ point: null, reason: "not measured: this series' nearest slice is 2.0 mm away" });
  });

  it('reads grids and slice pairs from the series facts of the API', () => {
    const series = (id: string, spacing: number, z: number[], frameOfReferenceUid = '2.25.7004001') =>
      ({ id, rows: 96, columns: 96, spacing: [spacing, spacing, 2], orientation: [1, 0, 0, 0, 1, 0], positions: z.map((v) => [-33.25, -33.25, v]), frameOfReferenceUid }) as unknown as SeriesDetail;
    const low = series('low', 0.7, [0, 2, 4, 6]);
    const reference = series('ref', 0.9, [0, 4]);
    expect(sliceGrid(reference, 1)).toEqual({ rows: 96, columns: 96, pixelSpacing: [0.9, 0.9], orientation: [1, 0, 0, 0, 1, 0], position: [-33.25, -33.25, 4] });
    expect(pairAlongNormal(low, reference)!.nearest).toEqual([0, 0, 1, 1]);
    // A series of another frame of reference: the server's pairing (pairSlices, whole positions) stays.
    expect(pairAlongNormal(low, series('other', 0.9, [0, 4], '2.25.7004002'))).toBeNull();
    // One series is its own pairing: none needed.
    expect(pairAlongNormal(low, low)).toBeNull();
  });

  it('places shapes pixel for pixel in a pane the server paired by order, as the scores compare it, whatever its other frame\'s positions say', () => {
    const low = { id: 'low', rows: 96, columns: 96, spacing: [0.7, 0.7, 2], orientation: [1, 0, 0, 0, 1, 0], positions: [[-33.25, -33.25, 0]], frameOfReferenceUid: '2.25.1' } as unknown as SeriesDetail;
    const other = { ...low, id: 'other', positions: [[-28.25, -30.25, 0]], frameOfReferenceUid: '2.25.2' } as unknown as SeriesDetail;
    const ellipse = { kind: 'ellipse' as const, ellipse: { cx: 40, cy: 50, rx: 6, ry: 4 } };
    const byOrder = panePlacement(low, 0, other, 0, Infinity, 'order');
    expect(placeShape(ellipse, byOrder)).toEqual({ shape: ellipse, reason: null });
    expect(shapeToFrame(ellipse, byOrder)).toEqual(ellipse);
    const view = { scale: 2, translation: { x: -10, y: 6 } };
    expect(followView(view, { rows: 96, columns: 96, placement: panePlacement(low, 0, low, 0, Infinity, 'position') }, { rows: 96, columns: 96, placement: byOrder })).toEqual(view);
    // Paired by position, through patient coordinates: 5 / 3 mm are 7.14 / 4.29 pixels.
    const placed = placeShape(ellipse, panePlacement(low, 0, other, 0, Infinity, 'position'));
    expect(placed.shape).toMatchObject({ kind: 'ellipse', ellipse: { cx: expect.closeTo(40 - 5 / 0.7, 9), cy: expect.closeTo(50 - 3 / 0.7, 9) } });
    // Another matrix or pixel spacing paired by order has no pixel-for-pixel partner: not measured (and not scored).
    expect(placeShape(ellipse, panePlacement(low, 0, { ...other, spacing: [0.9, 0.9, 2] } as SeriesDetail, 0, Infinity, 'order')).reason).toBe('no-geometry');
  });
});

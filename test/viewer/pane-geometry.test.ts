/**
 * The viewer's panes through patient coordinates (viewer/src/pane-geometry.ts): zoom and pan that
 * show the same anatomy the same size at the same place in a pane of another pixel spacing and
 * field of view, shapes drawn in such a pane carried back to the low-dose pixels they are kept in,
 * and slices paired along the normal from the series facts the API gives.
 */
import { describe, expect, it } from 'vitest';
import type { SliceGrid } from '../../src/metrics/grid-mapping.js';
import { followView, pairAlongNormal, pointInPane, pointToFrame, shapeToFrame, sliceGrid, type PanePlacement } from '../../viewer/src/pane-geometry.js';
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
    const series = (id: string, spacing: number, z: number[]) =>
      ({ id, rows: 96, columns: 96, spacing: [spacing, spacing, 2], orientation: [1, 0, 0, 0, 1, 0], positions: z.map((v) => [-33.25, -33.25, v]) }) as unknown as SeriesDetail;
    const low = series('low', 0.7, [0, 2, 4, 6]);
    const reference = series('ref', 0.9, [0, 4]);
    expect(sliceGrid(reference, 1)).toEqual({ rows: 96, columns: 96, pixelSpacing: [0.9, 0.9], orientation: [1, 0, 0, 0, 1, 0], position: [-33.25, -33.25, 4] });
    expect(pairAlongNormal(low, reference)!.nearest).toEqual([0, 0, 1, 1]);
    // One series is its own pairing: none needed.
    expect(pairAlongNormal(low, low)).toBeNull();
  });
});

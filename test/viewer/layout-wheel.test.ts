/** Pane layouts (viewer/src/layout.ts) and wheel travel to slices (viewer/src/wheel.ts). */
import { describe, expect, it } from 'vitest';
import { gridFor, layoutById, nextLayout, slotsOf } from '../../viewer/src/layout.js';
import { WheelAccumulator } from '../../viewer/src/wheel.js';

const layout = (id: string) => layoutById(id)!;

describe('layouts', () => {
  it('shows as many panes as the layout has slots', () => {
    expect(slotsOf(layout('1x1'), 5)).toBe(1);
    expect(slotsOf(layout('1x2'), 5)).toBe(2);
    expect(slotsOf(layout('3x2'), 5)).toBe(5);
    expect(slotsOf(layout('row'), 5)).toBe(5);
  });

  it('fills the window: fixed grids shrink to the panes there are', () => {
    expect(gridFor(layout('2x2'), 4, 1000, 700)).toEqual({ columns: 2, rows: 2 });
    expect(gridFor(layout('2x2'), 2, 1000, 700)).toEqual({ columns: 2, rows: 1 });
    expect(gridFor(layout('3x2'), 5, 1600, 700)).toEqual({ columns: 3, rows: 2 });
    expect(gridFor(layout('row'), 5, 1000, 700)).toEqual({ columns: 5, rows: 1 });
  });

  it('auto picks the grid with the largest square cells for the window shape', () => {
    // Five panes in 1600 x 900: a row gives 320 px cells, 3 x 2 gives 450 px.
    expect(gridFor(layout('auto'), 5, 1600, 900)).toEqual({ columns: 3, rows: 2 });
    // Four in a wide, short window: one row.
    expect(gridFor(layout('auto'), 4, 1600, 500)).toEqual({ columns: 4, rows: 1 });
    // Four in 1000 x 700: 2 x 2.
    expect(gridFor(layout('auto'), 4, 1000, 700)).toEqual({ columns: 2, rows: 2 });
  });

  it('cycles through the layouts in toolbar order', () => {
    expect(nextLayout('auto').id).toBe('1x1');
    expect(nextLayout('row').id).toBe('auto');
    expect(nextLayout('auto', -1).id).toBe('row');
  });
});

describe('wheel travel', () => {
  it('moves one slice per mouse notch', () => {
    const wheel = new WheelAccumulator();
    expect([0, 300, 600].map((t) => wheel.slices(120, 0, t))).toEqual([1, 1, 1]);
    expect(wheel.slices(-120, 0, 900)).toBe(-1);
    expect(wheel.slices(3, 1, 1200)).toBe(1);
  });

  it('moves a trackpad flick of many small events by its distance, not its event count', () => {
    const wheel = new WheelAccumulator();
    // 40 events of 10 px, 8 ms apart: 400 px = the first slice, then one per 100 px after the first 100.
    const moved = Array.from({ length: 40 }, (_, k) => wheel.slices(10, 0, k * 8)).reduce((a, b) => a + b, 0);
    expect(moved).toBe(4);
    // Ten events of 4 px: one slice, not ten.
    const small = new WheelAccumulator();
    expect(Array.from({ length: 10 }, (_, k) => small.slices(4, 0, 1000 + k * 8)).reduce((a, b) => a + b, 0)).toBe(1);
  });
});

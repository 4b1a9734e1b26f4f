import { describe, expect, it } from 'vitest';
import { contrastToNoise, csvCell, lengthMm, regionStats, shapePixels, tableCsv } from '../../viewer/src/roi-stats.js';
import type { SliceValues } from '../../viewer/src/uptake.js';

/** A 10 x 8 slice whose value is 10 × column + row, at 0.5 mm rows and 2 mm columns. */
const slice: SliceValues = { rows: 8, columns: 10, value: (i) => 10 * (i % 10) + Math.floor(i / 10), pixelSpacing: [0.5, 2], location: 0 };

describe('ROI statistics for the measurement table', () => {
  it('takes the pixels whose centres lie in a rectangle, dragged either way', () => {
    const pixels = shapePixels(8, 10, { kind: 'rectangle', from: { x: 1, y: 2 }, to: { x: 4, y: 4 } });
    expect(pixels).toEqual([21, 22, 23, 31, 32, 33]);
    expect(shapePixels(8, 10, { kind: 'rectangle', from: { x: 4, y: 4 }, to: { x: 1, y: 2 } })).toEqual(pixels);
  });

  it('takes the pixels inside a freehand outline (a triangle) and none for a length', () => {
    const triangle = shapePixels(8, 10, { kind: 'freehand', points: [{ x: 0, y: 0 }, { x: 6, y: 0 }, { x: 0, y: 6 }] });
    // Centres (x + 0.5, y + 0.5) with x + y + 1 < 6: 5 + 4 + 3 + 2 + 1 pixels.
    expect(triangle.length).toBe(15);
    expect(triangle.every((i) => (i % 10) + Math.floor(i / 10) <= 4)).toBe(true);
    expect(shapePixels(8, 10, { kind: 'length', from: { x: 0, y: 0 }, to: { x: 5, y: 5 } })).toEqual([]);
  });

  it('gives mean, sample SD, min, max and area in mm² of the pixels in the ROI', () => {
    const stats = regionStats(slice, { kind: 'rectangle', from: { x: 1, y: 2 }, to: { x: 4, y: 4 } })!;
    const values = [12, 22, 32, 13, 23, 33];
    const mean = values.reduce((a, b) => a + b) / 6;
    expect(stats.mean).toBeCloseTo(mean, 12);
    expect(stats.sd).toBeCloseTo(Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / 5), 12);
    expect([stats.min, stats.max, stats.pixels, stats.areaMm2]).toEqual([12, 33, 6, 6]);
    expect(regionStats(slice, { kind: 'rectangle', from: { x: 1, y: 1 }, to: { x: 1.2, y: 1.2 } })).toBeNull();
  });

  it('measures lengths in mm with the row and column spacing, and CNR against the second ROI', () => {
    expect(lengthMm({ x: 0, y: 0 }, { x: 3, y: 8 }, [0.5, 2])).toBeCloseTo(Math.hypot(6, 4), 12);
    const a = { mean: 50, sd: 3, min: 0, max: 0, pixels: 9, areaMm2: 1 };
    expect(contrastToNoise(a, { ...a, mean: 40, sd: 4 })).toBe(2.5);
    expect(contrastToNoise(a, { ...a, sd: 0 })).toBeNull();
  });

  it('writes the table as CSV with quoted cells and a CNR block', () => {
    const stats = { mean: 1.5, sd: 0.25, min: 1, max: 2, pixels: 4, areaMm2: 8 };
    const csv = tableCsv(
      [
        { measurement: 'R1', kind: 'ellipse', pane: 'lowDose', slice: 2, units: 'SUV', stats, lengthMm: null },
        { measurement: 'L1', kind: 'length', pane: 'lowDose', slice: 2, units: 'mm', stats: null, lengthMm: 12.5 },
      ],
      [{ pane: 'lowDose', a: 'R1', b: 'R2', value: 3 }],
    );
    expect(csv).toBe(
      'measurement,kind,pane,slice,units,mean,sd,min,max,pixels,area_mm2,length_mm,note\nR1,ellipse,lowDose,2,SUV,1.5,0.25,1,2,4,8,,\nL1,length,lowDose,2,mm,,,,,,,12.5,\n\ncnr_of,against,pane,cnr\nR1,R2,lowDose,3\n',
    );
    expect(csvCell('a,"b"')).toBe('"a,""b"""');
  });
});

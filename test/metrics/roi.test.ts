import { describe, expect, it } from 'vitest';
import type { Image2D } from '../../src/image.js';
import { cnr, insertAccuracy, uniformNoise } from '../../src/metrics/contrast.js';
import { roiMask, roiStats } from '../../src/metrics/roi.js';
import { addNoise } from './synthetic.js';

function count(mask: Uint8Array): number {
  return mask.reduce((s, v) => s + v, 0);
}

/** A 200x200 phantom at 0.5 mm: water background with circular inserts of known HU. */
function insertPhantom(): { image: Image2D; inserts: { name: string; center: [number, number]; hu: number }[] } {
  const size = 200;
  const inserts = [
    { name: 'air', center: [60, 60] as [number, number], hu: -1000 },
    { name: 'polyethylene', center: [60, 140] as [number, number], hu: -95 },
    { name: 'acrylic', center: [140, 60] as [number, number], hu: 120 },
    { name: 'bone', center: [140, 140] as [number, number], hu: 955 },
  ];
  const data = new Float32Array(size * size);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      for (const insert of inserts) {
        if ((r - insert.center[0]) ** 2 + (c - insert.center[1]) ** 2 < 20 ** 2) data[r * size + c] = insert.hu;
      }
    }
  }
  return { image: { rows: size, columns: size, data, pixelSpacing: [0.5, 0.5] }, inserts };
}

describe('ROI masks', () => {
  it('draws circles, ellipses and rectangles in pixels with the expected areas', () => {
    expect(count(roiMask({ shape: 'circle', center: [50, 50], radius: 20 }, 100, 100))).toBe(1257); // Gauss circle count r=20
    expect(count(roiMask({ shape: 'rect', center: [50, 50], size: [10, 7] }, 100, 100))).toBe(70);
    const ellipse = roiMask({ shape: 'ellipse', center: [50, 50], radii: [30, 10] }, 100, 100);
    expect(Math.abs(count(ellipse) - Math.PI * 300) / (Math.PI * 300)).toBeLessThan(0.02);
    // Longer along rows before rotation: pixel (75, 50) inside, (50, 75) outside; rotated 90 degrees the reverse.
    expect(ellipse[75 * 100 + 50]).toBe(1);
    expect(ellipse[50 * 100 + 75]).toBe(0);
    const turned = roiMask({ shape: 'ellipse', center: [50, 50], radii: [30, 10], angle: 90 }, 100, 100);
    expect(turned[75 * 100 + 50]).toBe(0);
    expect(turned[50 * 100 + 75]).toBe(1);
  });

  it('takes millimetre coordinates through the pixel spacing', () => {
    // 0.5 mm rows, 0.25 mm columns: a 5 mm circle is an ellipse of 10 x 20 pixel radii.
    const mask = roiMask({ shape: 'circle', center: [25, 25], radius: 5, units: 'mm' }, 100, 200, [0.5, 0.25]);
    expect(Math.abs(count(mask) - Math.PI * 200) / (Math.PI * 200)).toBeLessThan(0.02);
    expect(mask[60 * 200 + 100]).toBe(1); // centre: row 50, column 100
    expect(mask[50 * 200 + 119]).toBe(1);
    expect(mask[50 * 200 + 121]).toBe(0);
    expect(() => roiMask({ shape: 'circle', center: [1, 1], radius: 1, units: 'mm' }, 10, 10)).toThrow(/pixelSpacing/);
  });

  it('clips ROIs at the image border and refuses one with no pixel', () => {
    const image = { rows: 10, columns: 10, data: new Float32Array(100).fill(3) };
    expect(roiStats(image, { shape: 'circle', center: [0, 0], radius: 2 }).count).toBe(6);
    expect(() => roiStats(image, { shape: 'circle', center: [-10, -10], radius: 2 })).toThrow(/no pixel/);
  });
});

describe('ROI statistics, CNR, HU accuracy and uniform-region noise', () => {
  it('computes mean, sample std, min, max and count', () => {
    const data = Float32Array.from({ length: 100 }, (_, i) => i);
    const stats = roiStats({ rows: 10, columns: 10, data }, { shape: 'rect', center: [1.5, 4.5], size: [2, 2] });
    // Rows 1..2, columns 4..5: 14, 15, 24, 25.
    expect({ ...stats, std: undefined }).toEqual({ mean: 19.5, std: undefined, min: 14, max: 25, count: 4 });
    expect(stats.std).toBeCloseTo(Math.sqrt((5.5 ** 2 * 2 + 4.5 ** 2 * 2) / 3), 12);
  });

  it('keeps the variance exact at -1000 HU offsets', () => {
    const data = Float32Array.from({ length: 10000 }, (_, i) => -1000 + (i % 2 === 0 ? 0.5 : -0.5));
    expect(roiStats({ rows: 100, columns: 100, data }, { shape: 'rect', center: [49.5, 49.5], size: [100, 100] }).std).toBeCloseTo(
      Math.sqrt(10000 / 9999) * 0.5,
      10,
    );
  });

  it('measures insert HU against nominal values and flags those out of tolerance', () => {
    const { image, inserts } = insertPhantom();
    addNoise(image, 8, 3);
    const results = insertAccuracy(
      image,
      inserts.map((insert) => ({
        name: insert.name,
        nominal: insert.name === 'bone' ? 850 : insert.hu, // bone off by 105 HU on purpose
        tolerance: 10,
        roi: { shape: 'circle', center: [insert.center[0] * 0.5, insert.center[1] * 0.5], radius: 6, units: 'mm' },
      })),
    );
    for (const result of results) {
      if (result.name === 'bone') {
        expect(Math.abs(result.error - 105)).toBeLessThan(2);
        expect(result.pass).toBe(false);
      } else {
        expect(Math.abs(result.error)).toBeLessThan(2);
        expect(result.pass).toBe(true);
      }
      expect(Math.abs(result.std - 8) / 8).toBeLessThan(0.15);
    }
  });

  it('gives CNR = contrast / background noise', () => {
    const { image } = insertPhantom();
    addNoise(image, 10, 4);
    const value = cnr(image, { shape: 'circle', center: [140, 60], radius: 12 }, { shape: 'rect', center: [100, 100], size: [30, 30] });
    expect(Math.abs(value - 12) / 12).toBeLessThan(0.1);
  });

  it('pools uniform-region noise by variance', () => {
    const size = 128;
    const data = new Float32Array(size * size);
    for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) data[r * size + c] = c < 64 ? 0 : 500;
    const image = addNoise({ rows: size, columns: size, data, pixelSpacing: [1, 1] }, 15, 5);
    const result = uniformNoise(image, [
      { shape: 'circle', center: [64, 30], radius: 15 },
      { shape: 'circle', center: [64, 98], radius: 15 },
    ]);
    expect(Math.abs(result.std - 15) / 15).toBeLessThan(0.06);
    expect(result.mean).toBeCloseTo(250, -1);
    expect(result.rois).toHaveLength(2);
  });
});

/**
 * The viewer's ROI readout numbers (viewer/src/uptake.ts), in node: an ellipse on one slice of a
 * synthetic PET stack; SUVpeak from the same search as `lesionStats` (src/metrics/lesions.ts).
 */
import { describe, expect, it } from 'vitest';
import { lesionStats, type PlacedImage } from '../../src/metrics/lesions.js';
import { ellipsePixels, ellipseUptake, formatUptake, type SliceValues } from '../../viewer/src/uptake.js';

const N = 48;
const SPACING: [number, number] = [2, 2];
const STEP = 3;
/** Slice k at z = 3k mm; background 1, a hot ball of radius 15 mm at (48, 48, 9) mm of 4, one voxel of 20. */
function value(r: number, c: number, k: number): number {
  if (r === 24 && c === 26 && k === 3) return 20;
  return Math.hypot(c * 2 - 48, r * 2 - 48, k * STEP - 9) <= 15 ? 4 : 1;
}
const slices = Array.from({ length: 7 }, (_, k): SliceValues & { location: number } => ({
  rows: N,
  columns: N,
  value: (i) => value(Math.floor(i / N), i % N, k),
  pixelSpacing: SPACING,
  location: k * STEP,
}));

describe('viewer ROI uptake', () => {
  const roi = { cx: 24.5, cy: 24.5, rx: 5, ry: 5 };

  it('gives mean, SD and max in the ellipse, like a pixel count of its inside', () => {
    const u = ellipseUptake(slices[3]!, roi, null)!;
    const inside = ellipsePixels(N, N, roi);
    expect(u.count).toBe(inside.length);
    expect(u.max).toBe(20);
    expect(u.mean).toBeCloseTo((4 * (inside.length - 1) + 20) / inside.length, 10);
    expect(u.peak).toBeNull();
    expect(u.areaMm2).toBe(inside.length * 4);
  });

  it('finds SUVpeak over the neighbouring slices: the best 1.2 cm sphere centred in the ellipse', () => {
    const u = ellipseUptake(slices[3]!, roi, slices)!;
    // Brute force over the whole stack: every pixel of the ellipse as a centre, every voxel within 6 mm.
    let best = -Infinity;
    for (const i of ellipsePixels(N, N, roi)) {
      const [r0, c0] = [Math.floor(i / N), i % N];
      let sum = 0;
      let n = 0;
      for (const s of slices) {
        for (let r = 0; r < N; r++) {
          for (let c = 0; c < N; c++) {
            if (Math.hypot((c - c0) * 2, (r - r0) * 2, s.location - 9) > 6) continue;
            sum += s.value(r * N + c);
            n++;
          }
        }
      }
      best = Math.max(best, sum / n);
    }
    expect(u.peak).toBeCloseTo(best, 10);
    // And lesionStats, whose candidates fill a ball across slices, finds a sphere at least as good.
    const placed: PlacedImage[] = slices.map((s) => ({
      rows: N,
      columns: N,
      data: Float32Array.from({ length: N * N }, (_, i) => s.value(i)),
      pixelSpacing: SPACING,
      position: [0, 0, s.location],
    }));
    expect(lesionStats(placed, { centre: [49, 49, 9], radius: 10 }).peak).toBeGreaterThanOrEqual(u.peak! - 1e-12);
    // One 20 in a sphere of 4s: above 4, far below the single-voxel max.
    expect(u.peak!).toBeGreaterThan(4);
    expect(u.peak!).toBeLessThan(u.max / 2);
    // Without neighbours the sphere shrinks to a disc in this slice: fewer voxels, a higher peak.
    const inPlane = ellipseUptake(slices[3]!, roi, [slices[3]!])!;
    expect(inPlane.peak!).toBeGreaterThan(u.peak!);
  });

  it('formats PET as SUVmean / SUVmax / SUVpeak and other modalities as mean ± SD', () => {
    const u = ellipseUptake(slices[3]!, roi, slices)!;
    expect(formatUptake(u, 'SUV', true)).toMatch(/^SUVmean \d+\.\d\d ± \d+\.\d\d · SUVmax 20\.00 · SUVpeak \d+\.\d\d$/);
    expect(formatUptake({ ...u, peak: null }, 'SUV', true, true)).toMatch(/SUVpeak …$/);
    expect(formatUptake({ ...u, mean: 41.23, std: 12.04 }, 'HU', false)).toBe('mean 41.2 ± 12.0 HU');
    expect(formatUptake(null, 'HU', false)).toBe('');
  });
});

/**
 * `ssimMap` is the map `ssim` averages: its finite entries, in index order, give `ssim`'s value
 * exactly (with a `valid` mask and with padding), each entry is the SSIM of that pixel's window,
 * and the pixels the mean does not count are NaN. Seeded synthetic CT-like images.
 */
import { describe, expect, it } from 'vitest';
import { gaussianKernel, ssim, ssimMap } from '../../src/metrics/ssim.js';
import { CT_RANGE } from '../../src/metrics/range.js';
import { Rng } from '../../src/util/random.js';

const rows = 40;
const columns = 36;
const count = rows * columns;

/** A disk of soft tissue in air, with independent noise in reference and test. */
function pair(seed: number): { reference: Float32Array; test: Float32Array } {
  const rng = new Rng(seed);
  const reference = new Float32Array(count);
  const test = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const r = Math.floor(i / columns);
    const c = i % columns;
    const inside = Math.hypot(r - rows / 2, c - columns / 2) < 12;
    const truth = inside ? 40 : -1000;
    reference[i] = truth + 15 * rng.normal();
    test[i] = truth + 30 * rng.normal();
  }
  return { reference, test };
}

const meanOfFinite = (map: Float64Array) => {
  let total = 0;
  let n = 0;
  for (const v of map) {
    if (Number.isNaN(v)) continue;
    total += v;
    n++;
  }
  return { mean: total / n, n };
};

describe('ssimMap', () => {
  const { reference, test } = pair(7);
  const ref = { rows, columns, data: reference };
  const out = { rows, columns, data: test };

  it('averages to ssim exactly, and is NaN on the 5-pixel border crop', () => {
    const map = ssimMap(ref, out, CT_RANGE);
    const { mean, n } = meanOfFinite(map);
    expect(mean).toBe(ssim(ref, out, CT_RANGE));
    expect(n).toBe((rows - 10) * (columns - 10));
    expect(map[4 * columns + 20]).toBeNaN();
    expect(map[5 * columns + 5]).not.toBeNaN();
  });

  it('averages to ssim exactly with a valid mask, NaN outside it', () => {
    const valid = Uint8Array.from({ length: count }, (_, i) => (i % columns < columns / 2 ? 1 : 0));
    const map = ssimMap(ref, out, CT_RANGE, { valid });
    expect(meanOfFinite(map).mean).toBe(ssim(ref, out, CT_RANGE, { valid }));
    expect(map[20 * columns + columns - 8]).toBeNaN();
  });

  it('averages to ssim exactly when either image has padding', () => {
    const padding = Uint8Array.from({ length: count }, (_, i) => (Math.floor(i / columns) < 12 && i % columns < 12 ? 1 : 0));
    const padded = { ...ref, padding };
    const map = ssimMap(padded, out, CT_RANGE);
    expect(meanOfFinite(map).mean).toBe(ssim(padded, out, CT_RANGE));
    expect(map[8 * columns + 8]).toBeNaN();
  });

  it("gives each pixel the SSIM of its own Gaussian window", () => {
    const map = ssimMap(ref, out, CT_RANGE);
    const k = gaussianKernel(1.5);
    const radius = (k.length - 1) / 2;
    const clip = (v: number) => Math.min(CT_RANGE[1], Math.max(CT_RANGE[0], v));
    const c1 = (0.01 * 2000) ** 2;
    const c2 = (0.03 * 2000) ** 2;
    // One pixel on the disk's edge, one in the air.
    for (const [r, c] of [[20, 6], [7, 30]] as const) {
      let ux = 0;
      let uy = 0;
      for (let dr = -radius; dr <= radius; dr++) {
        for (let dc = -radius; dc <= radius; dc++) {
          const w = k[dr + radius]! * k[dc + radius]!;
          const i = (r + dr) * columns + c + dc;
          ux += w * clip(reference[i]!);
          uy += w * clip(test[i]!);
        }
      }
      let vx = 0;
      let vy = 0;
      let vxy = 0;
      for (let dr = -radius; dr <= radius; dr++) {
        for (let dc = -radius; dc <= radius; dc++) {
          const w = k[dr + radius]! * k[dc + radius]!;
          const i = (r + dr) * columns + c + dc;
          vx += w * (clip(reference[i]!) - ux) ** 2;
          vy += w * (clip(test[i]!) - uy) ** 2;
          vxy += w * (clip(reference[i]!) - ux) * (clip(test[i]!) - uy);
        }
      }
      const expected = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
      expect(map[r * columns + c]).toBeCloseTo(expected, 9);
    }
  });
});

/**
 * Padding (pixels outside the scanned field) is left out of PSNR, SSIM and RMSE: the union of the
 * reference's and the test's masks (docs/metrics.md, "Valid pixels"). Checked on the real CT crops
 * of test/data/metrics with a circular field of view imposed, against direct computations.
 */
import { describe, expect, it } from 'vitest';
import { compareSlices } from '../../src/metrics/compare.js';
import { paddingUnion } from '../../src/metrics/pixels.js';
import { psnr } from '../../src/metrics/psnr.js';
import { CT_RANGE } from '../../src/metrics/range.js';
import { rmse } from '../../src/metrics/rmse.js';
import { gaussianKernel, ssim } from '../../src/metrics/ssim.js';
import { readRaw, referencePairs } from './reference-data.js';

const pair = referencePairs().find((p) => p.name.startsWith('ct-') && p.name.endsWith('-noise'))!;
const count = pair.rows * pair.columns;
const { rows, columns } = pair;
const reference = Float32Array.from(readRaw(pair.reference, pair.dtype, count));
const test = Float32Array.from(readRaw(pair.test, pair.dtype, count));

/** 1 outside a circle of `radius` px about the centre: a field of view like GE's padding. */
function outsideCircle(radius: number): Uint8Array {
  return Uint8Array.from({ length: count }, (_, i) => {
    const r = Math.floor(i / columns);
    const c = i % columns;
    return Math.hypot(r - (rows - 1) / 2, c - (columns - 1) / 2) > radius ? 1 : 0;
  });
}

const padded = (data: Float32Array, mask: Uint8Array, value: number) => Float32Array.from(data, (v, i) => (mask[i] ? value : v));

/**
 * SSIM straight from the definition of docs/metrics.md, window by window: Gaussian weights over
 * the image (not padding) pixels of each 11x11 window, renormalised; mean over the counted pixels
 * of the image less a 5-pixel border.
 */
function directMaskedSsim(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  counted: ArrayLike<number>,
  range: readonly [number, number],
  image: ArrayLike<number> = counted,
): number {
  const clip = (v: number) => Math.min(range[1], Math.max(range[0], v));
  const k = gaussianKernel(1.5);
  const radius = (k.length - 1) / 2;
  const c1 = (0.01 * (range[1] - range[0])) ** 2;
  const c2 = (0.03 * (range[1] - range[0])) ** 2;
  let total = 0;
  let n = 0;
  for (let r = radius; r < rows - radius; r++) {
    for (let c = radius; c < columns - radius; c++) {
      if (!counted[r * columns + c]) continue;
      let w = 0;
      let sx = 0;
      let sy = 0;
      for (let dr = -radius; dr <= radius; dr++) {
        for (let dc = -radius; dc <= radius; dc++) {
          const i = (r + dr) * columns + c + dc;
          if (!image[i]) continue;
          const weight = k[dr + radius]! * k[dc + radius]!;
          w += weight;
          sx += weight * clip(x[i]!);
          sy += weight * clip(y[i]!);
        }
      }
      const ux = sx / w;
      const uy = sy / w;
      let vx = 0;
      let vy = 0;
      let vxy = 0;
      for (let dr = -radius; dr <= radius; dr++) {
        for (let dc = -radius; dc <= radius; dc++) {
          const i = (r + dr) * columns + c + dc;
          if (!image[i]) continue;
          const weight = k[dr + radius]! * k[dc + radius]!;
          vx += weight * (clip(x[i]!) - ux) ** 2;
          vy += weight * (clip(y[i]!) - uy) ** 2;
          vxy += weight * (clip(x[i]!) - ux) * (clip(y[i]!) - uy);
        }
      }
      total += ((2 * ux * uy + c1) * ((2 * vxy) / w + c2)) / ((ux * ux + uy * uy + c1) * (vx / w + vy / w + c2));
      n++;
    }
  }
  return total / n;
}

describe('metrics leave padding out', () => {
  const mask = outsideCircle(0.45 * rows);
  const ref = { rows, columns, data: padded(reference, mask, -3024), padding: mask };

  it('scores only the valid pixels: what lies under the padding does not matter', () => {
    const a = compareSlices(ref, { rows, columns, data: padded(test, mask, -3024), padding: mask }, CT_RANGE);
    // The denoiser of old wrote about -1100 HU there and no mask: the reference's mask still rules.
    const b = compareSlices(ref, { rows, columns, data: padded(test, mask, -1100) }, CT_RANGE);
    expect(b).toEqual(a);

    let sum = 0;
    let n = 0;
    let clippedSum = 0;
    for (let i = 0; i < count; i++) {
      if (mask[i]) continue;
      sum += (reference[i]! - test[i]!) ** 2;
      const clip = (v: number) => Math.min(1000, Math.max(-1000, v));
      clippedSum += (clip(reference[i]!) - clip(test[i]!)) ** 2;
      n++;
    }
    expect(a.rmse).toBeCloseTo(Math.sqrt(sum / n), 9);
    expect(a.psnr).toBeCloseTo(10 * Math.log10(2000 ** 2 / (clippedSum / n)), 9);
    expect(rmse(ref, { rows, columns, data: test })).toBeCloseTo(a.rmse, 9);
    expect(psnr(ref, { rows, columns, data: test }, CT_RANGE)).toBeCloseTo(a.psnr, 9);
  });

  it('computes SSIM by normalised convolution over the valid pixels, as its definition says', () => {
    const value = ssim(ref, { rows, columns, data: test }, CT_RANGE);
    expect(value).toBeCloseTo(directMaskedSsim(reference, test, Uint8Array.from(mask, (m) => 1 - m), CT_RANGE), 10);
    // Without a mask the -3024 HU ring would count as perfectly matching air.
    const unmasked = ssim({ rows, columns, data: ref.data }, { rows, columns, data: padded(test, mask, -3024) }, CT_RANGE);
    expect(unmasked).toBeGreaterThan(value + 0.01);
  });

  it('takes the union of the two masks, and gives the unmasked numbers when neither has padding', () => {
    const other = outsideCircle(0.4 * rows);
    const union = paddingUnion(ref, { rows, columns, data: test, padding: other })!;
    expect(union.filter((v, i) => v !== (mask[i] || other[i] ? 1 : 0)).length).toBe(0);
    const both = compareSlices(ref, { rows, columns, data: test, padding: other }, CT_RANGE);
    const inner = compareSlices({ rows, columns, data: reference, padding: other }, { rows, columns, data: test }, CT_RANGE);
    expect(both).toEqual(inner);

    expect(paddingUnion({ rows, columns, data: reference, padding: new Uint8Array(count) }, { rows, columns, data: test })).toBeNull();
    const plain = compareSlices({ rows, columns, data: reference }, { rows, columns, data: test }, CT_RANGE);
    expect(plain.psnr).toBeCloseTo(pair.psnr, 9);
    expect(plain.ssim).toBeCloseTo(pair.ssim, 9);
    expect(compareSlices({ rows, columns, data: reference, padding: new Uint8Array(count) }, { rows, columns, data: test }, CT_RANGE)).toEqual(plain);
  });

  it('refuses a pair with no valid pixel', () => {
    const all = new Uint8Array(count).fill(1);
    expect(() => compareSlices({ rows, columns, data: reference, padding: all }, { rows, columns, data: test }, CT_RANGE)).toThrow(/no valid pixel/);
  });

  it('counts the pixels of a caller\'s valid mask that are not padding; SSIM windows still see masked image pixels', () => {
    const roi = Uint8Array.from(outsideCircle(0.3 * rows), (v) => 1 - v);
    const t = { rows, columns, data: test };
    // The ROI lies inside the field of view: the padding only changes what the SSIM windows see.
    const withPadding = compareSlices(ref, t, CT_RANGE, roi);
    const plain = compareSlices({ rows, columns, data: reference }, t, CT_RANGE, roi);
    expect(withPadding.rmse).toBeCloseTo(plain.rmse, 12);
    expect(withPadding.psnr).toBeCloseTo(plain.psnr, 12);
    expect(withPadding.ssim).toBeCloseTo(plain.ssim, 12);
    // A ROI reaching past the field of view counts only its part inside.
    const big = Uint8Array.from(outsideCircle(0.6 * rows), (v) => 1 - v);
    const inField = Uint8Array.from(big, (v, i) => (v && !mask[i] ? 1 : 0));
    expect(compareSlices(ref, t, CT_RANGE, big).rmse).toBeCloseTo(compareSlices({ rows, columns, data: reference }, t, CT_RANGE, inField).rmse, 12);
    expect(compareSlices(ref, t, CT_RANGE, big).ssim).toBeCloseTo(directMaskedSsim(reference, test, inField, CT_RANGE, Uint8Array.from(mask, (m) => 1 - m)), 10);
  });
});

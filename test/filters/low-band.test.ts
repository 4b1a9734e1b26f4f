import { describe, expect, it } from 'vitest';
import { gaussianSmooth } from '../../src/filters/gaussian.js';
import { resolveLowBand, smoothLowBand } from '../../src/filters/low-band.js';
import { Rng } from '../../src/util/random.js';

const N = 192;

/** Noise with most of its power at periods of tens of pixels (what lowdose-ct leaves), SD `sd`. */
function slowNoise(rng: Rng, sd: number): Float32Array {
  const white = Float32Array.from({ length: N * N }, () => rng.normal());
  const slow = gaussianSmooth(white, N, N, 3, 3);
  return scaleToSd(slow, sd);
}

function fineNoise(rng: Rng, sd: number): Float32Array {
  return Float32Array.from({ length: N * N }, () => sd * rng.normal());
}

function scaleToSd(values: Float32Array, sd: number): Float32Array {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const s = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  return values.map((v) => ((v - mean) * sd) / s);
}

function sdOf(values: ArrayLike<number>, pick: (i: number) => boolean = () => true): number {
  let n = 0;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < values.length; i++) {
    if (!pick(i)) continue;
    n++;
    sum += values[i]!;
    sq += values[i]! ** 2;
  }
  return Math.sqrt(sq / n - (sum / n) ** 2);
}

const add = (...images: ArrayLike<number>[]) => Float32Array.from({ length: N * N }, (_, i) => images.reduce((s, im) => s + im[i]!, 0));
const lowPass = (v: Float32Array) => gaussianSmooth(v, N, N, 4, 4);
const highPass = (v: Float32Array) => {
  const low = gaussianSmooth(v, N, N, 2, 2);
  return v.map((x, i) => x - low[i]!);
};
/** Away from the image border, where the reflected edge makes the band estimate less certain. */
const inner = (margin: number) => (i: number) => {
  const y = Math.floor(i / N);
  const x = i % N;
  return y >= margin && y < N - margin && x >= margin && x < N - margin;
};

describe('smoothLowBand', () => {
  it('halves the slow noise of a flat seeded field at strength 2 and leaves the fine noise as it was', () => {
    const rng = new Rng(140);
    const slow = slowNoise(rng, 6);
    const fine = fineNoise(rng, 10);
    const image = add(slow, fine, new Float32Array(N * N).fill(40));
    const { data, noiseStd } = smoothLowBand(image, N, N, { strength: 2 });
    expect(noiseStd).toBeGreaterThan(2);
    const before = sdOf(lowPass(image), inner(16));
    const after = sdOf(lowPass(data), inner(16));
    expect(after).toBeLessThan(0.55 * before);
    // The change is slow: its fine part is a small fraction of the fine noise the image keeps.
    const change = data.map((v, i) => v - image[i]!);
    expect(sdOf(highPass(change), inner(16))).toBeLessThan(0.1 * sdOf(highPass(image), inner(16)));
    // The mean level stays.
    const mean = (v: Float32Array) => v.reduce((a, b) => a + b, 0) / v.length;
    expect(Math.abs(mean(data) - mean(image))).toBeLessThan(1);
  });

  it('keeps a 200 HU step edge where it is, unblurred', () => {
    const rng = new Rng(141);
    const edge = Float32Array.from({ length: N * N }, (_, i) => (i % N < N / 2 ? 0 : 200));
    const image = add(edge, slowNoise(rng, 6), fineNoise(rng, 10));
    const { data } = smoothLowBand(image, N, N, { strength: 1 });
    // Column means over the rows: the edge profile of the output against the noise-free one.
    for (let x = N / 2 - 6; x < N / 2 + 6; x++) {
      let sum = 0;
      for (let y = 0; y < N; y++) sum += data[y * N + x]!;
      expect(Math.abs(sum / N - edge[x]!)).toBeLessThan(8);
    }
  });

  it('keeps the mean of a 30 px disc of 30 HU contrast within 10 %', () => {
    const rng = new Rng(142);
    const inDisc = (i: number, r = 15) => (Math.floor(i / N) - N / 2) ** 2 + ((i % N) - N / 2) ** 2 <= r * r;
    const disc = Float32Array.from({ length: N * N }, (_, i) => (inDisc(i) ? 70 : 40));
    const slow = slowNoise(rng, 6);
    const fine = fineNoise(rng, 10);
    const image = add(disc, slow, fine);
    const { data } = smoothLowBand(image, N, N, { strength: 1 });
    const ring = (i: number) => !inDisc(i, 20) && inDisc(i, 32);
    const mean = (v: Float32Array, pick: (i: number) => boolean) => {
      let s = 0;
      let n = 0;
      for (let i = 0; i < v.length; i++) {
        if (!pick(i)) continue;
        s += v[i]!;
        n++;
      }
      return s / n;
    };
    const contrast = mean(data, (i) => inDisc(i, 10)) - mean(data, ring);
    const truthContrast = 30 + mean(slow, (i) => inDisc(i, 10)) - mean(slow, ring);
    // The disc is kept, and the slow noise on it is not (the noise-free contrast is 30 HU).
    expect(Math.abs(contrast - 30)).toBeLessThan(3);
    expect(Math.abs(contrast - 30)).toBeLessThanOrEqual(Math.abs(truthContrast - 30) + 1);
  });

  it('passes padding through bit for bit and keeps it out of the band', () => {
    const rng = new Rng(143);
    const padding = Uint8Array.from({ length: N * N }, (_, i) => (i % N < 24 ? 1 : 0));
    const image = add(slowNoise(rng, 6), fineNoise(rng, 10), new Float32Array(N * N).fill(40));
    for (let i = 0; i < image.length; i++) if (padding[i]) image[i] = -3024;
    const { data } = smoothLowBand(image, N, N, { strength: 1, keep: padding });
    for (let i = 0; i < image.length; i++) if (padding[i]) expect(data[i]).toBe(image[i]);
    // Next to the padding the tissue is not pulled towards -3024 HU.
    let worst = 0;
    for (let i = 0; i < image.length; i++) if (!padding[i]) worst = Math.max(worst, Math.abs(data[i]! - image[i]!));
    expect(worst).toBeLessThan(25);
    // Without the mask the padded pixels would move with the band.
    const unmasked = smoothLowBand(image, N, N, { strength: 1 }).data;
    let changed = 0;
    for (let i = 0; i < image.length; i++) if (padding[i] && unmasked[i] !== image[i]) changed++;
    expect(changed).toBeGreaterThan(0);
  });

  it('returns the image unchanged at strength 0, and the card setting resolves to off', () => {
    const image = fineNoise(new Rng(144), 10);
    expect(smoothLowBand(image, N, N, { strength: 0 }).data).toEqual(image);
    expect(resolveLowBand(undefined)).toBeNull();
    expect(resolveLowBand({ strength: 0 }, undefined)).toBeNull();
    expect(resolveLowBand({ strength: 0, factor: 8, filter: 'bilateral' }, 1.5)).toEqual({ strength: 1.5, factor: 8, filter: 'bilateral' });
    expect(resolveLowBand({ strength: 2 }, 0)).toBeNull();
    expect(() => resolveLowBand(undefined, -1)).toThrow(/--low-band/);
  });
});

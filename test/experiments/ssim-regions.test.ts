/**
 * The region split of scripts/experiments/ssim-regions.ts: each pixel of a synthetic CT slice
 * (a body with a lung and a bone, a table slab below it, air around) gets the region its full-dose
 * value and the patient outline say, and a mean SSIM splits over regions with nothing left over.
 */
import { describe, expect, it } from 'vitest';
import type { Image2D } from '../../src/image.js';
import { patientOutline } from '../../src/metrics/patient-outline.js';
import { ssimMap } from '../../src/metrics/ssim.js';
import { Rng } from '../../src/util/random.js';
import { contributions, regionLabels, REGIONS, signedContributions, splitByRegion, type Region } from '../../scripts/experiments/ssim-regions-common.js';

const rows = 112;
const columns = 96;

/** Body (40 HU, radius 30 px) with a lung (-850 HU) and a bone (700 HU); a -920 HU table below; 1 mm pixels. */
function phantom(seed: number, noise: number): Image2D {
  const rng = new Rng(seed);
  const data = new Float32Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      let v = -1000;
      if (Math.hypot(r - 45, c - 48) < 30) v = 40;
      if (Math.hypot(r - 40, c - 36) < 8) v = -850;
      if (Math.hypot(r - 50, c - 60) < 6) v = 700;
      if (r >= 90 && r < 100 && c >= 10 && c < 86) v = -920;
      data[r * columns + c] = v + noise * rng.normal();
    }
  }
  return { rows, columns, data, pixelSpacing: [1, 1] };
}

const at = (labels: Uint8Array, r: number, c: number): Region => REGIONS[labels[r * columns + c]!]!;

describe('regionLabels', () => {
  const full = phantom(3, 10);
  const outline = patientOutline(full);
  const labels = regionLabels(full, outline);

  it('puts each part of the slice in its region', () => {
    expect(at(labels, 5, 5)).toBe('air');
    expect(at(labels, 95, 48)).toBe('table');
    expect(at(labels, 40, 36)).toBe('lung');
    expect(at(labels, 50, 60)).toBe('bone');
    expect(at(labels, 30, 52)).toBe('soft');
    // Just outside the bone: soft tissue where the full dose changes fast.
    expect(at(labels, 50, 67)).toBe('edges');
  });

  it('takes a band of 5 mm either side of the outline as skin', () => {
    // The body's edge on row 45 lies at column 18 (centre 48, radius 30).
    for (const c of [14, 18, 22]) expect(at(labels, 45, c)).toBe('skin');
    expect(at(labels, 45, 11)).toBe('air');
    expect(at(labels, 45, 25)).toBe('soft');
  });
});

describe('splitByRegion', () => {
  const slices = [0, 1].map((k) => {
    const reference = phantom(10 + k, 10);
    const labels = regionLabels(reference, patientOutline(reference));
    const valid = Uint8Array.from({ length: rows * columns }, (_, i) => (k === 1 && i % columns < 8 ? 0 : 1));
    const map = (seed: number, noise: number) => ssimMap(reference, phantom(seed, noise), [-1000, 1000], { valid });
    return { labels, a: map(20 + k, 5), b: map(30 + k, 20) };
  });
  const maps = { a: slices.map((s) => s.a), b: slices.map((s) => s.b) };
  const labels = slices.map((s) => s.labels);
  const split = splitByRegion(maps, labels);

  it('gives each method the mean over slices of its slice means', () => {
    const sliceMean = (m: Float64Array) => {
      const v = [...m].filter((x) => !Number.isNaN(x));
      return v.reduce((p, q) => p + q, 0) / v.length;
    };
    expect(split.total['a']).toBeCloseTo((sliceMean(maps.a[0]!) + sliceMean(maps.a[1]!)) / 2, 12);
    expect(REGIONS.reduce((s, r) => s + split.share[r], 0)).toBeCloseTo(1, 12);
  });

  it('splits a difference of means into contributions that sum to it', () => {
    const c = contributions(split, 'a', 'b');
    const sum = REGIONS.reduce((s, r) => s + c[r], 0);
    expect(sum).toBeCloseTo(split.total['a']! - split.total['b']!, 12);
    expect(split.total['a']! - split.total['b']!).toBeGreaterThan(0);
  });

  it('splits each contribution into the pixels below and above', () => {
    const c = contributions(split, 'a', 'b');
    const s = signedContributions(maps.a, maps.b, labels);
    for (const r of REGIONS) {
      expect(s[r].below + s[r].above).toBeCloseTo(c[r], 12);
      expect(s[r].below).toBeLessThanOrEqual(0);
      expect(s[r].belowShare).toBeGreaterThanOrEqual(0);
      expect(s[r].belowShare).toBeLessThanOrEqual(1);
    }
  });

  it('refuses maps that count different pixels', () => {
    const shifted = Float64Array.from(maps.b[0]!, (v, i) => (i === 20 * columns + 20 ? NaN : v));
    expect(() => splitByRegion({ a: maps.a, b: [shifted, maps.b[1]!] }, labels)).toThrow(/counts other pixels/);
  });
});

import { describe, expect, it } from 'vitest';
import { spreadWindow } from '../../src/dicom/sigma-window.js';
import { kthSmallest } from '../../src/util/select.js';
import { Rng } from '../../src/util/random.js';

describe('kthSmallest', () => {
  it('gives the value a sort puts at k, for every k, on random, sorted, reversed and tied values', () => {
    const rng = new Rng(20261206);
    const cases: Float32Array[] = [
      Float32Array.from({ length: 257 }, () => rng.normal()),
      Float32Array.from({ length: 200 }, (_, i) => i),
      Float32Array.from({ length: 200 }, (_, i) => -i),
      Float32Array.from({ length: 301 }, () => rng.int(4)),
      new Float32Array(50).fill(3),
      Float32Array.of(7),
    ];
    for (const values of cases) {
      const sorted = Float32Array.from(values).sort();
      for (let k = 0; k < values.length; k++) expect(kthSmallest(Float32Array.from(values), k)).toBe(sorted[k]);
    }
  });

  it('refuses a k outside the values', () => {
    expect(() => kthSmallest(new Float32Array(3), 3)).toThrow(RangeError);
    expect(() => kthSmallest(new Float32Array(3), -1)).toThrow(RangeError);
    expect(() => kthSmallest(new Float32Array(0), 0)).toThrow(RangeError);
  });

  it('gives the raw spread window the sorted 99th percentile of the unpadded finite pixels', () => {
    const rng = new Rng(7);
    const values = Float32Array.from({ length: 10_000 }, () => Math.abs(rng.normal()) * 5);
    values[3] = NaN;
    const padding = new Uint8Array(values.length);
    for (let i = 0; i < 500; i++) padding[i * 20] = 1;
    const kept = values.filter((v, i) => Number.isFinite(v) && !padding[i]).sort();
    const p99 = kept[Math.floor(0.99 * kept.length)]!;
    expect(spreadWindow(values, padding, 'HU').hi).toBe(Number(p99.toPrecision(3)));
  });
});

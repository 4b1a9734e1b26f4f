import { describe, expect, test } from 'vitest';
import { sliceOf, type Image2D } from '../../src/image.js';
import { generateIec, iecAttenuation, iecGeometry } from '../../src/phantoms/iec.js';
import { bodyOutline, simulatePet } from '../../src/simulate/index.js';
import { circleStats, sameBytes } from './helpers.js';

// The sphere plane of the IEC body phantom, 128 x 128 pixels of 2.7 mm, 3 mm slice.
const options = { size: 128, slices: 1, spacing: 3 };
const iec = sliceOf(generateIec(options).volume, 0);
const mu = iecAttenuation(options)[0]!;
const geometry = iecGeometry(options);
const largeSpheres = geometry.spheres.filter((s) => s.diameter >= 28);

/** Mean over the inner 60 % of a sphere's radius, relative to its true activity. */
const recovery = (image: Image2D, sphere: (typeof largeSpheres)[number]) =>
  circleStats(image, sphere.centre[0], sphere.centre[1], 0.6 * (sphere.diameter / 2)).mean / sphere.activityBqml;

describe('PET reduced-count simulation (IEC body phantom)', () => {
  test('large spheres (28, 37 mm) reconstruct unbiased within 5 % at full counts, in Bq/ml', () => {
    // A 20-minute frame: full counts with little enough noise that the mean shows the bias.
    for (const seed of [1, 2]) {
      const { fullDose, lowDose } = simulatePet(iec, { countsFraction: 1, seed, muMapPerCm: mu, frameDurationS: 1200 });
      expect(fullDose).toBe(lowDose);
      for (const sphere of largeSpheres) {
        expect(Math.abs(recovery(fullDose!, sphere) - 1)).toBeLessThan(0.05);
      }
      const background = circleStats(fullDose!, geometry.backgroundRois[0]![0], geometry.backgroundRois[0]![1], 15);
      expect(Math.abs(background.mean / geometry.backgroundBqml - 1)).toBeLessThan(0.05);
    }
  });

  test('noise grows at lower counts roughly as 1/sqrt(counts) while the background mean stays', () => {
    const [bx, by] = geometry.backgroundRois[0]!;
    const cov = (image: Image2D) => {
      const s = circleStats(image, bx, by, 15);
      return s.std / s.mean;
    };
    const result = simulatePet(iec, { countsFraction: 0.1, seed: 3, muMapPerCm: mu });
    const full = cov(result.fullDose!);
    const low = cov(result.lowDose);
    // OSEM noise is not exactly Poisson-scaled; sqrt(10) = 3.16.
    expect(low / full).toBeGreaterThan(2);
    expect(low / full).toBeLessThan(4.5);
    expect(result.trueCountsFull).toBeGreaterThan(1e5);
    expect(result.promptsLow).toBeLessThan(0.2 * result.trueCountsFull / (1 - 0.3));
    const mean = circleStats(result.lowDose, bx, by, 15).mean;
    expect(Math.abs(mean / geometry.backgroundBqml - 1)).toBeLessThan(0.25);
  });

  test('is deterministic per seed and slice index', () => {
    const a = simulatePet(iec, { countsFraction: 0.25, seed: 5, fullDose: false, iterations: 1 });
    const b = simulatePet(iec, { countsFraction: 0.25, seed: 5, fullDose: false, iterations: 1 });
    const c = simulatePet(iec, { countsFraction: 0.25, seed: 6, fullDose: false, iterations: 1 });
    const d = simulatePet(iec, { countsFraction: 0.25, seed: 5, sliceIndex: 2, fullDose: false, iterations: 1 });
    expect(sameBytes(a.lowDose.data, b.lowDose.data)).toBe(true);
    expect(sameBytes(a.lowDose.data, c.lowDose.data)).toBe(false);
    expect(sameBytes(a.lowDose.data, d.lowDose.data)).toBe(false);
    expect(a.fullDose).toBeNull();
  });

  test('the body-outline attenuation map covers the phantom and fills the cold lung insert', () => {
    const mask = bodyOutline(iec.data, iec.rows, iec.columns);
    const at = (x: number, y: number) => {
      const j = Math.round(x / iec.pixelSpacing[1] + (iec.columns - 1) / 2);
      const i = Math.round(y / iec.pixelSpacing[0] + (iec.rows - 1) / 2);
      return mask[i * iec.columns + j];
    };
    expect(at(0, 0)).toBe(1); // lung insert: no activity, but inside the body
    expect(at(0, -110)).toBe(1);
    expect(at(170, 170)).toBe(0);
    // Without a given map the simulation still reconstructs the background unbiased-ish.
    const r = simulatePet(iec, { countsFraction: 1, seed: 7, frameDurationS: 1200 });
    const [bx, by] = geometry.backgroundRois[0]!;
    expect(Math.abs(circleStats(r.lowDose, bx, by, 15).mean / geometry.backgroundBqml - 1)).toBeLessThan(0.05);
  });

  test('rejects a counts fraction outside (0, 1]', () => {
    expect(() => simulatePet(iec, { countsFraction: 0 })).toThrow(/countsFraction/);
    expect(() => simulatePet(iec, { countsFraction: 2 })).toThrow(/countsFraction/);
  });
});

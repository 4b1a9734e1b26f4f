/**
 * The consistency step's two count-keeping stages (src/diffusion/consistency.ts): the measurement's
 * mean restored at large scales (`largeScale`) and values below 0 set to 0 with their counts taken
 * from around them (`nonNegative`). Seeded synthetic PET-like images: a warm body with a hot disc
 * in air, a measurement with Poisson-like noise, and an estimate standing in for a network that
 * lifted the body and dipped below 0 in the air around it.
 */
import { describe, expect, it } from 'vitest';
import {
  consistencyInPixels,
  consistencyStep,
  describeConsistency,
  nonNegativeKeepingCounts,
  resolveConsistency,
  restoreLargeScale,
  type ConsistencyConfig,
} from '../../src/diffusion/consistency.js';
import { LowdoseError } from '../../src/errors.js';
import { parseModelCard } from '../../src/models/card.js';
import { Rng } from '../../src/util/random.js';

const N = 96;
const BODY = 36;
const DISC = 8;
const at = (i: number) => ({ x: (i % N) - N / 2, y: Math.floor(i / N) - N / 2 });
const inBody = (i: number) => at(i).x ** 2 + at(i).y ** 2 <= BODY * BODY;
const inDisc = (i: number) => (at(i).x - 12) ** 2 + at(i).y ** 2 <= DISC * DISC;
/** Air 0, body 1, a disc of 4 inside it. */
const truth = Float32Array.from({ length: N * N }, (_, i) => (inDisc(i) ? 4 : inBody(i) ? 1 : 0));
const rng = new Rng(2024);
const measurement = truth.map((v) => Math.max(0, v + 0.3 * Math.sqrt(v + 0.01) * rng.normal()));
/** A 3 px ring just outside the body's edge. */
const inRing = (i: number) => !inBody(i) && at(i).x ** 2 + at(i).y ** 2 <= (BODY + 3) ** 2;
/** A network-like estimate: the body 6 % high, the disc 10 % low, an undershoot to -0.05 in the ring outside the body, the air 0. */
const estimate = truth.map((v, i) => (inDisc(i) ? 3.6 : inBody(i) ? 1.06 : inRing(i) ? -0.05 : 0));

const sum = (image: Float32Array, where: (i: number) => boolean = () => true) => {
  let s = 0;
  for (let i = 0; i < image.length; i++) if (where(i)) s += image[i]!;
  return s;
};
const mean = (image: Float32Array, where: (i: number) => boolean) => sum(image, where) / sum(new Float32Array(image.length).fill(1), where);
const bodyAwayFromDisc = (i: number) => inBody(i) && !inDisc(i) && (at(i).x - 12) ** 2 + at(i).y ** 2 > (DISC + 6) ** 2 && at(i).x ** 2 + at(i).y ** 2 < (BODY - 4) ** 2;

describe('nonNegative: values below 0 set to 0, their counts taken from around them', () => {
  const spread = { spreadRows: 2, spreadColumns: 2 };

  it('leaves no value below 0 and keeps the total where the negative values have positive ones around them', () => {
    const z = Float32Array.from(estimate);
    expect(z.some((v) => v < 0)).toBe(true);
    nonNegativeKeepingCounts(z, N, N, spread);
    expect(Math.min(...z)).toBeGreaterThanOrEqual(0);
    expect(sum(z)).toBeCloseTo(sum(estimate), 2);
    // A clamp alone would add every negative value's counts.
    const clamped = estimate.map((v) => Math.max(v, 0));
    expect(sum(clamped) - sum(estimate)).toBeGreaterThan(10);
  });

  it('in air with almost nothing positive around, a pixel gives at most what it holds: never below 0, and the total rises by less than a clamp adds', () => {
    const air = Float32Array.from({ length: N * N }, (_, i) => 0.01 * Math.sin(i / 3));
    const z = Float32Array.from(air);
    nonNegativeKeepingCounts(z, N, N, spread);
    expect(Math.min(...z)).toBeGreaterThanOrEqual(0);
    const clamped = air.map((v) => Math.max(v, 0));
    expect(sum(z)).toBeLessThan(sum(clamped));
    expect(sum(z)).toBeGreaterThanOrEqual(sum(air) - 1e-3);
  });

  it('takes the counts from the positive pixels near a negative one only: the body and the disc stay as they were', () => {
    const z = Float32Array.from(estimate);
    nonNegativeKeepingCounts(z, N, N, spread);
    // The separable kernel reaches 3 sigma = 6 px along each axis, 8.5 px diagonally: pixels 9 px inside the body see no negative value.
    for (let i = 0; i < N * N; i++) if (at(i).x ** 2 + at(i).y ** 2 < (BODY - 9) ** 2) expect(z[i]).toBe(estimate[i]);
    // No pixel gains: the negative ones go up to 0, the others keep or give.
    for (let i = 0; i < N * N; i++) if (estimate[i]! >= 0) expect(z[i]!).toBeLessThanOrEqual(estimate[i]!);
  });

  it('returns an image without negative values bit for bit', () => {
    const z = Float32Array.from(truth);
    nonNegativeKeepingCounts(z, N, N, spread);
    expect(z).toEqual(truth);
  });
});

describe('largeScale: the measurement mean restored from a large scale up', () => {
  const wide = { sigmaRows: 8, sigmaColumns: 8, passes: 1 };

  it("takes the body's lift back towards the measurement's mean, more with more passes, and moves the disc towards its truth", () => {
    const lift = (image: Float32Array) => mean(image, bodyAwayFromDisc) / mean(truth, bodyAwayFromDisc) - 1;
    const restored = (passes: number) => {
      const z = Float32Array.from(estimate);
      restoreLargeScale(z, measurement, N, N, { ...wide, passes });
      return z;
    };
    expect(lift(estimate)).toBeCloseTo(0.06, 5);
    // One pass: 6 % -> 2.4 % (a body 36 px in radius is not wide against 8 px: its rim gets part of the air's residual); three: 0.9 %.
    expect(lift(restored(1))).toBeLessThan(0.03);
    expect(Math.abs(lift(restored(3)))).toBeLessThan(0.015);
    const discError = (image: Float32Array) => Math.abs(mean(image, inDisc) - 4);
    expect(discError(restored(1))).toBeLessThan(discError(estimate));
  });

  it("runs where the band step runs and not in the low-count step, which keeps its region means", () => {
    const band: ConsistencyConfig = { strength: 1, sigmaRows: 2, sigmaColumns: 2, threshold: 1 };
    const lowCount = { belowDose: 0.16, averageSigmaRows: 3, averageSigmaColumns: 3, interiorSigmaRows: 1.5, interiorSigmaColumns: 1.5, passes: 3 };
    const withWide: ConsistencyConfig = { ...band, lowCount, largeScale: wide };
    expect(consistencyStep(estimate, measurement, N, N, withWide, undefined, 0.1)).toEqual(consistencyStep(estimate, measurement, N, N, { ...band, lowCount }, undefined, 0.1));
    expect(consistencyStep(estimate, measurement, N, N, withWide, undefined, 0.25)).not.toEqual(consistencyStep(estimate, measurement, N, N, band, undefined, 0.25));
  });
});

describe('the settings of the two stages', () => {
  it('carry the card\'s millimetres into pixels per axis and describe themselves', () => {
    const settings = resolveConsistency({ strength: 1, scaleMm: 4.5, threshold: 0.85, largeScale: { scaleMm: 24, passes: 1 }, nonNegative: { spreadMm: 6 } })!;
    const config = consistencyInPixels(settings, [2, 3]);
    expect(config.largeScale).toEqual({ sigmaRows: 12, sigmaColumns: 8, passes: 1 });
    expect(config.nonNegative).toEqual({ spreadRows: 3, spreadColumns: 2 });
    expect(describeConsistency(settings)).toBe(
      'consistency 1 (4.5 mm, 0.85 sd; where the band step runs, the mean restored from 24 mm up; values below 0 set to 0, their counts taken from within 6 mm)',
    );
  });

  it('refuses out-of-range values with E_USAGE', () => {
    const base = resolveConsistency(1)!;
    expect(() => consistencyInPixels({ ...base, largeScale: { scaleMm: 0, passes: 1 } }, [1, 1])).toThrow(LowdoseError);
    expect(() => consistencyInPixels({ ...base, largeScale: { scaleMm: 10, passes: 11 } }, [1, 1])).toThrow(/passes/);
    expect(() => consistencyInPixels({ ...base, nonNegative: { spreadMm: -1 } }, [1, 1])).toThrow(/nonNegative/);
  });

  it('a card may ask for nonNegative for PET only (HU are below 0 in air and fat)', async () => {
    const { readFileSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    const load = (name: string) => {
      const file = fileURLToPath(new URL(`../../models/${name}.json`, import.meta.url));
      return { raw: JSON.parse(readFileSync(file, 'utf8')) as { sampler: { consistency?: unknown } }, file };
    };
    const pet = load('lowdose-pet');
    const petConsistency = pet.raw.sampler.consistency as Record<string, unknown>;
    expect(() => parseModelCard({ ...pet.raw, sampler: { ...pet.raw.sampler, consistency: { ...petConsistency, nonNegative: { spreadMm: 6 } } } } as Record<string, unknown>, pet.file)).not.toThrow();
    expect(() => parseModelCard({ ...pet.raw, sampler: { ...pet.raw.sampler, consistency: { ...petConsistency, nonNegative: { spread: 6 } } } } as Record<string, unknown>, pet.file)).toThrow(/nonNegative.spread/);
    const ct = load('lowdose-ct');
    expect(() => parseModelCard({ ...ct.raw, sampler: { ...ct.raw.sampler, consistency: { strength: 1, nonNegative: { spreadMm: 6 } } } } as Record<string, unknown>, ct.file)).toThrow(/PET models only/);
  });
});

describe("lowdose-pet's card with largeScale added (the candidate of models/eval/pet-count-fidelity.md)", () => {
  it('takes the background lift back where the card alone keeps it, and writes nothing below 0 either way', async () => {
    const { readFileSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    const file = fileURLToPath(new URL('../../models/lowdose-pet.json', import.meta.url));
    const card = parseModelCard(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>, file);
    const settings = resolveConsistency(card.sampler.consistency)!;
    const spacing = [2.734375, 2.734375] as const;
    const alone = consistencyInPixels(settings, spacing);
    const withLargeScale = consistencyInPixels({ ...settings, largeScale: { scaleMm: 24, passes: 1 } }, spacing);
    const lift = (image: Float32Array) => mean(image, bodyAwayFromDisc) / mean(truth, bodyAwayFromDisc) - 1;
    const cardOut = consistencyStep(estimate, measurement, N, N, alone, undefined, 0.25);
    const candidateOut = consistencyStep(estimate, measurement, N, N, withLargeScale, undefined, 0.25);
    expect(Math.abs(lift(candidateOut))).toBeLessThan(Math.abs(lift(cardOut)) / 2);
    for (const dose of [0, 0.1, 0.25]) {
      expect(Math.min(...consistencyStep(estimate, measurement, N, N, alone, undefined, dose))).toBeGreaterThanOrEqual(0);
      expect(Math.min(...consistencyStep(estimate, measurement, N, N, withLargeScale, undefined, dose))).toBeGreaterThanOrEqual(0);
    }
  });
});

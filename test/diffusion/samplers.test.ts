import { describe, expect, it } from 'vitest';
import { DdimSampler } from '../../src/diffusion/ddim.js';
import { DdpmSampler } from '../../src/diffusion/ddpm.js';
import { splitPrediction, type PredictionType } from '../../src/diffusion/prediction.js';
import { ResShiftSampler } from '../../src/diffusion/resshift.js';
import { NoiseSchedule } from '../../src/diffusion/schedules.js';
import { WarmStartSampler } from '../../src/diffusion/warm-start.js';
import { createSampler } from '../../src/diffusion/create-sampler.js';
import { ensembleMeanStd } from '../../src/diffusion/sample.js';
import { Rng } from '../../src/util/random.js';
import { fillGaussian } from '../../src/diffusion/gaussian.js';
import type { NoiseSource } from '../../src/diffusion/sampler.js';

/** A noise source that draws a constant, to read a step's mean (0) and its noise coefficient (1). */
function constantNoise(value: number): NoiseSource {
  return (out: Float32Array) => out.fill(value);
}

const linear = new NoiseSchedule({ kind: 'linear', trainSteps: 1000 });

describe('prediction types', () => {
  it('epsilon, sample and v all give back the same x̂_0 and ε̂', () => {
    const rng = new Rng(1);
    const x0 = rng.fillNormal(new Float32Array(32)) as Float32Array;
    const eps = rng.fillNormal(new Float32Array(32)) as Float32Array;
    const ab = linear.alphasCumprod[400]!;
    const a = Math.sqrt(ab);
    const s = Math.sqrt(1 - ab);
    const xt = x0.map((v, i) => a * v + s * eps[i]!);
    const outputs: Record<PredictionType, Float32Array> = {
      epsilon: eps,
      sample: x0,
      v: x0.map((v, i) => a * eps[i]! - s * v),
    };
    for (const [prediction, output] of Object.entries(outputs) as [PredictionType, Float32Array][]) {
      const gotX0 = new Float32Array(32);
      const gotEps = new Float32Array(32);
      splitPrediction(prediction, output, xt, ab, gotX0, gotEps);
      for (let i = 0; i < 32; i++) {
        expect(gotX0[i]).toBeCloseTo(x0[i]!, 5);
        expect(gotEps[i]).toBeCloseTo(eps[i]!, 5);
      }
    }
  });

  it('clipSample clamps x̂_0 and recomputes ε̂ from it', () => {
    const x0 = new Float32Array(1);
    const eps = new Float32Array(1);
    splitPrediction('sample', new Float32Array([3]), new Float32Array([0.5]), 0.25, x0, eps, [-1, 1]);
    expect(x0[0]).toBe(1);
    expect(eps[0]).toBeCloseTo((0.5 - 0.5 * 1) / Math.sqrt(0.75), 6);
  });
});

describe('one-pass steps', () => {
  it('equal the two-pass formula (x̂_0 and ε̂ first) for every prediction type', () => {
    const rng = new Rng(9);
    const xt = rng.fillNormal(new Float32Array(64)) as Float32Array;
    const output = rng.fillNormal(new Float32Array(64)) as Float32Array;
    const huge = [-1e30, 1e30] as const; // takes the two-pass path without clamping anything
    for (const prediction of ['epsilon', 'sample', 'v'] as const) {
      for (const make of [
        (clipSample: typeof huge | null) => new DdimSampler(linear, { prediction, eta: 0.7, clipSample }),
        (clipSample: typeof huge | null) => new DdpmSampler(linear, { prediction, clipSample }),
      ]) {
        const fused = make(null);
        const twoPass = make(huge);
        fused.setTimesteps(10);
        twoPass.setTimesteps(10);
        for (const t of [fused.timesteps[0]!, fused.timesteps[5]!, fused.timesteps[9]!]) {
          const a = fused.step(output, t, xt, new Rng(1));
          const b = twoPass.step(output, t, xt, new Rng(1));
          const close = (x: number, y: number) => Math.abs(x - y) <= 1e-5 * Math.max(1, Math.abs(y));
          for (let i = 0; i < 64; i++) {
            expect(close(a.prevSample[i]!, b.prevSample[i]!)).toBe(true);
            expect(close(a.predOriginalSample[i]!, b.predOriginalSample[i]!)).toBe(true);
          }
        }
      }
    }
  });
});

describe('DDPM step', () => {
  it('with all T steps uses the textbook posterior mean and variance', () => {
    const sampler = new DdpmSampler(linear, { prediction: 'sample' });
    sampler.setTimesteps(1000);
    const t = 500;
    const x0 = new Float32Array([0.3]);
    const xt = new Float32Array([1.1]);
    const mean = sampler.step(x0, t, xt, constantNoise(0)).prevSample[0]!;
    const plusOne = sampler.step(x0, t, xt, constantNoise(1)).prevSample[0]!;
    const ab = linear.alphasCumprod[t]!;
    const abPrev = linear.alphasCumprod[t - 1]!;
    const beta = linear.betas[t]!;
    const expectedMean = ((Math.sqrt(abPrev) * beta) / (1 - ab)) * 0.3 + ((Math.sqrt(1 - beta) * (1 - abPrev)) / (1 - ab)) * 1.1;
    expect(mean).toBeCloseTo(expectedMean, 6);
    expect(plusOne - mean).toBeCloseTo(Math.sqrt(((1 - abPrev) / (1 - ab)) * beta), 6);
  });

  it('adds no noise on the last step', () => {
    const sampler = new DdpmSampler(linear, { prediction: 'sample' });
    sampler.setTimesteps(10);
    const last = sampler.timesteps[9]!;
    const out = sampler.step(new Float32Array([0.7]), last, new Float32Array([0.2]), constantNoise(5));
    expect(out.prevSample[0]).toBeCloseTo(0.7, 6);
  });

  it('says to call setTimesteps first', () => {
    const sampler = new DdpmSampler(linear);
    expect(() => sampler.step(new Float32Array(1), 999, new Float32Array(1))).toThrow(/setTimesteps/);
  });
});

describe('DDIM step', () => {
  it('with eta = 1 has the DDPM posterior standard deviation', () => {
    const ddim = new DdimSampler(linear, { prediction: 'sample', eta: 1 });
    const ddpm = new DdpmSampler(linear, { prediction: 'sample' });
    ddim.setTimesteps(20);
    ddpm.setTimesteps(20);
    const t = ddim.timesteps[5]!;
    const args = [new Float32Array([0.3]), t, new Float32Array([1.1])] as const;
    const sigmaDdim = ddim.step(...args, constantNoise(1)).prevSample[0]! - ddim.step(...args, constantNoise(0)).prevSample[0]!;
    const sigmaDdpm = ddpm.step(...args, constantNoise(1)).prevSample[0]! - ddpm.step(...args, constantNoise(0)).prevSample[0]!;
    expect(sigmaDdim).toBeCloseTo(sigmaDdpm, 6);
    expect(sigmaDdim).toBeGreaterThan(0.01);
  });

  it('with eta = 0 is deterministic and follows x_prev = sqrt(ᾱ_prev) x̂_0 + sqrt(1 - ᾱ_prev) ε̂', () => {
    const ddim = new DdimSampler(linear, { prediction: 'epsilon' });
    ddim.setTimesteps(4);
    expect(Array.from(ddim.timesteps)).toEqual([999, 749, 499, 249]);
    const eps = new Float32Array([0.4]);
    const xt = new Float32Array([-0.2]);
    const out = ddim.step(eps, 749, xt);
    const ab = linear.alphasCumprod[749]!;
    const abPrev = linear.alphasCumprod[499]!;
    const x0 = (-0.2 - Math.sqrt(1 - ab) * 0.4) / Math.sqrt(ab);
    expect(out.predOriginalSample[0]).toBeCloseTo(x0, 5);
    expect(out.prevSample[0]).toBeCloseTo(Math.sqrt(abPrev) * x0 + Math.sqrt(1 - abPrev) * 0.4, 5);
  });

  it('updates the sample in place when asked', () => {
    const ddim = new DdimSampler(linear, { prediction: 'sample' });
    ddim.setTimesteps(2);
    const xt = new Float32Array([0.5, 0.6]);
    const out = ddim.step(new Float32Array([0.1, 0.2]), ddim.timesteps[1]!, xt, undefined, { prevSample: xt });
    expect(out.prevSample).toBe(xt);
    expect(Array.from(xt)).toEqual([Math.fround(0.1), Math.fround(0.2)]);
  });
});

describe('warm start', () => {
  it('enters at round(strength·T) - 1 and spaces its steps over 0..t_start', () => {
    const s = new WarmStartSampler(linear, { strength: 0.2 });
    expect(s.startT).toBe(199);
    s.setTimesteps(4);
    expect(Array.from(s.timesteps)).toEqual([199, 149, 99, 49]);
    s.setTimesteps(1);
    expect(Array.from(s.timesteps)).toEqual([199]);
    expect(new WarmStartSampler(linear, { startT: 42 }).startT).toBe(42);
    expect(() => new WarmStartSampler(linear, { strength: 0 })).toThrow(/strength/);
    expect(() => s.setTimesteps(201)).toThrow(/1..200 steps/);
  });

  it('starts from the low-dose image noised by q(x_t | x_low)', () => {
    const s = new WarmStartSampler(linear, { strength: 0.3 });
    s.setTimesteps(2);
    const low = new Float32Array([0.5, -0.25, 1]);
    const start = s.initSample(new Rng(3), new Float32Array(3), low);
    const noise = fillGaussian(new Rng(3), new Float32Array(3));
    expect(Array.from(start)).toEqual(Array.from(linear.addNoise(low, noise, 299)));
  });
});

describe('resshift', () => {
  const config = { kind: 'resshift', trainSteps: 15, kappa: 2 } as const;

  it('starts at y + κ sqrt(η_T) z and its last step returns x̂_0', () => {
    const s = new ResShiftSampler(config);
    s.setTimesteps(15);
    const y = new Float32Array([0.2, 0.4]);
    const start = s.initSample(constantNoise(1), new Float32Array(2), y);
    expect(start[0]).toBeCloseTo(0.2 + 2 * 0.99, 5);
    const out = s.step(new Float32Array([0.1, 0.3]), 0, new Float32Array([5, 5]), constantNoise(9));
    expect(Array.from(out.prevSample)).toEqual([Math.fround(0.1), Math.fround(0.3)]);
  });

  it('posterior mean between steps is (η_s/η_t) x_t + (1 - η_s/η_t) x̂_0', () => {
    const s = new ResShiftSampler(config);
    s.setTimesteps(5);
    const [t, next] = [s.timesteps[1]!, s.timesteps[2]!];
    const mean = s.step(new Float32Array([0.1]), t, new Float32Array([0.9]), constantNoise(0)).prevSample[0]!;
    const r = s.etas[next]! / s.etas[t]!;
    expect(mean).toBeCloseTo(r * 0.9 + (1 - r) * 0.1, 6);
  });

  it('refuses models that predict noise', () => {
    expect(() => new ResShiftSampler(config, { prediction: 'epsilon' })).toThrow(/clean image/);
  });
});

describe('createSampler', () => {
  const card = { schedule: { kind: 'linear', trainSteps: 1000 }, prediction: 'v', sampler: { default: 'warm-start', strength: 0.1, eta: 0 } } as const;

  it('builds the card default with its settings, and honours overrides', () => {
    const s = createSampler(card);
    expect(s).toBeInstanceOf(WarmStartSampler);
    expect((s as WarmStartSampler).startT).toBe(99);
    expect((s as WarmStartSampler).prediction).toBe('v');
    const d = createSampler(card, { name: 'ddim', eta: 0.5, spacing: 'leading' });
    expect(d).toBeInstanceOf(DdimSampler);
    expect((d as DdimSampler).eta).toBe(0.5);
    expect(createSampler(card, { name: 'ddpm' })).toBeInstanceOf(DdpmSampler);
    expect(() => createSampler(card, { name: 'resshift' })).toThrow(/resshift schedule/);
  });
});

describe('ensemble statistics', () => {
  it('gives the mean and population standard deviation over K lanes per slice', () => {
    // 2 slices, K = 3, 2 pixels each.
    const lanes = new Float32Array([1, 10, 2, 10, 3, 10, 0, -1, 0, 1, 6, 0]);
    const mean = new Float32Array(4);
    const std = new Float32Array(4);
    ensembleMeanStd(lanes, 2, 3, 2, mean, std);
    expect(Array.from(mean)).toEqual([2, 10, 2, 0]);
    expect(std[0]).toBeCloseTo(Math.sqrt(2 / 3), 6);
    expect(std[1]).toBe(0);
    expect(std[2]).toBeCloseTo(Math.sqrt((4 + 4 + 16) / 3), 6);
    expect(std[3]).toBeCloseTo(Math.sqrt(2 / 3), 6);
  });
});

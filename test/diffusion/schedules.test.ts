import { describe, expect, it } from 'vitest';
import { LowdoseError } from '../../src/errors.js';
import { aggressiveAlphaBar, cosineAlphaBar, MAX_BETA, NoiseSchedule } from '../../src/diffusion/schedules.js';
import { resShiftEtas } from '../../src/diffusion/resshift.js';
import { roundHalfEven, spacedTimesteps } from '../../src/diffusion/timesteps.js';
import { Rng } from '../../src/util/random.js';

const T = 1000;

/** ᾱ_t by summing logs, independent of the running product the class uses. */
function cumprodViaLogs(betas: Float64Array, t: number): number {
  let s = 0;
  for (let i = 0; i <= t; i++) s += Math.log1p(-betas[i]!);
  return Math.exp(s);
}

describe('linear schedule', () => {
  const schedule = new NoiseSchedule({ kind: 'linear', trainSteps: T });

  it('has betas spaced evenly from 1e-4 to 0.02 (DDPM defaults)', () => {
    expect(schedule.betas[0]).toBe(1e-4);
    expect(schedule.betas[T - 1]).toBe(0.02);
    for (const i of [1, 137, 500, 998]) expect(schedule.betas[i]).toBeCloseTo(1e-4 + (i * (0.02 - 1e-4)) / (T - 1), 15);
  });

  it('has alphas = 1 - betas and alphasCumprod = their running product', () => {
    for (const t of [0, 1, 250, 999]) {
      expect(schedule.alphas[t]).toBe(1 - schedule.betas[t]!);
      expect(schedule.alphasCumprod[t]! / cumprodViaLogs(schedule.betas, t)).toBeCloseTo(1, 12);
    }
    // Ho et al. 2020: sqrt(ᾱ_T) ≈ 0.00635 for this schedule, so x_T is nearly pure noise.
    expect(Math.sqrt(schedule.alphasCumprod[T - 1]!)).toBeCloseTo(0.00635, 4);
  });

  it('takes custom beta ranges', () => {
    const s = new NoiseSchedule({ kind: 'linear', trainSteps: 10, betaStart: 0.001, betaEnd: 0.1 });
    expect(Array.from(s.betas).map((b) => +b.toFixed(6))).toEqual([0.001, 0.012, 0.023, 0.034, 0.045, 0.056, 0.067, 0.078, 0.089, 0.1]);
  });
});

describe('cosine schedule', () => {
  const schedule = new NoiseSchedule({ kind: 'cosine', trainSteps: T });
  const f = cosineAlphaBar(0.008);

  it('has ᾱ_t = f((t+1)/T) / f(0) with f(u) = cos²(π/2 (u + s)/(1 + s)) (Nichol & Dhariwal eq. 17)', () => {
    for (const t of [0, 10, 500, 900, 990]) {
      expect(schedule.alphasCumprod[t]! / (f((t + 1) / T) / f(0))).toBeCloseTo(1, 9);
    }
    expect(f(0)).toBeCloseTo(Math.cos(((0.008 / 1.008) * Math.PI) / 2) ** 2, 15);
  });

  it('clips beta at 0.999 where ᾱ reaches zero', () => {
    expect(schedule.betas[T - 1]).toBe(MAX_BETA);
    expect(Math.max(...schedule.betas)).toBe(MAX_BETA);
    expect(schedule.betas[0]).toBeLessThan(1e-4);
  });
});

describe('aggressive schedule', () => {
  const schedule = new NoiseSchedule({ kind: 'aggressive', trainSteps: T });
  const g = aggressiveAlphaBar(0.2, 12);

  it('follows its sigmoid ᾱ(u) formula', () => {
    const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
    const expected = (u: number) => (sigmoid(12 * 0.8) - sigmoid(12 * (u - 0.2))) / (sigmoid(12 * 0.8) - sigmoid(-12 * 0.2));
    for (const u of [0, 0.1, 0.2, 0.5, 1]) expect(g(u)).toBeCloseTo(expected(u), 14);
    expect(g(0)).toBeCloseTo(1, 14);
    expect(g(1)).toBeCloseTo(0, 14);
    for (const t of [0, 100, 199, 400]) expect(schedule.alphasCumprod[t]! / (g((t + 1) / T) / g(0))).toBeCloseTo(1, 9);
  });

  it('destroys structure earlier than the linear and cosine schedules', () => {
    const linear = new NoiseSchedule({ kind: 'linear', trainSteps: T });
    const cosine = new NoiseSchedule({ kind: 'cosine', trainSteps: T });
    for (const t of [150, 250, 400]) {
      expect(schedule.alphasCumprod[t]).toBeLessThan(linear.alphasCumprod[t]!);
      expect(schedule.alphasCumprod[t]).toBeLessThan(cosine.alphasCumprod[t]!);
    }
    // Half the signal variance gone by about 20 % of T, under 1 % left at 60 %.
    expect(schedule.alphasCumprod[199]).toBeGreaterThan(0.45);
    expect(schedule.alphasCumprod[199]).toBeLessThan(0.6);
    expect(schedule.alphasCumprod[599]).toBeLessThan(0.01);
  });
});

describe('forward process q(x_t | x_0)', () => {
  const schedule = new NoiseSchedule({ kind: 'linear', trainSteps: T });
  const rng = new Rng(5);
  const x0 = rng.fillNormal(new Float32Array(64)) as Float32Array;
  const noise = rng.fillNormal(new Float32Array(64)) as Float32Array;

  it('is sqrt(ᾱ_t) x0 + sqrt(1 - ᾱ_t) ε, with one timestep per image', () => {
    const out = schedule.addNoise(x0, noise, [10, 900]);
    for (const i of [0, 31, 32, 63]) {
      const ab = schedule.alphasCumprod[i < 32 ? 10 : 900]!;
      expect(out[i]).toBeCloseTo(Math.sqrt(ab) * x0[i]! + Math.sqrt(1 - ab) * noise[i]!, 6);
    }
  });

  it('has the marginal variance the schedule promises', () => {
    const n = 20000;
    const r = new Rng(11);
    const ones = new Float32Array(n).fill(1);
    const eps = r.fillNormal(new Float32Array(n)) as Float32Array;
    const xt = schedule.addNoise(ones, eps, 300);
    const mean = xt.reduce((a, b) => a + b, 0) / n;
    const variance = xt.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    const ab = schedule.alphasCumprod[300]!;
    expect(mean).toBeCloseTo(Math.sqrt(ab), 1);
    expect(variance / (1 - ab)).toBeGreaterThan(0.96);
    expect(variance / (1 - ab)).toBeLessThan(1.04);
  });

  it('rejects timesteps outside 0..T-1', () => {
    expect(() => schedule.addNoise(x0, noise, T)).toThrow(LowdoseError);
    expect(() => schedule.addNoise(x0, noise, -1)).toThrow(/outside 0..999/);
  });
});

describe('timestep spacing (same steps as diffusers)', () => {
  it('rounds half to even like numpy', () => {
    expect([0.5, 1.5, 2.5, -0.5, 937.5, 812.5, 3.4].map(roundHalfEven)).toEqual([0, 2, 2, -0, 938, 812, 3]);
  });

  it('leading, trailing and linspace', () => {
    expect(Array.from(spacedTimesteps(T, 10, 'leading'))).toEqual([900, 800, 700, 600, 500, 400, 300, 200, 100, 0]);
    expect(Array.from(spacedTimesteps(T, 7, 'leading'))).toEqual([852, 710, 568, 426, 284, 142, 0]);
    expect(Array.from(spacedTimesteps(T, 10, 'leading', 1))).toEqual([901, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
    expect(Array.from(spacedTimesteps(T, 3, 'trailing'))).toEqual([999, 666, 332]);
    expect(Array.from(spacedTimesteps(T, 16, 'trailing'))).toEqual([999, 937, 874, 811, 749, 687, 624, 561, 499, 437, 374, 311, 249, 187, 124, 61]);
    expect(Array.from(spacedTimesteps(T, 7, 'linspace'))).toEqual([999, 832, 666, 500, 333, 166, 0]);
    expect(Array.from(spacedTimesteps(T, T, 'trailing'))).toEqual(Array.from({ length: T }, (_, i) => T - 1 - i));
  });

  it('rejects step counts above T', () => {
    expect(() => spacedTimesteps(T, T + 1)).toThrow(/1..1000/);
  });
});

describe('resshift η schedule', () => {
  it('runs from (min(0.04/κ, 0.04))² to 0.99² along ResShift exponential power curve', () => {
    const etas = resShiftEtas({ kind: 'resshift', trainSteps: 15, kappa: 2, power: 0.3 });
    expect(Math.sqrt(etas[0]!)).toBeCloseTo(0.02, 12);
    expect(Math.sqrt(etas[14]!)).toBeCloseTo(0.99, 12);
    const b = Math.exp(Math.log(0.99 / 0.02) / 14);
    for (const t of [3, 7, 11]) expect(Math.sqrt(etas[t]!)).toBeCloseTo(0.02 * b ** ((t / 14) ** 0.3 * 14), 12);
    for (let t = 1; t < 15; t++) expect(etas[t]).toBeGreaterThan(etas[t - 1]!);
  });
});

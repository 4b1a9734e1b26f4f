/**
 * Seeded random numbers. Every random draw in lowdose (phantom texture, simulated dose noise,
 * diffusion noise) comes from here so that the same seed gives bit-identical results.
 *
 * Streams are derived from (seed, ...keys) by hashing, not by advancing one shared generator, so
 * that, for example, the noise of slice 7 does not depend on how many slices were drawn before it
 * (batch size and worker count then cannot change results).
 */

import { LowdoseError } from '../errors.js';

/** splitmix32 finaliser: a good 32-bit integer hash. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97);
  return (x ^ (x >>> 15)) >>> 0;
}

/** Hashes a seed and stream keys into four 32-bit words of generator state. */
function deriveState(seed: number, keys: readonly number[]): Uint32Array {
  let h = mix32((seed >>> 0) ^ 0x9e3779b9) ^ mix32(Math.floor(seed / 2 ** 32) + 0x85ebca6b);
  for (const key of keys) h = mix32(h ^ mix32((key >>> 0) + 0x27d4eb2f) ^ Math.floor(key / 2 ** 32));
  const state = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    h = mix32(h + 0x9e3779b9 + i);
    state[i] = h;
  }
  if ((state[0]! | state[1]! | state[2]! | state[3]!) === 0) state[0] = 1;
  return state;
}

/** xoshiro128** generator with Gaussian and Poisson draws. */
export class Rng {
  private readonly s: Uint32Array;
  private spareNormal: number | null = null;

  constructor(seed: number, ...streamKeys: number[]) {
    this.s = deriveState(seed, streamKeys);
  }

  /**
   * The generator's four state words, live: for kernels that run xoshiro128** inline over a whole
   * array (src/diffusion/gaussian.ts) and must write the state back so the stream continues.
   */
  stateWords(): Uint32Array {
    return this.s;
  }

  /** A new independent generator for a sub-stream (for example one per slice). */
  fork(...streamKeys: number[]): Rng {
    return new Rng(this.nextUint32(), ...streamKeys);
  }

  nextUint32(): number {
    // xoshiro128**, on locals (the state is a Uint32Array of 4).
    const s = this.s;
    let s0 = s[0]!;
    let s1 = s[1]!;
    let s2 = s[2]!;
    let s3 = s[3]!;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    s[0] = s0;
    s[1] = s1;
    s[2] = s2;
    s[3] = s3;
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal (Marsaglia polar method). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u: number, v: number, s: number;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * f;
    return u * f;
  }

  /** Fills `out` with standard normal draws. */
  fillNormal(out: Float32Array | Float64Array): typeof out {
    for (let i = 0; i < out.length; i++) out[i] = this.normal();
    return out;
  }

  /**
   * Poisson draw with mean `lambda`. Exact (Knuth) for small means, PTRS transformed rejection
   * (Hörmann 1993) for large ones, so counts are right at every dose level.
   */
  poisson(lambda: number): number {
    if (!(lambda > 0)) return 0;
    if (lambda < 30) {
      const limit = Math.exp(-lambda);
      let k = 0;
      let p = this.uniform();
      while (p > limit) {
        k++;
        p *= this.uniform();
      }
      return k;
    }
    const slam = Math.sqrt(lambda);
    const loglam = Math.log(lambda);
    const b = 0.931 + 2.53 * slam;
    const a = -0.059 + 0.02483 * b;
    const invalpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const u = this.uniform() - 0.5;
      const v = this.uniform();
      const us = 0.5 - Math.abs(u);
      const k = Math.floor(((2 * a) / us + b) * u + lambda + 0.43);
      if (us >= 0.07 && v <= vr) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      if (
        Math.log(v) + Math.log(invalpha) - Math.log(a / (us * us) + b) <=
        -lambda + k * loglam - logFactorial(k)
      ) {
        return k;
      }
    }
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

const LOG_FACTORIAL_TABLE: number[] = (() => {
  const table = [0];
  for (let i = 1; i < 256; i++) table.push(table[i - 1]! + Math.log(i));
  return table;
})();

function logFactorial(k: number): number {
  if (k < LOG_FACTORIAL_TABLE.length) return LOG_FACTORIAL_TABLE[k]!;
  // Stirling series; error below 1e-10 for k >= 256.
  const x = k + 1;
  return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x) - 1 / (360 * x ** 3);
}

/** The largest seed: the generator's seed is a 32-bit unsigned integer. */
export const MAX_SEED = 0xffffffff;

/**
 * Parses a user seed: an integer in [0, MAX_SEED] (a number, or decimal text) is taken as is; any
 * other text is hashed into one. A number that is not an integer in that range (negative,
 * fractional, above 2^32 - 1) and decimal text above MAX_SEED are refused (E_USAGE): read modulo
 * 2^32 they would silently run as another seed. `name` is the option named in the message.
 */
export function parseSeed(text: string | number | undefined, fallback = 0, name = 'seed'): number {
  if (text === undefined) return fallback;
  const refuse = (): never => {
    throw new LowdoseError('E_USAGE', `${name} must be an integer in [0, ${MAX_SEED}] (or text, hashed to one), got "${String(text)}"`);
  };
  if (typeof text === 'number') return Number.isInteger(text) && text >= 0 && text <= MAX_SEED ? text : refuse();
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) <= MAX_SEED ? Number(trimmed) : refuse();
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

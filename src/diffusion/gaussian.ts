/**
 * Fast standard-normal draws for diffusion noise, from an Rng's 32-bit stream: the ziggurat method
 * (Marsaglia & Tsang 2000, 128 layers). A sampler draws a whole image of noise per lane and step,
 * and Rng.normal (polar method, two 53-bit uniforms, a log and a square root per pair) was most of
 * the non-network time of a step; the ziggurat needs one 32-bit draw and a table lookup for ~99 %
 * of values. Layer index and value use disjoint bits of the draw (Doornik 2005), so they are
 * independent; the 24-bit value resolution exceeds what a float32 keeps.
 */
import type { Rng } from '../util/random.js';

const LAYERS = 128;
const R = 3.442619855899; // start of the tail
const V = 9.91256303526217e-3; // area of each layer
const SCALE = 2 ** 24; // value bits: a signed 25-bit integer

const kn = new Int32Array(LAYERS);
const wn = new Float64Array(LAYERS);
const fn = new Float64Array(LAYERS);

(() => {
  let dn = R;
  let tn = dn;
  const q = V / Math.exp(-0.5 * dn * dn);
  kn[0] = Math.floor((dn / q) * SCALE);
  kn[1] = 0;
  wn[0] = q / SCALE;
  wn[LAYERS - 1] = dn / SCALE;
  fn[0] = 1;
  fn[LAYERS - 1] = Math.exp(-0.5 * dn * dn);
  for (let i = LAYERS - 2; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(V / dn + Math.exp(-0.5 * dn * dn)));
    kn[i + 1] = Math.floor((dn / tn) * SCALE);
    tn = dn;
    fn[i] = Math.exp(-0.5 * dn * dn);
    wn[i] = dn / SCALE;
  }
})();

/** One N(0, 1) draw. */
export function gaussian(rng: Rng): number {
  for (;;) {
    const u = rng.nextUint32();
    const iz = u & (LAYERS - 1);
    const hz = (u | 0) >> 7; // signed, |hz| < 2^24
    if ((hz < 0 ? -hz : hz) < kn[iz]!) return hz * wn[iz]!;
    const x = outsideRectangle(rng, hz, iz);
    if (x !== null) return x;
  }
}

/**
 * Fills `out` with N(0, 1) draws (the same stream as calling `gaussian` out.length times).
 *
 * The generator runs inline on int32 locals (xoshiro128**, as Rng.nextUint32), its state written
 * back to the Rng only around the rare draws outside a layer's rectangle and at the end: about 40 %
 * less CPU than a method call per draw, which matters because a 512 x 512 lane draws 262 k values
 * per sampler call.
 */
export function fillGaussian(rng: Rng, out: Float32Array): Float32Array {
  const state = stateOf(rng);
  let s0 = state[0]! | 0;
  let s1 = state[1]! | 0;
  let s2 = state[2]! | 0;
  let s3 = state[3]! | 0;
  const n = out.length;
  for (let i = 0; i < n; i++) {
    const m = Math.imul(s1, 5);
    const u = Math.imul((m << 7) | (m >>> 25), 9);
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    const iz = u & (LAYERS - 1);
    const hz = u >> 7; // signed, |hz| < 2^24
    // One compare of |hz| (an int32 abs, no overflow below 2^24) ran about 5 % faster than two.
    if (Math.abs(hz) < kn[iz]!) {
      out[i] = hz * wn[iz]!;
      continue;
    }
    state[0] = s0;
    state[1] = s1;
    state[2] = s2;
    state[3] = s3;
    out[i] = outsideRectangle(rng, hz, iz) ?? gaussian(rng);
    s0 = state[0] | 0;
    s1 = state[1] | 0;
    s2 = state[2] | 0;
    s3 = state[3] | 0;
  }
  state[0] = s0;
  state[1] = s1;
  state[2] = s2;
  state[3] = s3;
  return out;
}

/**
 * out[i] = a·base[i] + s·z_i with z_i the draws `fillGaussian` would give, rounded to float32 first:
 * bit for bit what filling a noise array and then combining it (NoiseSchedule.addNoise) gives, in
 * one pass and without the noise array. `out` may be `base`.
 */
export function fillGaussianAffine(rng: Rng, base: Float32Array, a: number, s: number, out: Float32Array): Float32Array {
  const state = stateOf(rng);
  let s0 = state[0]! | 0;
  let s1 = state[1]! | 0;
  let s2 = state[2]! | 0;
  let s3 = state[3]! | 0;
  const n = out.length;
  for (let i = 0; i < n; i++) {
    const m = Math.imul(s1, 5);
    const u = Math.imul((m << 7) | (m >>> 25), 9);
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    const iz = u & (LAYERS - 1);
    const hz = u >> 7;
    if (Math.abs(hz) < kn[iz]!) {
      out[i] = a * base[i]! + s * Math.fround(hz * wn[iz]!);
      continue;
    }
    state[0] = s0;
    state[1] = s1;
    state[2] = s2;
    state[3] = s3;
    out[i] = a * base[i]! + s * Math.fround(outsideRectangle(rng, hz, iz) ?? gaussian(rng));
    s0 = state[0] | 0;
    s1 = state[1] | 0;
    s2 = state[2] | 0;
    s3 = state[3] | 0;
  }
  state[0] = s0;
  state[1] = s1;
  state[2] = s2;
  state[3] = s3;
  return out;
}

/**
 * fillGaussianAffine whose base is made on the way from `values`: base[i] = (clip(values[i]) -
 * offset)·inv, the clip branch-free (Math.min/Math.max), stored to `base`, and out[i] = a·base[i] +
 * s·z_i. Bit for bit the linear toModelSpace into `base` (its branch-free path: both bounds
 * non-zero, `values` finite) followed by fillGaussianAffine from it, in one pass instead of two.
 * Returns whether every value was finite; when one was not, `base` and `out` are not what the
 * two passes would give, and the caller must not use them (the sampler refuses such slices).
 */
export function fillGaussianAffineMapped(
  rng: Rng,
  values: Float32Array,
  lo: number,
  hi: number,
  offset: number,
  inv: number,
  base: Float32Array,
  a: number,
  s: number,
  out: Float32Array,
): boolean {
  const state = stateOf(rng);
  let s0 = state[0]! | 0;
  let s1 = state[1]! | 0;
  let s2 = state[2]! | 0;
  let s3 = state[3]! | 0;
  const n = out.length;
  let finite = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    finite += v - v;
    base[i] = (Math.min(Math.max(v, lo), hi) - offset) * inv;
    const m = Math.imul(s1, 5);
    const u = Math.imul((m << 7) | (m >>> 25), 9);
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    const iz = u & (LAYERS - 1);
    const hz = u >> 7;
    if (Math.abs(hz) < kn[iz]!) {
      out[i] = a * base[i]! + s * Math.fround(hz * wn[iz]!);
      continue;
    }
    state[0] = s0;
    state[1] = s1;
    state[2] = s2;
    state[3] = s3;
    out[i] = a * base[i]! + s * Math.fround(outsideRectangle(rng, hz, iz) ?? gaussian(rng));
    s0 = state[0] | 0;
    s1 = state[1] | 0;
    s2 = state[2] | 0;
    s3 = state[3] | 0;
  }
  state[0] = s0;
  state[1] = s1;
  state[2] = s2;
  state[3] = s3;
  return finite === 0;
}

/** The Rng's state seen as int32 words (the same memory): the inline generator works on int32. */
function stateOf(rng: Rng): Int32Array {
  const words = rng.stateWords();
  return new Int32Array(words.buffer, words.byteOffset, 4);
}

/**
 * The rare draw that falls outside its layer's rectangle: the tail beyond R for layer 0
 * (Marsaglia 1964), else the wedge between the rectangle and the curve; null when rejected.
 */
function outsideRectangle(rng: Rng, hz: number, iz: number): number | null {
  if (iz === 0) {
    let tx: number;
    let ty: number;
    do {
      tx = -Math.log(1 - rng.uniform()) / R;
      ty = -Math.log(1 - rng.uniform());
    } while (ty + ty < tx * tx);
    return hz > 0 ? R + tx : -R - tx;
  }
  const x = hz * wn[iz]!;
  return fn[iz]! + rng.uniform() * (fn[iz - 1]! - fn[iz]!) < Math.exp(-0.5 * x * x) ? x : null;
}

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

/** Fills `out` with N(0, 1) draws (the same stream as calling `gaussian` out.length times). */
export function fillGaussian(rng: Rng, out: Float32Array): Float32Array {
  for (let i = 0; i < out.length; i++) {
    const u = rng.nextUint32();
    const iz = u & (LAYERS - 1);
    const hz = (u | 0) >> 7;
    out[i] = (hz < 0 ? -hz : hz) < kn[iz]! ? hz * wn[iz]! : (outsideRectangle(rng, hz, iz) ?? gaussian(rng));
  }
  return out;
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

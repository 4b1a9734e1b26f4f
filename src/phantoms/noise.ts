/**
 * Seeded 3D gradient noise (Perlin's improved noise) and fractal sums of it, for tissue texture
 * that is continuous across slices. Coordinates are in mm; `scale` is the feature size in mm.
 */
import { Rng } from '../util/random.js';

export interface Noise3 {
  /** Roughly in [-1, 1], zero mean, smooth. */
  (x: number, y: number, z: number): number;
}

/** Twelve cube-edge gradients, as in Perlin 2002. */
const GRADIENTS = new Float64Array([1, 1, 0, -1, 1, 0, 1, -1, 0, -1, -1, 0, 1, 0, 1, -1, 0, 1, 1, 0, -1, -1, 0, -1, 0, 1, 1, 0, -1, 1, 0, 1, -1, 0, -1, -1]);

function fade(t: number): number {
  return t * t * t * (t * (t * 6 - 15) + 10);
}

/** A single octave of gradient noise with unit feature size, seeded. */
export function gradientNoise(rng: Rng): Noise3 {
  const perm = new Uint8Array(512);
  const p = new Uint8Array(256);
  for (let i = 0; i < 256; i++) p[i] = i;
  for (let i = 255; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  for (let i = 0; i < 512; i++) perm[i] = p[i & 255]!;
  // Random offsets keep streams with different seeds from sharing the lattice origin.
  const ox = rng.range(0, 256);
  const oy = rng.range(0, 256);
  const oz = rng.range(0, 256);

  const grad = (hash: number, x: number, y: number, z: number): number => {
    const g = (hash % 12) * 3;
    return GRADIENTS[g]! * x + GRADIENTS[g + 1]! * y + GRADIENTS[g + 2]! * z;
  };

  return (xIn: number, yIn: number, zIn: number): number => {
    const x = xIn + ox;
    const y = yIn + oy;
    const z = zIn + oz;
    const fx = Math.floor(x);
    const fy = Math.floor(y);
    const fz = Math.floor(z);
    const X = fx & 255;
    const Y = fy & 255;
    const Z = fz & 255;
    const xf = x - fx;
    const yf = y - fy;
    const zf = z - fz;
    const u = fade(xf);
    const v = fade(yf);
    const w = fade(zf);
    const A = perm[X]! + Y;
    const AA = perm[A]! + Z;
    const AB = perm[A + 1]! + Z;
    const B = perm[X + 1]! + Y;
    const BA = perm[B]! + Z;
    const BB = perm[B + 1]! + Z;
    const x1 = lerp(grad(perm[AA]!, xf, yf, zf), grad(perm[BA]!, xf - 1, yf, zf), u);
    const x2 = lerp(grad(perm[AB]!, xf, yf - 1, zf), grad(perm[BB]!, xf - 1, yf - 1, zf), u);
    const x3 = lerp(grad(perm[AA + 1]!, xf, yf, zf - 1), grad(perm[BA + 1]!, xf - 1, yf, zf - 1), u);
    const x4 = lerp(grad(perm[AB + 1]!, xf, yf - 1, zf - 1), grad(perm[BB + 1]!, xf - 1, yf - 1, zf - 1), u);
    return lerp(lerp(x1, x2, v), lerp(x3, x4, v), w);
  };
}

function lerp(a: number, b: number, t: number): number {
  return a + t * (b - a);
}

export interface FractalOptions {
  /** Feature size of the first octave, mm. */
  readonly scale: number;
  readonly octaves?: number;
  /** Amplitude ratio between octaves. Default 0.5. */
  readonly gain?: number;
  /** Anisotropy: z features are `zStretch` times longer than in-plane ones. Default 1. */
  readonly zStretch?: number;
}

/** Fractal Brownian motion: a sum of octaves, normalised to unit standard deviation (approximately). */
export function fractalNoise(rng: Rng, options: FractalOptions): Noise3 {
  const octaves = options.octaves ?? 3;
  const gain = options.gain ?? 0.5;
  const base = gradientNoise(rng);
  const inverseScale = 1 / options.scale;
  const zFactor = 1 / (options.zStretch ?? 1);
  let norm = 0;
  for (let o = 0; o < octaves; o++) norm += gain ** (2 * o);
  // A single octave of this noise has a standard deviation of about 0.27 (measured).
  const amplitude = 1 / (0.27 * Math.sqrt(norm));
  return (x, y, z) => {
    let sum = 0;
    let frequency = inverseScale;
    let weight = 1;
    for (let o = 0; o < octaves; o++) {
      // Each octave is shifted so octaves do not line up at the lattice origin.
      sum += weight * base(x * frequency + o * 17.1, y * frequency - o * 31.7, z * frequency * zFactor + o * 7.3);
      frequency *= 2.03;
      weight *= gain;
    }
    return sum * amplitude;
  };
}

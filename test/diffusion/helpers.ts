import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/util/random.js';

export const FIXTURE_MODELS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures-models');

export function fixtureModel(name: string): string {
  return path.join(FIXTURE_MODELS, `${name}.json`);
}

/** A small structured image in [-1, 1]: a bright disc, a dark bar and a gradient, plus seeded texture. */
export function phantom(height: number, width: number, seed: number): Float32Array {
  const rng = new Rng(seed, 99);
  const out = new Float32Array(height * width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const dx = (x - width * 0.45) / width;
      const dy = (y - height * 0.55) / height;
      let v = -0.6 + (0.5 * x) / width;
      if (dx * dx + dy * dy < 0.09) v = 0.8;
      if (y > height * 0.2 && y < height * 0.3) v = -0.95;
      out[y * width + x] = v + 0.05 * rng.normal();
    }
  }
  return out;
}

/** max |a - b| / max |b|. */
export function relativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

export function concat(...arrays: Float32Array[]): Float32Array {
  const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}

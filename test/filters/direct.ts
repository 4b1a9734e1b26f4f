/**
 * Direct (slow, obviously correct) implementations of the filters and the seeded phantoms the
 * tests compare them on.
 */
import type { Image2D } from '../../src/image.js';
import { Rng } from '../../src/util/random.js';

/** scipy 'reflect' (half-sample symmetric), written the long way round. */
export function reflect(i: number, n: number): number {
  while (i < 0 || i >= n) i = i < 0 ? -i - 1 : 2 * n - 1 - i;
  return i;
}

function at(image: Image2D, r: number, c: number): number {
  return image.data[reflect(r, image.rows) * image.columns + reflect(c, image.columns)]!;
}

/** Non-local means straight from the definition: every patch distance summed pixel by pixel. */
export function directNlm(image: Image2D, h: number, noiseStd: number, patchRadius: number, searchRadius: number): Float64Array {
  const { rows, columns } = image;
  const out = new Float64Array(rows * columns);
  const area = (2 * patchRadius + 1) ** 2;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      let sum = 0;
      let weight = 0;
      for (let dy = -searchRadius; dy <= searchRadius; dy++) {
        for (let dx = -searchRadius; dx <= searchRadius; dx++) {
          let ssd = 0;
          for (let i = -patchRadius; i <= patchRadius; i++) {
            for (let j = -patchRadius; j <= patchRadius; j++) {
              const d = at(image, r + i, c + j) - at(image, r + dy + i, c + dx + j);
              ssd += d * d;
            }
          }
          const w = Math.exp(-Math.max(ssd / area - 2 * noiseStd * noiseStd, 0) / (h * h));
          sum += w * at(image, r + dy, c + dx);
          weight += w;
        }
      }
      out[r * columns + c] = sum / weight;
    }
  }
  return out;
}

/** Bilateral filter straight from the definition, elliptical window of `truncate` sigmas. */
export function directBilateral(image: Image2D, sigmaRows: number, sigmaColumns: number, sigmaRange: number, truncate = 3): Float64Array {
  const { rows, columns } = image;
  const out = new Float64Array(rows * columns);
  const ry = Math.floor(truncate * sigmaRows);
  const rx = Math.floor(truncate * sigmaColumns);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const v = at(image, r, c);
      let sum = 0;
      let weight = 0;
      for (let dy = -ry; dy <= ry; dy++) {
        for (let dx = -rx; dx <= rx; dx++) {
          const q = (dy / sigmaRows) ** 2 + (dx / sigmaColumns) ** 2;
          if (q > truncate * truncate) continue;
          const u = at(image, r + dy, c + dx);
          const w = Math.exp(-0.5 * q) * Math.exp(-((u - v) ** 2) / (2 * sigmaRange * sigmaRange));
          sum += w * u;
          weight += w;
        }
      }
      out[r * columns + c] = sum / weight;
    }
  }
  return out;
}

export function image(rows: number, columns: number, data: Float32Array, spacing: readonly [number, number] = [1, 1]): Image2D {
  return { rows, columns, data, pixelSpacing: spacing };
}

/** White Gaussian noise of SD `std` on a copy of `truth`. */
export function addNoise(truth: Float32Array, std: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from(truth, (v) => v + std * rng.normal());
}

/**
 * A piecewise-constant CT-like phantom on a -300 HU background: a water disc (0 HU) holding a fat
 * ellipse (-90), a bone bar (+700) and two low-contrast discs (+60, -60).
 */
export function piecewisePhantom(size: number): Float32Array {
  const out = new Float32Array(size * size);
  const s = size / 128;
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const y = r / s;
      const x = c / s;
      let v = -300;
      if ((y - 64) ** 2 + (x - 64) ** 2 < 56 ** 2) v = 0;
      if ((y - 40) ** 2 / 14 ** 2 + (x - 50) ** 2 / 22 ** 2 < 1) v = -90;
      if (y > 70 && y < 80 && x > 30 && x < 98) v = 700;
      if ((y - 95) ** 2 + (x - 50) ** 2 < 9 ** 2) v = 60;
      if ((y - 95) ** 2 + (x - 80) ** 2 < 7 ** 2) v = -60;
      out[r * size + c] = v;
    }
  }
  return out;
}

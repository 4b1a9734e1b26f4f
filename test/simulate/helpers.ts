import type { Image2D } from '../../src/image.js';

/** Mean and standard deviation of the pixels within `radius` mm of (x, y) mm from the image centre. */
export function circleStats(image: Image2D, x: number, y: number, radius: number): { mean: number; std: number; count: number } {
  const { rows, columns, data, pixelSpacing } = image;
  const [dy, dx] = pixelSpacing;
  let sum = 0;
  let sumSq = 0;
  let count = 0;
  for (let i = 0; i < rows; i++) {
    const py = (i - (rows - 1) / 2) * dy - y;
    for (let j = 0; j < columns; j++) {
      const px = (j - (columns - 1) / 2) * dx - x;
      if (px * px + py * py <= radius * radius) {
        const v = data[i * columns + j]!;
        sum += v;
        sumSq += v * v;
        count++;
      }
    }
  }
  const mean = sum / count;
  return { mean, std: Math.sqrt(Math.max(0, sumSq / count - mean * mean)), count };
}

/** 1 inside a centred circle of `radius` mm. */
export function circleMask(image: Pick<Image2D, 'rows' | 'columns' | 'pixelSpacing'>, radius: number): Uint8Array {
  const { rows, columns, pixelSpacing } = image;
  const mask = new Uint8Array(rows * columns);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < columns; j++) {
      const x = (j - (columns - 1) / 2) * pixelSpacing[1];
      const y = (i - (rows - 1) / 2) * pixelSpacing[0];
      mask[i * columns + j] = x * x + y * y <= radius * radius ? 1 : 0;
    }
  }
  return mask;
}

export function sameBytes(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Synthetic images with known answers for the metrics tests. */
import type { Image2D } from '../../src/image.js';
import { Rng } from '../../src/util/random.js';

/** erf to ~1.2e-7 (Numerical Recipes' erfc Chebyshev fit), enough for edge profiles. */
export function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const erfc =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - erfc : erfc - 1;
}

/** Standard normal CDF. */
export function phi(x: number): number {
  return 0.5 * (1 + erf(x / Math.SQRT2));
}

/**
 * A straight edge blurred by a Gaussian PSF of `sigma` mm, point-sampled at pixel centres (so its
 * MTF is exactly exp(-2 pi^2 sigma^2 f^2)). The edge passes through the image centre, tilted
 * `angleDeg` from the column axis (a near-vertical edge); `low` on the left, `high` on the right.
 */
export function blurredEdge(size: number, spacing: number, sigma: number, angleDeg: number, low: number, high: number): Image2D {
  const data = new Float32Array(size * size);
  const t = (angleDeg * Math.PI) / 180;
  const c0 = (size - 1) / 2;
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      // Normal of the edge line (cos t, -sin t) in (column, row) mm.
      const d = ((c - c0) * Math.cos(t) - (r - c0) * Math.sin(t)) * spacing;
      data[r * size + c] = low + (high - low) * phi(d / sigma);
    }
  }
  return { rows: size, columns: size, data, pixelSpacing: [spacing, spacing] };
}

/**
 * A disk of `radius` mm centred at (centerRow, centerCol) px blurred by a Gaussian PSF of `sigma` mm,
 * point-sampled: value = integral over the disk of the 2-D Gaussian, done as a 1-D integral over
 * the disk's chords (Simpson's rule) of the Gaussian CDF across each chord.
 */
export function blurredDisk(
  size: number,
  spacing: number,
  radius: number,
  sigma: number,
  center: readonly [number, number],
  inside: number,
  outside: number,
): Image2D {
  const data = new Float32Array(size * size);
  const steps = 400;
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const x = (c - center[1]) * spacing;
      const y = (r - center[0]) * spacing;
      const rho = Math.hypot(x, y);
      let fraction: number;
      if (rho < radius - 7 * sigma) fraction = 1;
      else if (rho > radius + 7 * sigma) fraction = 0;
      else {
        const a = Math.max(-radius, x - 7 * sigma);
        const b = Math.min(radius, x + 7 * sigma);
        const h = (b - a) / steps;
        let sum = 0;
        for (let i = 0; i <= steps; i++) {
          const u = a + i * h;
          const halfChord = Math.sqrt(Math.max(0, radius * radius - u * u));
          const across = phi((halfChord - y) / sigma) - phi((-halfChord - y) / sigma);
          const weight = i === 0 || i === steps ? 1 : i % 2 === 1 ? 4 : 2;
          sum += weight * Math.exp(-((x - u) ** 2) / (2 * sigma * sigma)) * across;
        }
        fraction = ((sum * h) / 3) / (sigma * Math.sqrt(2 * Math.PI));
      }
      data[r * size + c] = outside + (inside - outside) * fraction;
    }
  }
  return { rows: size, columns: size, data, pixelSpacing: [spacing, spacing] };
}

/** Adds seeded white Gaussian noise of `sd`, in place; returns the image. */
export function addNoise(image: Image2D, sd: number, seed: number): Image2D {
  const rng = new Rng(seed);
  for (let i = 0; i < image.data.length; i++) image.data[i]! += sd * rng.normal();
  return image;
}

/** Frequency (cycles/mm) where a falling analytic MTF first crosses `level`, by bisection on [0, 5]. */
export function analyticCrossing(mtf: (f: number) => number, level: number): number {
  let lo = 0;
  let hi = 5;
  for (let i = 0; i < 60; i++) {
    const f = (lo + hi) / 2;
    if (mtf(f) > level) lo = f;
    else hi = f;
  }
  return lo;
}

/** The analytic MTF50 / MTF10 of a Gaussian PSF of `sigma` mm: sqrt(-ln(level) / (2 pi^2 sigma^2)). */
export function gaussianMtfAt(level: number, sigma: number): number {
  return Math.sqrt(-Math.log(level) / (2 * Math.PI * Math.PI * sigma * sigma));
}

/**
 * A piecewise-constant "body" slice: air, a fat ellipse, soft-tissue organs, bone, a lung with
 * vessels, in HU; many edges so noise estimators must ignore structure.
 */
export function piecewiseBody(size: number, spacing: number): Image2D {
  const data = new Float32Array(size * size);
  const c = (size - 1) / 2;
  const disks: [number, number, number, number][] = [
    // row, col (fractions of size), radius fraction, HU
    [0.45, 0.35, 0.12, 55], // liver
    [0.4, 0.65, 0.08, 35], // spleen
    [0.6, 0.4, 0.05, 150], // kidney (contrast)
    [0.6, 0.62, 0.05, 150],
    [0.72, 0.5, 0.05, 700], // vertebra
    [0.3, 0.5, 0.06, -800], // lung
    [0.5, 0.5, 0.025, 250], // aorta
  ];
  for (let r = 0; r < size; r++) {
    for (let col = 0; col < size; col++) {
      const y = (r - c) / size;
      const x = (col - c) / size;
      let v = -1000;
      if ((x / 0.45) ** 2 + (y / 0.38) ** 2 < 1) v = -100; // fat
      if ((x / 0.4) ** 2 + (y / 0.33) ** 2 < 1) v = 40; // muscle / soft tissue
      for (const [dr, dc, rad, hu] of disks) {
        if ((r / size - dr) ** 2 + (col / size - dc) ** 2 < rad * rad) v = hu;
      }
      // Small vessels in the lung.
      if ((r / size - 0.3) ** 2 + (col / size - 0.5) ** 2 < 0.06 ** 2 && (r + 3 * col) % 17 < 2) v = 40;
      data[r * size + col] = v;
    }
  }
  return { rows: size, columns: size, data, pixelSpacing: [spacing, spacing] };
}

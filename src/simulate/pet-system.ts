/**
 * The 2-D PET system model: a parallel-beam sinogram of lines of response over [0, pi), projected
 * with Joseph's method (./joseph.ts) and back-projected with its exact adjoint, so OSEM's
 * multiplicative update is consistent. Bins are `binSize` mm apart, centred on the image centre,
 * and cover the image diagonal so no pixel is outside the field of view.
 */
import {
  collectPadded,
  emptyPadded,
  padImage,
  projectRay,
  scatterRay,
  supportClip,
  type PaddedImage,
  type PixelGrid,
} from './joseph.js';

export interface PetSinogramShape {
  /** Projection angles over 180 degrees. */
  readonly angles: number;
  /** Radial bins per angle. */
  readonly bins: number;
  /** Radial bin spacing, mm. */
  readonly binSize: number;
}

/** A sinogram covering the whole image with bins one pixel wide. */
export function defaultPetSinogram(grid: PixelGrid, angles: number): PetSinogramShape {
  const binSize = Math.min(grid.dx, grid.dy);
  const diagonal = Math.hypot(grid.rows * grid.dy, grid.columns * grid.dx);
  const half = Math.ceil(diagonal / 2 / binSize) + 1;
  return { angles, bins: 2 * half + 1, binSize };
}

export class PetSystem {
  readonly grid: PixelGrid;
  readonly shape: PetSinogramShape;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly padded: PaddedImage;
  private readonly acc: PaddedImage;

  constructor(grid: PixelGrid, shape: PetSinogramShape) {
    this.grid = grid;
    this.shape = shape;
    this.cos = new Float64Array(shape.angles);
    this.sin = new Float64Array(shape.angles);
    for (let a = 0; a < shape.angles; a++) {
      this.cos[a] = Math.cos((Math.PI * a) / shape.angles);
      this.sin[a] = Math.sin((Math.PI * a) / shape.angles);
    }
    this.padded = emptyPadded(grid);
    this.acc = emptyPadded(grid);
  }

  get binCount(): number {
    return this.shape.angles * this.shape.bins;
  }

  /** Signed distance of bin k from the centre, mm. */
  binOffset(k: number): number {
    return (k - (this.shape.bins - 1) / 2) * this.shape.binSize;
  }

  /**
   * Line integrals of `image` (value x mm) into `out` for the listed angles (all when omitted);
   * bins of other angles are left as they are.
   */
  forward(image: Float32Array, out: Float32Array, angleList?: ArrayLike<number>): Float32Array {
    const padded = padImage(this.grid, image, this.padded);
    const clip = supportClip(this.grid, image);
    const { bins } = this.shape;
    const count = angleList ? angleList.length : this.shape.angles;
    for (let n = 0; n < count; n++) {
      const a = angleList ? angleList[n]! : n;
      const c = this.cos[a]!;
      const s = this.sin[a]!;
      for (let k = 0; k < bins; k++) {
        const t = this.binOffset(k);
        // The line {x cos + y sin = t}, walked along (-sin, cos).
        out[a * bins + k] = projectRay(this.grid, padded, t * c, t * s, -s, c, clip);
      }
    }
    return out;
  }

  /** Adjoint of `forward` over the listed angles, into `out` (overwritten). */
  back(sinogram: Float32Array, out: Float32Array, angleList?: ArrayLike<number>): Float32Array {
    const acc = this.acc;
    acc.alongX.fill(0);
    acc.alongY.fill(0);
    const { bins } = this.shape;
    const count = angleList ? angleList.length : this.shape.angles;
    for (let n = 0; n < count; n++) {
      const a = angleList ? angleList[n]! : n;
      const c = this.cos[a]!;
      const s = this.sin[a]!;
      for (let k = 0; k < bins; k++) {
        const t = this.binOffset(k);
        scatterRay(this.grid, acc, t * c, t * s, -s, c, sinogram[a * bins + k]!);
      }
    }
    return collectPadded(this.grid, acc, out);
  }
}

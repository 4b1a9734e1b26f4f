/**
 * Noise draws of a placement: the low-count scan and the full-count reconstruction of the same
 * events, simulated with the toolkit's PET physics (`simulatePet`, the code of `lowdose simulate`)
 * for each slice a placement needs. `noiseSeed` is also scripts/experiments/pet-input-bias.ts's, so
 * noise draw n of a placement is the same events in both scripts.
 */
import type { Image2D } from '../../../src/image.js';
import { simulatePet } from '../../../src/simulate/pet.js';
import type { VolumeGrid } from './lesions.js';

/** Draws per placement at most: seeds of draw n > 0 are placementSeed * DRAWS_PER_SEED + n. */
export const DRAWS_PER_SEED = 1000;

/**
 * The Poisson seed of noise draw `draw` of the placement seeded `placementSeed`. Draw 0 is the
 * placement seed itself (the events the single-draw tables score), draw n > 0 placementSeed x 1000 + n,
 * distinct from every other placement's draws while placement seeds stay under 1000.
 */
export function noiseSeed(placementSeed: number, draw: number): number {
  if (!Number.isInteger(draw) || draw < 0 || draw >= DRAWS_PER_SEED) throw new RangeError(`noiseSeed: draw ${draw} outside 0..${DRAWS_PER_SEED - 1}`);
  return draw === 0 ? placementSeed : placementSeed * DRAWS_PER_SEED + draw;
}

export interface SimulatedDraw {
  readonly indices: number[];
  /** Low-count reconstruction, SUV, one per index. */
  readonly low: Float32Array[];
  /** Full-count reconstruction of the same events plus the rest, SUV: the draw's own reference. */
  readonly ref: Float32Array[];
}

/**
 * Simulates slices `indices` of `activity` (Bq/ml) at `dose` with Poisson seed `seed` (the slice
 * index is the stream), both images scaled to SUV by `suvFactor`.
 */
export function simulateDraw(
  activity: readonly Float32Array[],
  grid: VolumeGrid,
  indices: readonly number[],
  dose: number,
  seed: number,
  suvFactor: number,
  onSlice?: (done: number) => void,
): SimulatedDraw {
  const low: Float32Array[] = [];
  const ref: Float32Array[] = [];
  for (const [j, k] of indices.entries()) {
    const image: Image2D = { rows: grid.rows, columns: grid.columns, pixelSpacing: [grid.dy, grid.dx], data: activity[k]! };
    const r = simulatePet(image, { countsFraction: dose, seed, sliceIndex: k, sliceThicknessMm: grid.dz });
    low.push(r.lowDose.data.map((v) => v * suvFactor));
    ref.push(r.fullDose!.data.map((v) => v * suvFactor));
    onSlice?.(j + 1);
  }
  return { indices: [...indices], low, ref };
}

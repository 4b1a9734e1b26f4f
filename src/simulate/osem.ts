/**
 * Ordered-subsets expectation maximisation (Hudson & Larkin 1994) for the Poisson model
 *   y ~ Poisson(w * A x + r)
 * with A the line-integral projector, w the per-bin detection weight (scale x normalisation x
 * attenuation) and r the known additive background (scatter + randoms). Each sub-iteration uses
 * the angles of one subset (angles s, s + S, s + 2S, ...):
 *   x <- x / (A_s^T w) * A_s^T (w y / (w A_s x + r))
 * Because the model includes w, the image comes out in the units of the activity that produced y.
 */
import { LowdoseError } from '../errors.js';
import type { PetSystem } from './pet-system.js';

export interface OsemOptions {
  readonly iterations: number;
  readonly subsets: number;
}

export function osemReconstruct(
  system: PetSystem,
  counts: Float32Array,
  weights: Float32Array,
  background: Float32Array,
  options: OsemOptions,
): Float32Array {
  const { iterations, subsets } = options;
  const { angles, bins } = system.shape;
  if (!(Number.isInteger(iterations) && iterations >= 1)) {
    throw new LowdoseError('E_USAGE', `OSEM iterations must be a positive integer, got ${iterations}`);
  }
  if (!(Number.isInteger(subsets) && subsets >= 1 && subsets <= angles)) {
    throw new LowdoseError('E_USAGE', `OSEM subsets must be an integer in [1, ${angles}], got ${subsets}`);
  }
  const pixels = system.grid.rows * system.grid.columns;
  const subsetAngles: Int32Array[] = [];
  for (let s = 0; s < subsets; s++) {
    const list: number[] = [];
    for (let a = s; a < angles; a += subsets) list.push(a);
    subsetAngles.push(Int32Array.from(list));
  }
  // Sensitivity image of each subset: A_s^T w.
  const sensitivity = subsetAngles.map((list) => system.back(weights, new Float32Array(pixels), list));

  // Start from a uniform image whose expected counts match the measured ones.
  const estimate = new Float32Array(pixels).fill(1);
  const projected = system.forward(estimate, new Float32Array(system.binCount));
  let net = 0;
  let modelled = 0;
  for (let b = 0; b < counts.length; b++) {
    net += counts[b]! - background[b]!;
    modelled += weights[b]! * projected[b]!;
  }
  estimate.fill(net > 0 && modelled > 0 ? net / modelled : 1);

  const ratio = new Float32Array(system.binCount);
  const correction = new Float32Array(pixels);
  for (let it = 0; it < iterations; it++) {
    for (let s = 0; s < subsets; s++) {
      const list = subsetAngles[s]!;
      system.forward(estimate, projected, list);
      for (const a of list) {
        for (let b = a * bins; b < (a + 1) * bins; b++) {
          const w = weights[b]!;
          const expected = w * projected[b]! + background[b]!;
          ratio[b] = expected > 0 ? (w * counts[b]!) / expected : 0;
        }
      }
      system.back(ratio, correction, list);
      const sens = sensitivity[s]!;
      for (let i = 0; i < pixels; i++) {
        const q = sens[i]!;
        estimate[i] = q > 0 ? (estimate[i]! * correction[i]!) / q : 0;
      }
    }
  }
  return estimate;
}

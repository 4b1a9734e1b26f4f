/**
 * The noise-free scan of a phantom's truth slice: the fixture's own simulation (its kernel, or its
 * PET reconstruction) at 1e8 times its photons or counts, 1e-4 of its noise SD. The uncertainty
 * scripts score a phantom's denoised output against it (docs/uncertainty.md, "The phantoms'
 * truth"): against the raw truth the denoiser would be blamed for the reconstruction's blur.
 */
import type { Image2D } from '../../src/image.js';
import { simulateCtFromTruth } from '../../src/simulate/ct.js';
import type { FilterWindow } from '../../src/simulate/filters.js';
import { simulatePet } from '../../src/simulate/pet.js';

/** `simulation`: the fixture's `fixture.json` simulation record of a dose (kernel, i0, PET timing). */
export function noiseFreeScan(modality: 'CT' | 'PT', truth: Image2D, unitsScale: number, simulation: Record<string, unknown>, sliceIndex: number): Float32Array {
  if (modality === 'CT') {
    const [window, , cutoff] = String(simulation['kernel']).split(' ');
    const result = simulateCtFromTruth(truth, {
      dose: 1,
      i0: Number(simulation['i0'] ?? 1e5) * 1e8,
      electronicNoise: 0,
      kernel: { window: window as FilterWindow, cutoff: Number(cutoff) },
      seed: 0,
      sliceIndex,
      fullDose: false,
    });
    return result.lowDose.data;
  }
  // PET: the simulator works in Bq/ml; 1e8 times the counts.
  const activity = { ...truth, data: truth.data.map((v) => v / unitsScale) };
  const result = simulatePet(activity, {
    countsFraction: 1,
    frameDurationS: Number(simulation['frameDurationS'] ?? 180) * 1e8,
    sliceThicknessMm: Number(simulation['sliceThicknessMm'] ?? 3),
    postFilterFwhmMm: Number(simulation['postFilterFwhmMm'] ?? 4),
    seed: 0,
    sliceIndex,
  });
  return result.lowDose.data.map((v) => v * unitsScale);
}

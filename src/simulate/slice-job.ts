/**
 * One slice of a volume simulation, as plain data so it can cross to a worker thread: the same
 * function runs in the main thread and in workers, and each slice draws its noise from its own
 * stream (seed, sliceIndex), so results do not depend on the number of workers.
 */
import type { Image2D } from '../image.js';
import { insertCtNoise, simulateCtFromTruth, type CtSimulationOptions } from './ct.js';
import { simulatePet, type PetSimulationOptions } from './pet.js';

export type SliceJob =
  | { readonly kind: 'ct-truth'; readonly options: Omit<CtSimulationOptions, 'sliceIndex'> & { readonly fullDose?: boolean } }
  | { readonly kind: 'ct-insert'; readonly options: Omit<CtSimulationOptions, 'sliceIndex'> }
  | { readonly kind: 'pet'; readonly options: Omit<PetSimulationOptions, 'sliceIndex' | 'muMapPerCm'> };

export interface SliceInput {
  readonly image: Image2D;
  /** Position of the slice in its volume: the noise stream key. */
  readonly sliceIndex: number;
  /** PET only: this slice's attenuation map at 511 keV, 1/cm. */
  readonly muMapPerCm?: Float32Array;
}

export interface SliceOutput {
  readonly lowDose: Float32Array;
  /** The matched full-dose reconstruction (null for noise insertion, whose input is the full dose). */
  readonly fullDose: Float32Array | null;
}

export function runSliceJob(job: SliceJob, input: SliceInput): SliceOutput {
  const { image, sliceIndex } = input;
  switch (job.kind) {
    case 'ct-truth': {
      const r = simulateCtFromTruth(image, { ...job.options, sliceIndex });
      return { lowDose: r.lowDose.data, fullDose: r.fullDose?.data ?? null };
    }
    case 'ct-insert':
      return { lowDose: insertCtNoise(image, { ...job.options, sliceIndex }).data, fullDose: null };
    case 'pet': {
      const r = simulatePet(image, { ...job.options, sliceIndex, ...(input.muMapPerCm ? { muMapPerCm: input.muMapPerCm } : {}) });
      return { lowDose: r.lowDose.data, fullDose: r.fullDose?.data ?? null };
    }
  }
}

/**
 * The bench's input: one phantom slice in modality units, so `lowdose bench` needs no data.
 * CT: a body phantom slice (HU); PET: an IEC phantom slice in SUVbw (its background is SUV 1 by
 * construction). Speed does not depend on the values, but normalisation and clipping run on
 * realistic ones.
 */
import { generateBody, generateIec } from '../phantoms/index.js';
import type { Modality } from '../models/card.js';

export interface SyntheticSlice {
  readonly modality: Modality;
  readonly units: 'HU' | 'SUVbw';
  readonly size: number;
  readonly image: Float32Array;
  /** [row, column] spacing of the phantom's grid, mm (the consistency step's scale is in mm). */
  readonly pixelSpacing: [number, number];
}

export function syntheticSlice(modality: Modality, size: number, seed = 0): SyntheticSlice {
  if (modality === 'CT') {
    const body = generateBody({ size, slices: 1, seed });
    return { modality, units: 'HU', size, image: body.volume.slices[0]!, pixelSpacing: [body.volume.spacing[0], body.volume.spacing[1]] };
  }
  const iec = generateIec({ size, slices: 1, seed });
  const bqml = iec.volume.slices[0]!;
  const image = new Float32Array(bqml.length);
  const perSuv = iec.geometry.backgroundBqml;
  for (let i = 0; i < bqml.length; i++) image[i] = bqml[i]! / perSuv;
  return { modality, units: 'SUVbw', size, image, pixelSpacing: [iec.volume.spacing[0], iec.volume.spacing[1]] };
}

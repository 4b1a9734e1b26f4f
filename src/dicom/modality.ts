/**
 * The modality LUT: stored values → modality units (HU for CT) through RescaleSlope and
 * RescaleIntercept, and what those units are called for each modality.
 */
import type { ImageHeader } from './image-header.js';
import type { StoredValues } from './pixels.js';
import type { Units } from './types.js';

/**
 * Units of the modality-LUT output before any SUV conversion: HU for CT, PET's own Units
 * attribute (BQML, CNTS, ...) for PT, RescaleType or 'MODALITY' for everything else.
 */
export function modalityUnits(header: Pick<ImageHeader, 'modality' | 'rescaleType' | 'units'>): Units {
  if (header.modality === 'CT') return header.rescaleType && header.rescaleType !== 'US' ? header.rescaleType.toUpperCase() : 'HU';
  if (header.modality === 'PT') return header.units ?? 'MODALITY';
  return header.rescaleType ?? 'MODALITY';
}

/** (stored × slope + intercept) × scale, as float32. `scale` is the SUV factor for PET. */
export function applyModalityLut(
  stored: StoredValues,
  slope: number,
  intercept: number,
  scale = 1,
  out: Float32Array = new Float32Array(stored.length),
): Float32Array {
  const a = slope * scale;
  const b = intercept * scale;
  for (let i = 0; i < stored.length; i++) out[i] = stored[i]! * a + b;
  return out;
}

/**
 * Angular tube-current modulation (TCM): clinical scanners (Siemens CARE Dose4D, GE SmartmA,
 * Philips DoseRight) raise the tube current for views that cross the patient's long axis and lower
 * it for views along the short axis, at the same total mAs. For an ellipse the noise of a pixel is
 * dominated by its most attenuated views, so the current that minimises the central pixel's
 * variance at a fixed dose follows the square root of each view's attenuation (Gies et al., Med
 * Phys 26:2235, 1999):
 *   I(view) ∝ exp(strength · A(view)),  strength 0.5 for that optimum, 0 for a constant current,
 * with A(view) the view's largest line integral (the patient's water-equivalent thickness along it,
 * what the scanner reads from the topogram). The factors are normalised to a mean of 1 over the
 * rotation, so modulation moves photons between views without changing the dose.
 */
import { LowdoseError } from '../errors.js';

/** Largest modulation strength accepted (1 would follow the attenuation itself). */
export const MAX_TCM_STRENGTH = 1;

/**
 * Per-view tube-current factors (mean 1) for a sinogram of `channels` line integrals per view.
 * Strength 0 gives all ones.
 */
export function tubeCurrentModulation(lineIntegrals: Float32Array, channels: number, strength: number): Float64Array {
  if (!(strength >= 0 && strength <= MAX_TCM_STRENGTH)) {
    throw new LowdoseError('E_USAGE', `tube-current modulation strength must be in [0, ${MAX_TCM_STRENGTH}], got ${strength}`);
  }
  const views = Math.floor(lineIntegrals.length / channels);
  const out = new Float64Array(views).fill(1);
  if (strength === 0 || views === 0) return out;
  const peak = new Float64Array(views);
  let top = 0;
  for (let v = 0; v < views; v++) {
    let m = 0;
    const row = v * channels;
    for (let c = 0; c < channels; c++) if (lineIntegrals[row + c]! > m) m = lineIntegrals[row + c]!;
    peak[v] = m;
    if (m > top) top = m;
  }
  // Relative to the largest view so exp() cannot overflow on any patient.
  let sum = 0;
  for (let v = 0; v < views; v++) sum += out[v] = Math.exp(strength * (peak[v]! - top));
  const scale = views / sum;
  for (let v = 0; v < views; v++) out[v]! *= scale;
  return out;
}

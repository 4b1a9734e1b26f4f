/**
 * Is a series' in-plane pixel spacing far from what the model was trained on?
 *
 * A convolutional denoiser sees noise grain, edges and organs in pixels, so a series whose pixels
 * are much larger or smaller than its training data's is an input it has not seen. The card's
 * `pixelSpacing` gives the range of the training, validation and test volumes; a series more
 * than SPACING_TOLERANCE beyond either end gets an E_PIXEL_SPACING warning, like E_SHARP_KERNEL
 * for kernels: it is still denoised, and the report says its quality there is not measured.
 * The tolerance keeps the common 0.9 to 1 mm pixels of a 500 mm field of view quiet for a model
 * trained at 0.70 to 0.84 mm.
 */
import type { ModelCard } from './card.js';
import type { SettingsWarning } from './denoiser.js';

/** A series warns beyond maxMm x 1.2 or below minMm / 1.2. */
export const SPACING_TOLERANCE = 1.2;

/** The warning for a series of this pixel spacing ([row, column] mm), or null when it is in range or the card says nothing. */
export function pixelSpacingWarning(card: Pick<ModelCard, 'name' | 'pixelSpacing'>, seriesKey: string, spacing: readonly [number, number]): SettingsWarning | null {
  const range = card.pixelSpacing;
  if (!range) return null;
  const low = range.minMm / SPACING_TOLERANCE;
  const high = range.maxMm * SPACING_TOLERANCE;
  const outside = spacing.find((s) => s < low || s > high);
  if (outside === undefined) return null;
  const mm = (x: number) => x.toFixed(2);
  return {
    path: null,
    code: 'E_PIXEL_SPACING',
    message:
      `${seriesKey}: pixel spacing ${mm(spacing[0])} x ${mm(spacing[1])} mm is outside the ${mm(range.minMm)} to ${mm(range.maxMm)} mm ` +
      `model ${card.name} was trained and tested on (warned beyond ${mm(low)} to ${mm(high)} mm); it is denoised, but its quality ` +
      'at this pixel size is not measured on real scans (models/README.md, "Pixel size")',
  };
}

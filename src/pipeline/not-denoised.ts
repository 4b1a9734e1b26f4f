/**
 * What a run says of a series it does not denoise: only CT and PET are. A non-image or
 * vendor-private file can carry no Modality or no SeriesInstanceUID, and the line still reads.
 */
import type { Series } from '../dicom/index.js';

export function notDenoisedMessage(series: Pick<Series, 'modality' | 'seriesInstanceUid'>): string {
  const what = series.modality ? `${series.modality} series` : 'series without a Modality';
  return `skipping ${what} ${series.seriesInstanceUid || '(no SeriesInstanceUID)'}: only CT and PET are denoised`;
}

/**
 * What a run says of a series it does not denoise: only CT and PET are. A non-image or
 * vendor-private file can carry no Modality or no SeriesInstanceUID, and the line still reads.
 * A UID split into several series (by image size or orientation: keys `uid#1`, `uid#2`, ...) is
 * named by its key, so that each part's line says which part it is.
 */
import type { Series } from '../dicom/index.js';

export function notDenoisedMessage(series: Pick<Series, 'modality' | 'seriesInstanceUid'> & { readonly key?: string }): string {
  const what = series.modality ? `${series.modality} series` : 'series without a Modality';
  const name = series.key && series.key !== series.seriesInstanceUid ? series.key : series.seriesInstanceUid;
  return `skipping ${what} ${name || '(no SeriesInstanceUID)'}: only CT and PET are denoised`;
}

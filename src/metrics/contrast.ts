/**
 * Phantom measurements built on ROI statistics: contrast-to-noise ratio, CT number (HU) accuracy
 * of inserts against their nominal values, and noise in uniform regions.
 */
import { roiStats, type Roi, type RoiStats, type SpacedPixels } from './roi.js';

/** CNR = |mean(roi) - mean(background)| / std(background). */
export function cnr(image: SpacedPixels, roi: Roi, background: Roi): number {
  const signal = roiStats(image, roi);
  const bg = roiStats(image, background);
  return Math.abs(signal.mean - bg.mean) / bg.std;
}

export interface Insert {
  readonly name: string;
  readonly roi: Roi;
  /** Nominal value in modality units (HU for CT). */
  readonly nominal: number;
  /** Allowed |measured - nominal|; when given, the result says whether it passed. */
  readonly tolerance?: number;
}

export interface InsertAccuracy {
  readonly name: string;
  readonly nominal: number;
  readonly measured: number;
  /** measured - nominal. */
  readonly error: number;
  readonly std: number;
  readonly count: number;
  readonly pass?: boolean;
}

/** Mean value of each insert against its nominal value. */
export function insertAccuracy(image: SpacedPixels, inserts: readonly Insert[]): InsertAccuracy[] {
  return inserts.map((insert) => {
    const stats = roiStats(image, insert.roi);
    const error = stats.mean - insert.nominal;
    return {
      name: insert.name,
      nominal: insert.nominal,
      measured: stats.mean,
      error,
      std: stats.std,
      count: stats.count,
      ...(insert.tolerance === undefined ? {} : { pass: Math.abs(error) <= insert.tolerance }),
    };
  });
}

export interface UniformNoise {
  /** Pooled noise: sqrt of the mean of the ROI variances. */
  readonly std: number;
  /** Mean of the ROI means. */
  readonly mean: number;
  readonly rois: RoiStats[];
}

/**
 * Noise in regions known to be uniform (a water phantom, a uniformity module). ROIs are pooled by
 * variance so that one large ROI does not dominate and slow drifts between ROIs do not count as noise.
 */
export function uniformNoise(image: SpacedPixels, rois: readonly Roi[]): UniformNoise {
  if (rois.length === 0) throw new RangeError('uniformNoise needs at least one ROI');
  const stats = rois.map((roi) => roiStats(image, roi));
  const meanVariance = stats.reduce((s, r) => s + r.std * r.std, 0) / stats.length;
  return { std: Math.sqrt(meanVariance), mean: stats.reduce((s, r) => s + r.mean, 0) / stats.length, rois: stats };
}

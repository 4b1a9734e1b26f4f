/**
 * What `denoise --uncertainty` says in report.json about the calibrated uncertainty map: per slice
 * and per series, the fraction of tissue pixels whose sigma is above the threshold, the mean sigma,
 * and the most uncertain 16 x 16 patches with their centres in patient coordinates (mm).
 */
import { patientPosition } from '../dicom/geometry.js';
import type { Series } from '../dicom/index.js';
import { tissuePatchMeans } from '../metrics/uncertainty.js';
import { roundTo } from '../util/round.js';

/** Summary block size in pixels (as the calibration's patches). */
export const SUMMARY_PATCH = 16;
const WORST_PER_SLICE = 3;
const WORST_PER_SERIES = 10;

export interface UncertainPatch {
  readonly slice: number;
  readonly xMm: number;
  readonly yMm: number;
  readonly zMm: number;
  readonly sizeMm: number;
  /** Mean calibrated sigma over the patch, in the series' units. */
  readonly sigma: number;
}

export interface UncertaintySliceSummary {
  readonly index: number;
  /** Fraction of tissue pixels with sigma above the threshold. */
  readonly fractionAbove: number;
  readonly meanSigma: number;
  readonly worst: UncertainPatch[];
}

export interface UncertaintySeriesSummary {
  readonly threshold: number;
  readonly units: string;
  readonly fractionAbove: number;
  readonly meanSigma: number;
  readonly tissuePixels: number;
  readonly worst: UncertainPatch[];
}

export class UncertaintySummary {
  private readonly slices: UncertaintySliceSummary[] = [];
  private above = 0;
  private pixels = 0;
  private sigmaSum = 0;
  private readonly worst: UncertainPatch[] = [];

  constructor(
    private readonly series: Series,
    private readonly threshold: number,
    private readonly units: string,
  ) {}

  /**
   * Adds slice `index`: its calibrated sigma map and its input (which decides what is tissue);
   * padding pixels (outside the scanned field) count nowhere.
   */
  add(index: number, sigma: Float32Array, input: Float32Array, padding: Uint8Array | null = null): void {
    const { rows, columns } = this.series;
    const patches = tissuePatchMeans([sigma], input, rows, columns, SUMMARY_PATCH, this.series.units, padding);
    let above = 0;
    let sum = 0;
    let pixels = 0;
    for (const p of patches) {
      for (let y = p.row; y < p.row + SUMMARY_PATCH; y++) {
        for (let x = p.column; x < p.column + SUMMARY_PATCH; x++) {
          if (padding?.[y * columns + x]) continue;
          const v = sigma[y * columns + x]!;
          sum += v;
          pixels++;
          if (v > this.threshold) above++;
        }
      }
    }
    const sizeMm = roundTo((SUMMARY_PATCH * (this.series.spacing[0] + this.series.spacing[1])) / 2, 2);
    const centre = (SUMMARY_PATCH - 1) / 2;
    const ranked = [...patches].sort((a, b) => b.means[0]! - a.means[0]!).slice(0, WORST_PER_SERIES);
    const worst = ranked.map((p): UncertainPatch => {
      const [x, y, z] = patientPosition(this.series, index, p.row + centre, p.column + centre);
      return { slice: index, xMm: roundTo(x, 2), yMm: roundTo(y, 2), zMm: roundTo(z, 2), sizeMm, sigma: roundTo(p.means[0]!, 3) };
    });
    this.slices.push({
      index,
      fractionAbove: pixels > 0 ? roundTo(above / pixels, 5) : 0,
      meanSigma: pixels > 0 ? roundTo(sum / pixels, 3) : 0,
      worst: worst.slice(0, WORST_PER_SLICE),
    });
    this.above += above;
    this.pixels += pixels;
    this.sigmaSum += sum;
    this.worst.push(...worst);
    this.worst.sort((a, b) => b.sigma - a.sigma);
    this.worst.length = Math.min(this.worst.length, WORST_PER_SERIES);
  }

  seriesSummary(): UncertaintySeriesSummary {
    return {
      threshold: this.threshold,
      units: this.units,
      fractionAbove: this.pixels > 0 ? roundTo(this.above / this.pixels, 5) : 0,
      meanSigma: this.pixels > 0 ? roundTo(this.sigmaSum / this.pixels, 3) : 0,
      tissuePixels: this.pixels,
      worst: [...this.worst],
    };
  }

  perSlice(): UncertaintySliceSummary[] {
    return [...this.slices].sort((a, b) => a.index - b.index);
  }
}

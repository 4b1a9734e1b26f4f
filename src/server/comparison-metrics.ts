/**
 * PSNR / SSIM / RMSE of a comparison's panes, per slice and per series, with the conventions of
 * `lowdose metrics` (docs/contract.md): denoised and low-dose against the reference when
 * there is one, else the denoised against its low-dose source; plus a no-reference noise estimate
 * of both. Results are cached per slice, so the series means reuse what the viewer already asked.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Image2D } from '../image.js';
import { CT_RANGE, ssimWindowRefusal, type IntensityRange } from '../metrics/index.js';
import type { ComparisonMetrics, Scores, SliceMetrics } from './api-types.js';
import type { IndexedComparison } from './data/data-index.js';
import type { IndexedSeries } from './data/pairing.js';
import { scoreSlice, type SliceScoreInput, type SliceScoreOutput } from './slice-scores.js';
import { SharedRuns } from './shared-runs.js';
import type { SliceStore } from './slice-store.js';
import { LowdoseError } from '../errors.js';

export class ComparisonMetricsService {
  private readonly ranges = new SharedRuns<IntensityRange>();
  private readonly slices = new SharedRuns<SliceMetrics>();
  private readonly series = new SharedRuns<ComparisonMetrics>();

  /** `score` runs the pixel math (a worker thread in the server; in-thread by default). */
  constructor(
    private readonly store: SliceStore,
    private readonly score: (input: SliceScoreInput) => Promise<SliceScoreOutput> = async (input) => scoreSlice(input),
  ) {}

  /**
   * Metrics of low-dose slice `index` and the slices matched to it. `signal`: this caller's
   * interest, as for `all`: the value range of a series other than CT (read over every slice of
   * the series scored against, once per series) stops once every caller waiting for it has aborted.
   */
  slice(c: IndexedComparison, index: number, signal?: AbortSignal): Promise<SliceMetrics> {
    if (!Number.isInteger(index) || index < 0 || index >= c.lowDose.series.slices.length) {
      throw new LowdoseError('E_NOT_FOUND', `comparison ${c.id} has no slice ${index} (${c.lowDose.series.slices.length} slices)`);
    }
    // Refused as `lowdose metrics` refuses it (E_USAGE, a 400), not left to fail inside the
    // pixel math (a 500).
    const tooSmall = ssimWindowRefusal(c.lowDose.series.rows, c.lowDose.series.columns);
    if (tooSmall !== null) throw new LowdoseError('E_USAGE', tooSmall);
    return this.slices.join(`${keyOf(c)}:${index}`, (stop) => this.computeSlice(c, index, stop), signal);
  }

  /**
   * Every slice and the series means (slices computed one at a time, yielding between them). One
   * computation per comparison serves every caller that asks meanwhile. `signal`: this caller's
   * interest (an HTTP request's, aborted when its client goes); once every caller that asked has
   * aborted, no further slice is scored (nor its value range read on) and the computation fails
   * with E_CANCELLED. Slices already scored stay cached, so the next request goes on from there. A
   * caller without a signal keeps it running (./shared-runs.ts).
   */
  all(c: IndexedComparison, signal?: AbortSignal): Promise<ComparisonMetrics> {
    // Means over the slices an unfinished run left would read as the method's result on the series.
    if (c.incomplete) throw new LowdoseError('E_OUTPUT_INCOMPLETE', `comparison ${c.id} has no series scores: ${c.incomplete.message}`);
    return this.series.join(keyOf(c), (stop) => this.computeAll(c, stop), signal);
  }

  private async computeAll(c: IndexedComparison, signal: AbortSignal): Promise<ComparisonMetrics> {
    const slices: SliceMetrics[] = [];
    for (let i = 0; i < c.lowDose.series.slices.length; i++) {
      if (signal.aborted) throw new LowdoseError('E_CANCELLED', `the metrics of comparison ${c.id} were stopped after ${i} of ${c.lowDose.series.slices.length} slices: nobody waits for them any more`);
      slices.push(await this.slice(c, i, signal));
      await yieldToEventLoop();
    }
    return {
      comparisonId: c.id,
      against: c.reference ? 'reference' : 'source',
      range: [...(await this.range(c, signal))] as [number, number],
      units: c.lowDose.series.units,
      slices,
      mean: {
        denoised: meanScores(slices.map((s) => s.denoised)),
        lowDose: meanScores(slices.map((s) => s.lowDose)),
        noise: {
          lowDose: meanOf(slices.map((s) => s.noise.lowDose)),
          denoised: meanOf(slices.map((s) => s.noise.denoised)),
          ...(c.reference ? { reference: meanOf(slices.map((s) => s.noise.reference ?? null)) } : {}),
        },
      },
      unscoredReason: c.referenceGridMismatch,
    };
  }

  private async computeSlice(c: IndexedComparison, index: number, signal: AbortSignal): Promise<SliceMetrics> {
    const range = await this.range(c, signal);
    const lowDose = await this.store.read(c.lowDose, index);
    const denoisedIndex = c.alignment.denoised[index] ?? -1;
    const denoised = denoisedIndex >= 0 ? await this.store.read(c.denoised, denoisedIndex) : null;
    let reference: Image2D | null | undefined;
    if (c.reference && c.alignment.reference) {
      const referenceIndex = c.alignment.reference[index] ?? -1;
      // Scored pixel by pixel, a reference on another pixel grid (shown through patient
      // coordinates, `unscoredReference` in its denoise report) would compare other places: no
      // scores. The check is the CLI's (`lowdose metrics`): the same pairs are scored or not.
      const onGrid = referenceIndex >= 0 && c.referenceGridMismatch === null;
      reference = onGrid ? await this.store.read(c.reference, referenceIndex) : null;
    }
    const output = await this.score({ modality: c.lowDose.series.modality, range, lowDose, denoised, reference });
    return { index, ...output };
  }

  /** CONTRACT ranges: CT [-1000, 1000] HU; otherwise [0 or min, max] of the series scored against. */
  private range(c: IndexedComparison, signal: AbortSignal): Promise<IntensityRange> {
    const against = c.reference ?? c.lowDose;
    if (against.series.modality === 'CT') return Promise.resolve(CT_RANGE);
    return this.ranges.join(`${against.id}:${against.rev}`, (stop) => this.seriesRange(against, stop), signal);
  }

  /** The value range over every slice of `entry`; stops (E_CANCELLED) before the next slice once `signal` aborts. */
  private async seriesRange(entry: IndexedSeries, signal: AbortSignal): Promise<IntensityRange> {
    let min = Infinity;
    let max = -Infinity;
    const count = entry.series.slices.length;
    for (let i = 0; i < count; i++) {
      if (signal.aborted) throw new LowdoseError('E_CANCELLED', `the value range of series ${entry.id} was stopped after ${i} of ${count} slices: nobody waits for it any more`);
      const { data } = await this.store.read(entry, i);
      for (let k = 0; k < data.length; k++) {
        const v = data[k]!;
        if (v < min) min = v;
        if (v > max && v !== Infinity) max = v;
      }
    }
    const lo = entry.series.modality === 'PT' ? 0 : min;
    if (!(max > lo)) {
      throw new LowdoseError('E_USAGE', `series ${entry.id} has no positive range for metrics (max ${max})`);
    }
    return [lo, max];
  }
}

function keyOf(c: IndexedComparison): string {
  return [c.id, c.lowDose.rev, c.denoised.rev, c.reference?.rev ?? '-'].join(':');
}

function meanOf(values: Array<number | null>): number | null {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return finite.length > 0 ? finite.reduce((a, b) => a + b, 0) / finite.length : null;
}

function meanScores(values: Array<Scores | null>): Scores | null {
  const present = values.filter((v): v is Scores => v !== null);
  if (present.length === 0) return null;
  return {
    psnr: meanOf(present.map((s) => s.psnr)),
    ssim: meanOf(present.map((s) => s.ssim))!,
    rmse: meanOf(present.map((s) => s.rmse))!,
  };
}

/**
 * `denoise --reference`: scores each denoised series (and its low-dose input, for comparison)
 * against the matching series of a reference (normal-dose) study, slice by slice as they are
 * produced, with the CONTRACT's PSNR / SSIM / RMSE conventions.
 */
import { readSliceImage, scanPaths, type Series } from '../dicom/index.js';
import { LowdoseError } from '../errors.js';
import { SeriesComparison, defaultRange, maxValue, pairSlices, type IntensityRange, type Pixels } from '../metrics/index.js';
import type { SeriesMetrics } from './types.js';

export interface ReferenceSet {
  readonly series: Series[];
  readonly errors: Array<{ path: string | null; code: string; message: string }>;
}

export async function openReference(paths: readonly string[], log: (message: string) => void): Promise<ReferenceSet> {
  const scan = await scanPaths(paths);
  if (scan.missing.length > 0) throw new LowdoseError('E_NOT_FOUND', `--reference ${scan.missing.join(', ')}: no such file or directory`);
  if (scan.series.length === 0) throw new LowdoseError('E_USAGE', `--reference ${paths.join(', ')}: no readable image series`);
  log(`reference: ${scan.series.length} series`);
  return { series: scan.series, errors: scan.errors.map((e) => e.toJSON()) };
}

/**
 * The reference series that shares the most slice positions with `input` (same grid and units).
 * The input series itself comes last: when --reference names the study folder that holds it, it
 * would otherwise win the tie with the real reference and score the input against itself (PSNR
 * infinite, SSIM 1); named alone, it is still the reference (what the denoiser changed).
 */
function matchReference(reference: ReferenceSet, input: Series): { series: Series; inputToReference: Map<number, number> } | null {
  const others = reference.series.filter((candidate) => candidate.seriesInstanceUid !== input.seriesInstanceUid);
  const itself = reference.series.filter((candidate) => candidate.seriesInstanceUid === input.seriesInstanceUid);
  return bestMatch(others, input) ?? bestMatch(itself, input);
}

function bestMatch(candidates: readonly Series[], input: Series): { series: Series; inputToReference: Map<number, number> } | null {
  let best: { series: Series; inputToReference: Map<number, number> } | null = null;
  for (const candidate of candidates) {
    if (candidate.modality !== input.modality || candidate.units !== input.units) continue;
    if (candidate.rows !== input.rows || candidate.columns !== input.columns) continue;
    let pairs: Array<[number, number]>;
    try {
      const pairing = pairSlices(candidate, input);
      // Pairing by order is pairSlices' last resort. Between two series that both say where their
      // slices are and share none of those places (another patient, another part of the body), it
      // would score unrelated slices against each other.
      if (pairing.matchedBy === 'order' && pairing.bothPositioned) continue;
      pairs = pairing.pairs;
    } catch {
      continue;
    }
    const map = new Map<number, number>();
    for (const [r, t] of pairs) if (t >= 0) map.set(t, r);
    if (map.size > 0 && (!best || map.size > best.inputToReference.size)) best = { series: candidate, inputToReference: map };
  }
  return best;
}

export class ReferenceScorer {
  private readonly denoised: SeriesComparison;
  private readonly input: SeriesComparison;

  private constructor(
    private readonly reference: Series,
    private readonly inputToReference: Map<number, number>,
    private readonly range: IntensityRange,
  ) {
    this.denoised = new SeriesComparison(range);
    this.input = new SeriesComparison(range);
  }

  /** A scorer for `input`, or null (with a message) when the reference has no matching series. */
  static async create(reference: ReferenceSet, input: Series, log: (message: string) => void): Promise<ReferenceScorer | null> {
    const match = matchReference(reference, input);
    if (!match) {
      log(`no reference series matches ${input.seriesInstanceUid} (modality, size, units and slice positions); no metrics`);
      return null;
    }
    let range: IntensityRange;
    if (input.modality === 'CT') {
      range = defaultRange('CT');
    } else {
      // PET: [0, max of the reference], over the whole reference series as the CONTRACT says.
      let max = 0;
      for (let i = 0; i < match.series.slices.length; i++) {
        max = Math.max(max, maxValue([(await readSliceImage(match.series, i)).data]));
      }
      range = defaultRange(input.modality, max);
    }
    log(`reference series ${match.series.seriesInstanceUid}: ${match.inputToReference.size} matching slices, range [${range[0]}, ${range[1]}]`);
    return new ReferenceScorer(match.series, match.inputToReference, range);
  }

  /**
   * Scores slice `index`: the denoised output (which carries the input's padding) and the input
   * against the reference slice, leaving out pixels either side marks as padding.
   */
  async add(index: number, input: Pixels, denoised: Float32Array): Promise<void> {
    const r = this.inputToReference.get(index);
    if (r === undefined) return;
    const reference = await readSliceImage(this.reference, r);
    this.denoised.add(index, reference, { rows: input.rows, columns: input.columns, data: denoised, padding: input.padding ?? null });
    this.input.add(index, reference, input);
  }

  result(): SeriesMetrics {
    const d = this.denoised.result().mean;
    const i = this.input.result().mean;
    return {
      psnr: d.psnr,
      ssim: d.ssim,
      rmse: d.rmse,
      input: { psnr: i.psnr, ssim: i.ssim, rmse: i.rmse },
      range: [this.range[0], this.range[1]],
      reference: { seriesInstanceUid: this.reference.seriesInstanceUid, files: this.reference.slices.length },
    };
  }
}

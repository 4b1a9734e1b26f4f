/**
 * Scoring for `scripts/evaluate/pet-lesions.ts`: SUVmean / SUVmax / SUVpeak of every inserted lesion
 * in a denoised (or low-count) stack against the full-count reconstruction of the same events,
 * measured by `lesionStats`, the code behind `lowdose metrics --lesions` and QA's PET checks; then
 * the per-size summary the model card prints.
 */
import { lesionStats, stackEdges, type Lesion, type PlacedImage, type StackEdges } from '../../../src/metrics/lesions.js';
import type { PlacedLesion, VolumeGrid } from './lesions.js';

/** Slices `indices` of a stack (one Float32Array each, SUV) placed in the volume frame of lesions.ts. */
export function placeStack(grid: VolumeGrid, indices: readonly number[], data: readonly Float32Array[]): PlacedImage[] {
  if (indices.length !== data.length) throw new RangeError(`placeStack: ${indices.length} indices for ${data.length} slices`);
  return indices.map((k, j) => ({
    rows: grid.rows,
    columns: grid.columns,
    pixelSpacing: [grid.dy, grid.dx] as [number, number],
    data: data[j]!,
    position: [0, 0, k * grid.dz] as const,
  }));
}

/**
 * Where the whole volume ends along z, in placeStack's frame (slice k at k·dz): what lesionStats
 * needs to flag a SUVpeak sphere cut by the first or last slice (`sphereCut`), which the few
 * slices of a placeStack stack cannot tell.
 */
export function volumeEdges(grid: VolumeGrid): StackEdges {
  return stackEdges(Array.from({ length: grid.slices }, (_, k) => k * grid.dz))!;
}

export function asLesion(l: PlacedLesion): Lesion {
  return { name: l.name, centre: l.centre, radius: l.diameterMm / 2 };
}

/** One lesion in one series: test / reference − 1 for each statistic. */
export interface LesionScore {
  readonly lesion: string;
  readonly diameterMm: number;
  readonly contrast: number;
  readonly meanBias: number;
  readonly maxBias: number;
  readonly peakBias: number;
  /** The reference's own values, SUV. */
  readonly reference: { readonly mean: number; readonly max: number; readonly peak: number };
  /**
   * Present (true) when the test's or the reference's SUVpeak sphere lost voxels past the volume's
   * first or last slice or outside its rows or columns (lesionStats' `peakSphereCut`), so
   * `peakBias` compares means over fewer voxels than a whole sphere's; absent otherwise. Lesion
   * placement keeps every centre at least its radius + 10 mm from the first and last slice, so a
   * placed lesion's sphere (at most its radius + 6 mm from the centre) is never cut there.
   */
  readonly peakSphereCut?: true;
}

/**
 * Each lesion's statistics in `test` against `reference` (stacks of some of the volume's slices,
 * placeStack); `edges` are the whole volume's (volumeEdges), so that a sphere cut at the first or
 * last slice is flagged.
 */
export function scoreLesions(reference: readonly PlacedImage[], test: readonly PlacedImage[], lesions: readonly PlacedLesion[], edges: StackEdges): LesionScore[] {
  return lesions.map((l) => {
    const ref = lesionStats(reference, asLesion(l), edges);
    const out = lesionStats(test, asLesion(l), edges);
    return {
      lesion: l.name,
      diameterMm: l.diameterMm,
      contrast: l.contrast,
      meanBias: out.mean / ref.mean - 1,
      maxBias: out.max / ref.max - 1,
      peakBias: out.peak / ref.peak - 1,
      reference: { mean: ref.mean, max: ref.max, peak: ref.peak },
      ...(ref.peakSphereCut === true || out.peakSphereCut === true ? { peakSphereCut: true as const } : {}),
    };
  });
}

/** Mean over the lesions of one size (all realisations) and the largest single |bias|. */
export interface SizeSummary {
  readonly diameterMm: number;
  readonly lesions: number;
  readonly meanBias: number;
  readonly maxBias: number;
  readonly peakBias: number;
  readonly worstMeanBias: number;
  readonly worstMaxBias: number;
}

export function summarizeBySize(scores: readonly LesionScore[]): SizeSummary[] {
  const sizes = [...new Set(scores.map((s) => s.diameterMm))].sort((a, b) => a - b);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const worst = (xs: number[]) => xs.reduce((w, x) => (Math.abs(x) > Math.abs(w) ? x : w), 0);
  return sizes.map((d) => {
    const of = scores.filter((s) => s.diameterMm === d);
    return {
      diameterMm: d,
      lesions: of.length,
      meanBias: mean(of.map((s) => s.meanBias)),
      maxBias: mean(of.map((s) => s.maxBias)),
      peakBias: mean(of.map((s) => s.peakBias)),
      worstMeanBias: worst(of.map((s) => s.meanBias)),
      worstMaxBias: worst(of.map((s) => s.maxBias)),
    };
  });
}

/**
 * The limits on lesions of `minDiameterMm` and up, on the per-size means: |SUVmean bias|
 * at most `meanLimit` and |SUVmax bias| at most `maxLimit`. Each part says the worst size's value.
 */
export function targetVerdict(summary: readonly SizeSummary[], meanLimit: number, maxLimit: number, minDiameterMm = 17) {
  const big = summary.filter((s) => s.diameterMm >= minDiameterMm);
  const worstOf = (pick: (s: SizeSummary) => number) => big.reduce((w, s) => (Math.abs(pick(s)) > Math.abs(w) ? pick(s) : w), 0);
  const mean = worstOf((s) => s.meanBias);
  const max = worstOf((s) => s.maxBias);
  return { worstMeanBias: mean, meanMet: Math.abs(mean) <= meanLimit, worstMaxBias: max, maxMet: Math.abs(max) <= maxLimit };
}

/**
 * The noise a reader sees around each lesion: the SD of the voxels whose centres lie 5 to 10 mm
 * outside its surface (tissue that placement required to be uniform), one value per lesion. Axial
 * stacks as `placeStack` makes them.
 */
export function backgroundSds(stack: readonly PlacedImage[], lesions: readonly PlacedLesion[]): number[] {
  return lesions.map((l) => {
    const inner = l.diameterMm / 2 + 5;
    const outer = l.diameterMm / 2 + 10;
    let n = 0;
    let s = 0;
    let s2 = 0;
    for (const slice of stack) {
      const dz = slice.position[2] - l.centre[2];
      if (Math.abs(dz) > outer) continue;
      const [dy, dx] = slice.pixelSpacing;
      for (let r = 0; r < slice.rows; r++) {
        const ry = r * dy - l.centre[1];
        if (Math.abs(ry) > outer) continue;
        for (let c = 0; c < slice.columns; c++) {
          const d = Math.hypot(c * dx - l.centre[0], ry, dz);
          if (d < inner || d > outer) continue;
          const v = slice.data[r * slice.columns + c]!;
          n++;
          s += v;
          s2 += v * v;
        }
      }
    }
    return Math.sqrt(Math.max(s2 / n - (s / n) ** 2, 0));
  });
}

/** `backgroundSds`' mean over the lesions: the background SD of one series. */
export function backgroundSd(stack: readonly PlacedImage[], lesions: readonly PlacedLesion[]): number {
  const sds = backgroundSds(stack, lesions);
  return sds.reduce((a, b) => a + b, 0) / sds.length;
}

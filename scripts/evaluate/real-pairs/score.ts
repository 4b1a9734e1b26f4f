/**
 * How one denoised real quarter-dose slice is scored against the full-dose slice of the same
 * position: PSNR and SSIM in two windows (CONTRACT conventions, out-of-field pixels left out),
 * each over the whole field and in the patient outline (`patientOutline` of the full-dose slice:
 * the body with its lungs and gas, not the air around it, which is about half the field of these
 * abdomen slices), the noise left in flat soft tissue (the toolkit's no-reference estimate, and the
 * SD inside fixed ROIs) and the mean bias inside those ROIs.
 *
 * The ROIs are chosen once per slice from the full-dose image alone, so every method is measured
 * in the same places: circles of ROI_RADIUS_MM whose full-dose image, smoothed at
 * ROI_SMOOTH_MM (structure, not noise), stays inside a tissue class and varies least, two in soft
 * tissue and one in fat, apart from each other.
 */
import { gaussianFilter } from '../../../src/filters/gaussian.js';
import type { Image2D } from '../../../src/image.js';
import { compareSlices } from '../../../src/metrics/compare.js';
import { estimateNoise, SOFT_TISSUE_HU } from '../../../src/metrics/noise-estimate.js';
import { patientOutline } from '../../../src/metrics/patient-outline.js';
import type { IntensityRange } from '../../../src/metrics/range.js';
import { roiMask, roiStats } from '../../../src/metrics/roi.js';

/**
 * The metric windows: CONTRACT's CT range and the abdomen window the issue asks for, each over the
 * field (issue 14's definition, the targets are judged there) and in the patient outline.
 */
export const WINDOWS = { hu: [-1000, 1000], abdomen: [-160, 240], huPatient: [-1000, 1000], abdomenPatient: [-160, 240] } as const satisfies Record<string, IntensityRange>;
export type WindowName = keyof typeof WINDOWS;
export const WINDOW_NAMES = Object.keys(WINDOWS) as WindowName[];
export const WINDOW_LABELS: Record<WindowName, string> = {
  hu: '[-1000, 1000] HU',
  abdomen: 'abdomen [-160, 240] HU',
  huPatient: '[-1000, 1000] HU, patient',
  abdomenPatient: 'abdomen [-160, 240] HU, patient',
};
/** Which pixels each window counts: the field (`valid`) or the patient outline within it. */
export const WINDOW_REGIONS: Record<WindowName, 'field' | 'patient'> = { hu: 'field', abdomen: 'field', huPatient: 'patient', abdomenPatient: 'patient' };

/** The pixels a slice is scored on: the field (not padding, not outside the scan) and the patient in it. */
export interface ScoringMasks {
  readonly field: Uint8Array;
  readonly patient: Uint8Array;
}

/** The scoring masks of a pair, from its full-dose slice and its field mask. */
export function scoringMasks(reference: Image2D, field: Uint8Array): ScoringMasks {
  const outline = patientOutline(reference);
  return { field, patient: outline.map((v, i) => (v && field[i] ? 1 : 0)) };
}

export const ROI_RADIUS_MM = 6;
export const ROI_SMOOTH_MM = 3;
/** Tissue classes by the smoothed full-dose value (HU) and how many ROIs each gets. */
export const ROI_CLASSES = [
  { name: 'soft', range: [0, 150], count: 2 },
  { name: 'fat', range: [-150, -50], count: 1 },
] as const;
export type RoiClass = (typeof ROI_CLASSES)[number]['name'];

export interface PlacedRoi {
  readonly tissue: RoiClass;
  /** Centre (row, column) in pixels and radius in mm. */
  readonly center: readonly [number, number];
  readonly radiusMm: number;
  /** Full-dose mean and SD inside the ROI (HU). */
  readonly referenceMean: number;
  readonly referenceSd: number;
}

export interface SliceScore {
  readonly psnr: Record<WindowName, number>;
  readonly ssim: Record<WindowName, number>;
  /** The toolkit's no-reference noise estimate in soft tissue (HU), as the filters use it; null if too little tissue. */
  readonly noiseEstimate: number | null;
  /** SD inside each ROI (HU), ROI order. */
  readonly roiSd: readonly number[];
  /** Mean(output) - mean(full dose) inside each ROI (HU), ROI order. */
  readonly roiBias: readonly number[];
}

/** Scores `output` (a denoised or untouched quarter-dose slice) against `reference`. */
export function scoreSlice(output: Float32Array, reference: Image2D, masks: ScoringMasks, rois: readonly PlacedRoi[]): SliceScore {
  const test = { rows: reference.rows, columns: reference.columns, data: output, pixelSpacing: reference.pixelSpacing };
  const psnr = {} as Record<WindowName, number>;
  const ssim = {} as Record<WindowName, number>;
  for (const w of WINDOW_NAMES) {
    const s = compareSlices(reference, test, WINDOWS[w], masks[WINDOW_REGIONS[w]]);
    psnr[w] = s.psnr;
    ssim[w] = s.ssim;
  }
  const roiSd: number[] = [];
  const roiBias: number[] = [];
  for (const roi of rois) {
    const mask = roiMask({ shape: 'circle', center: roi.center, radius: roi.radiusMm / reference.pixelSpacing[0] }, reference.rows, reference.columns);
    const s = roiStats(test, mask);
    roiSd.push(s.std);
    roiBias.push(s.mean - roi.referenceMean);
  }
  return { psnr, ssim, noiseEstimate: noiseEstimate(test), roiSd, roiBias };
}

/** estimateNoise in soft tissue, as `estimateFilterNoise` does for CT; null when the slice has too little. */
export function noiseEstimate(image: Image2D): number | null {
  try {
    return estimateNoise(image, { valueRange: SOFT_TISSUE_HU }).std;
  } catch (error) {
    if (error instanceof RangeError) return null;
    throw error;
  }
}

/**
 * The ROIs of one slice, from its full-dose image: per tissue class, the circles (centres on a
 * 2 mm grid) whose every pixel is valid and whose smoothed full-dose value stays in the class,
 * least structured first, each at least 4 radii from those already taken.
 */
export function placeRois(reference: Image2D, valid: Uint8Array): PlacedRoi[] {
  const { rows, columns, pixelSpacing } = reference;
  if (Math.abs(pixelSpacing[0] - pixelSpacing[1]) > 1e-6) throw new Error('ROIs assume square pixels');
  const px = pixelSpacing[0];
  const smooth = gaussianFilter(reference, { sigmaMm: ROI_SMOOTH_MM }).data;
  const radius = ROI_RADIUS_MM / px;
  const reach = Math.ceil(radius);
  const offsets: number[][] = [];
  for (let dr = -reach; dr <= reach; dr++) for (let dc = -reach; dc <= reach; dc++) if (dr * dr + dc * dc <= radius * radius) offsets.push([dr, dc]);
  const step = Math.max(1, Math.round(2 / px));
  const taken: PlacedRoi[] = [];
  for (const cls of ROI_CLASSES) {
    const candidates: { r: number; c: number; structure: number }[] = [];
    for (let r = reach; r < rows - reach; r += step) {
      for (let c = reach; c < columns - reach; c += step) {
        let sum = 0;
        let squares = 0;
        let ok = true;
        for (const [dr, dc] of offsets) {
          const i = (r + dr!) * columns + c + dc!;
          const v = smooth[i]!;
          if (!valid[i] || v < cls.range[0] || v > cls.range[1]) {
            ok = false;
            break;
          }
          sum += v;
          squares += v * v;
        }
        if (!ok) continue;
        const mean = sum / offsets.length;
        candidates.push({ r, c, structure: Math.sqrt(Math.max(0, squares / offsets.length - mean * mean)) });
      }
    }
    // Ties broken by position, so the choice does not depend on the sort's stability.
    candidates.sort((x, y) => x.structure - y.structure || x.r - y.r || x.c - y.c);
    let placed = 0;
    for (const cand of candidates) {
      if (placed === cls.count) break;
      if (taken.some((t) => Math.hypot(t.center[0] - cand.r, t.center[1] - cand.c) < 4 * radius)) continue;
      const mask = roiMask({ shape: 'circle', center: [cand.r, cand.c], radius }, rows, columns);
      const s = roiStats(reference, mask);
      taken.push({ tissue: cls.name, center: [cand.r, cand.c], radiusMm: ROI_RADIUS_MM, referenceMean: s.mean, referenceSd: s.std });
      placed++;
    }
  }
  return taken;
}

/** Group summary of slice scores: plain means over slices (as `lowdose metrics` averages). */
export interface GroupSummary {
  readonly slices: number;
  readonly psnr: Record<WindowName, number>;
  readonly ssim: Record<WindowName, number>;
  readonly noiseEstimate: number | null;
  /** Mean SD in the soft-tissue ROIs. */
  readonly roiSd: number;
  /** Mean bias per tissue class, and the largest |bias| of any ROI of any slice. */
  readonly bias: Record<RoiClass, number | null> & { readonly maxAbs: number };
}

export function summarize(scores: readonly SliceScore[], rois: readonly (readonly PlacedRoi[])[]): GroupSummary {
  const mean = (v: readonly number[]) => (v.length === 0 ? NaN : v.reduce((s, x) => s + x, 0) / v.length);
  const psnr = {} as Record<WindowName, number>;
  const ssim = {} as Record<WindowName, number>;
  for (const w of WINDOW_NAMES) {
    psnr[w] = mean(scores.map((s) => s.psnr[w]));
    ssim[w] = mean(scores.map((s) => s.ssim[w]));
  }
  const noise = scores.map((s) => s.noiseEstimate).filter((v): v is number => v !== null);
  const byClass = (tissue: RoiClass, field: 'roiSd' | 'roiBias') =>
    scores.flatMap((s, k) => rois[k]!.flatMap((roi, j) => (roi.tissue === tissue ? [s[field][j]!] : [])));
  const fat = byClass('fat', 'roiBias');
  const soft = byClass('soft', 'roiBias');
  return {
    slices: scores.length,
    psnr,
    ssim,
    noiseEstimate: noise.length > 0 ? mean(noise) : null,
    roiSd: mean(byClass('soft', 'roiSd')),
    bias: {
      soft: soft.length > 0 ? mean(soft) : null,
      fat: fat.length > 0 ? mean(fat) : null,
      maxAbs: Math.max(0, ...scores.flatMap((s) => s.roiBias.map(Math.abs))),
    },
  };
}

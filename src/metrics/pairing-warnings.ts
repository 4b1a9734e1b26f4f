/**
 * What makes a reference / test pair suspect although it lines up slice by slice and pixel by
 * pixel: the scores are then true of the pair, but not of what a reader takes them for.
 */
import type { Series } from '../dicom/index.js';

export interface PairingWarning {
  readonly path: string | null;
  readonly code: 'W_KERNEL_MISMATCH' | 'W_THICKNESS_MISMATCH' | 'W_TEST_IS_REFERENCE' | 'W_GATE_AGAINST_UNGATED';
  readonly message: string;
}

/** ConvolutionKernel as compared: trimmed, case and multi-value separators ignored; null when absent. */
function kernelOf(series: Series): string | null {
  const kernel = (series.convolutionKernel ?? '').trim();
  return kernel === '' ? null : kernel.replace(/\s*\\\s*/g, '\\').toUpperCase();
}

/**
 * Warnings for scoring `test` against `reference` (`label`: what the messages call the test, e.g. `input` for `denoise --reference`):
 * - `W_KERNEL_MISMATCH`: both name a ConvolutionKernel and they differ. A denoised or simulated copy
 *   keeps its source's kernel, so the scores then measure the two reconstruction kernels' difference
 *   as much as the denoiser's, and nothing in the numbers tells.
 * - `W_THICKNESS_MISMATCH`: both carry a SliceThickness and they differ by more than
 *   THICKNESS_TOLERANCE: a thicker section averages more tissue (partial volume) and has less
 *   noise, so the scores measure that too.
 * - `W_TEST_IS_REFERENCE`: the two are one series (same SeriesInstanceUID and key), as when the same
 *   folder is given twice: PSNR is infinite and SSIM 1 whatever the denoiser did.
 * - `W_GATE_AGAINST_UNGATED`: one is a gate of a gated PET acquisition (`petFrame`, read by its
 *   ImageIndex) and the other an ungated series. Both hold the same slice positions, so each of
 *   the gate's slices is scored against the ungated slice at its position: one time slot of the
 *   cardiac cycle (a fraction of the counts, the heart where it is in that slot) against the
 *   whole cycle (all counts, the heart's motion blurred in). That is a scoring a physicist may mean
 *   (the ungated image as the low-noise reference), so it is scored, but the scores then measure
 *   the gate's noise and motion difference from the whole cycle as well as the denoiser's.
 */
export function pairingWarnings(reference: Series, test: Series, label = 'test'): PairingWarning[] {
  const warnings: PairingWarning[] = [];
  const path = test.slices[0]?.file ?? null;
  if (reference.seriesInstanceUid === test.seriesInstanceUid && reference.key === test.key) {
    warnings.push({
      path,
      code: 'W_TEST_IS_REFERENCE',
      message: `the test is the reference series itself (${test.seriesInstanceUid}): its scores compare the series with itself (PSNR infinite, SSIM 1), not a denoiser's output with a reference`,
    });
  }
  const r = kernelOf(reference);
  const t = kernelOf(test);
  if (r !== null && t !== null && r !== t) {
    warnings.push({
      path,
      code: 'W_KERNEL_MISMATCH',
      message:
        `the reference was reconstructed with kernel ${reference.convolutionKernel!.trim()} and the ${label} with ${test.convolutionKernel!.trim()}: ` +
        `the scores measure the kernels' difference in sharpness and noise as well as the ${label}'s; compare a series with a reference of its own kernel`,
    });
  }
  const rt = reference.sliceThickness;
  const tt = test.sliceThickness;
  if (rt && tt && Math.abs(rt - tt) > THICKNESS_TOLERANCE * Math.min(rt, tt)) {
    warnings.push({
      path,
      code: 'W_THICKNESS_MISMATCH',
      message:
        `the reference slices are ${rt} mm thick and the ${label} slices ${tt} mm: the scores measure the sections' difference in partial volume and noise ` +
        `as well as the ${label}'s; compare a series with a reference of its own slice thickness`,
    });
  }
  const gateWarning = gateAgainstUngated(reference, test, label);
  if (gateWarning) warnings.push({ path, code: 'W_GATE_AGAINST_UNGATED', message: gateWarning });
  return warnings;
}

/** `series`' gate in words ("gate 3 of 6 (TriggerTime 250 ms)"); null when it is not a gate. */
function gateWords(series: Series): string | null {
  const frame = series.petFrame;
  if (frame?.suffix !== 'g') return null;
  const trigger = frame.gating?.triggerTimeMs;
  return `gate ${frame.frame} of ${frame.frames}${trigger !== undefined ? ` (TriggerTime ${trigger} ms)` : ''}`;
}

/** Why `test` scored against `reference` is a gate against an ungated series (either way round); null when it is not. */
function gateAgainstUngated(reference: Series, test: Series, label: string): string | null {
  const testGate = gateWords(test);
  const referenceGate = gateWords(reference);
  if (testGate !== null && reference.petFrame === undefined) {
    return (
      `the ${label} is ${testGate} of a gated acquisition and the reference ${reference.seriesInstanceUid} is not gated: each of the ${label}'s slices is scored ` +
      `against the ungated slice at its position (the whole cardiac cycle: all its counts, its motion blurred in), so the scores measure the gate's noise and ` +
      `motion difference from the whole cycle as well as the ${label}'s; compare a gate with the same gate of a gated reference`
    );
  }
  if (referenceGate !== null && test.petFrame === undefined) {
    return (
      `the reference is ${referenceGate} of a gated acquisition and the ${label} ${test.seriesInstanceUid} is not gated: each of the ${label}'s slices is scored ` +
      `against one gate's slice at its position (one time slot of the cardiac cycle), so the scores measure the whole cycle's noise and motion difference ` +
      `from that gate as well as the ${label}'s; compare an ungated series with an ungated reference`
    );
  }
  return null;
}

/** Slice thicknesses within 5 % of each other are one (a value written to fewer decimals). */
const THICKNESS_TOLERANCE = 0.05;

/** The codes pairingWarnings gives for a reference of another reconstruction or frame (not W_TEST_IS_REFERENCE). */
export const REFERENCE_MISMATCH_CODES: ReadonlySet<string> = new Set(['W_KERNEL_MISMATCH', 'W_THICKNESS_MISMATCH', 'W_GATE_AGAINST_UNGATED']);

/** A pane's metrics line as the viewer writes it in the pane's title: "PSNR 35.2 dB · SSIM 0.912". */
import type { ComparisonDetail, PairingWarning, Scores } from './api-types.js';

export function scoresLine(scores: Scores | null): string {
  if (!scores) return '';
  return `PSNR ${scores.psnr === null ? '∞' : scores.psnr.toFixed(1)} dB · SSIM ${scores.ssim.toFixed(3)}`;
}

/**
 * Why a comparison's reference is shown but not scored pixel by pixel, as `not scored: ` and the
 * server's reason (`unscoredReason`: pairingGridMismatch, the words of `lowdose metrics` and of the
 * difference pane's footer), or null when it is scored (or an older server does not say).
 */
export function unscoredText(comparison: Pick<ComparisonDetail, 'unscoredReason'>): string | null {
  return comparison.unscoredReason ? `not scored: ${comparison.unscoredReason}` : null;
}

/**
 * The figure's metrics line of a pane scored against the reference: its scores, else, where the
 * comparison's reference is refused for scoring, why (unscoredText: `not scored: matrix 384 x 384
 * against 512 x 512`), else '' (no reference slice matches this one).
 */
export function paneScoresLine(scores: Scores | null, comparison: Pick<ComparisonDetail, 'unscoredReason'>): string {
  return scores ? scoresLine(scores) : (unscoredText(comparison) ?? '');
}

/**
 * The widest per-slice PSNR the viewer's lines write short of ∞ (identical slices): three figures
 * hold any PSNR below 1000 dB, i.e. any RMSE above 10^-50 of the metric range. DICOM pixels are
 * stored as integers, so two slices that differ at all differ by at least one stored step (at most
 * 1/65536 of a metric range within a 16-bit series' values) at one pixel, which keeps a 1024 x 1024
 * slice below
 * 20·log10(65536 · 1024) ≈ 156 dB.
 */
export const WIDEST_PSNR = 888.8;

/**
 * A value in `units` (a series' Units: HU, SUV, BQML, CNTS, ...) whose formatValue text is as wide
 * as the widest a noise σ or RMSE in those units prints, for the room a line takes before its
 * numbers arrive (all digits alike in tabular figures): HU values of 16-bit pixels differ by less
 * than 100 000 (five figures); SUV values stay below 100 and print at most "0.0088" wide below one;
 * activity (Bq/ml) and counts get six figures (σ below 1 000 000).
 */
export function widestValue(units: string): number {
  if (units === 'HU') return 88888;
  if (units === 'SUV' || units === 'SUVbw') return 0.0088;
  return 888888;
}

/** Values in modality units at a sensible precision: 61.6 HU, 3.04 HU, 0.052 SUV. */
export function formatValue(value: number): string {
  const a = Math.abs(value);
  if (a >= 100) return value.toFixed(0);
  if (a >= 10) return value.toFixed(1);
  if (a >= 1) return value.toFixed(2);
  return a === 0 ? '0' : value.toPrecision(2);
}

/**
 * A pane's metrics line with what makes its scores suspect although the pairs line up (the
 * comparison's pairing warnings for that pane, `scores`): "PSNR 35.2 dB · SSIM 0.912 · ! the
 * reference was reconstructed with kernel B30f and the denoised with D45f", each warning's message
 * up to its first colon (the figure's font has no `_` for the codes). A line with no numbers
 * ('') stays empty: there is nothing to caveat.
 */
export function caveatedScoresLine(line: string, warnings: readonly PairingWarning[], scores: PairingWarning['scores']): string {
  const caveats = warnings.filter((w) => w.scores === scores).map((w) => `! ${w.message.split(': ')[0]}`);
  return line && caveats.length > 0 ? [line, ...caveats].join(' · ') : line;
}

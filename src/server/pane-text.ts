/** A pane's metrics line as the viewer writes it in the pane's title: "PSNR 35.2 dB · SSIM 0.912". */
import type { ComparisonDetail, Scores } from './api-types.js';

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

/** Values in modality units at a sensible precision: 61.6 HU, 3.04 HU, 0.052 SUV. */
export function formatValue(value: number): string {
  const a = Math.abs(value);
  if (a >= 100) return value.toFixed(0);
  if (a >= 10) return value.toFixed(1);
  if (a >= 1) return value.toFixed(2);
  return a === 0 ? '0' : value.toPrecision(2);
}

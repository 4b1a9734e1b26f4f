/** A pane's metrics line as the viewer writes it in the pane's title: "PSNR 35.2 dB · SSIM 0.912". */
import type { Scores } from './api-types.js';

export function scoresLine(scores: Scores | null): string {
  if (!scores) return '';
  return `PSNR ${scores.psnr === null ? '∞' : scores.psnr.toFixed(1)} dB · SSIM ${scores.ssim.toFixed(3)}`;
}

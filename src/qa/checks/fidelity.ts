/**
 * Fidelity to normal dose: PSNR and SSIM of the denoised series against the full-dose scan, with
 * the CONTRACT's conventions (CT range [-1000, 1000] HU, SSIM as scikit-image), mean over slices.
 * The full-dose scan carries its own noise, so no denoiser can reach PSNR = infinity or SSIM = 1;
 * the bar is therefore relative: the denoised series must score better than the low-dose input
 * did against the same reference (by `minGainDb` / `minGain`), and above an absolute `min` if set.
 */
import { CT_RANGE, SeriesComparison, type SeriesScores } from '../../metrics/index.js';
import type { QaConfig } from '../config.js';
import { fmt, judge } from '../judge.js';
import type { FamilyResult, QaCase, QaCheck, SliceStack } from '../types.js';

const FIDELITY_PHANTOMS = new Set(['water', 'acr', 'body']);

export function fidelityChecks(c: QaCase, config: QaConfig): FamilyResult {
  if (!FIDELITY_PHANTOMS.has(c.phantom)) return { checks: [] };
  const { psnr, ssim } = config.checks;
  if (!psnr.enabled && !ssim.enabled) return { checks: [] };
  const input = scores(c.full, c.low);
  const denoised = scores(c.full, c.denoised);
  const checks: QaCheck[] = [];
  const range = `[${CT_RANGE[0]}, ${CT_RANGE[1]}] HU`;
  if (psnr.enabled) {
    // PSNR is null only for a copy of the reference (infinite PSNR): no real output is one, so it fails as unmeasurable.
    const value = denoised.mean.psnr;
    const gainBar = input.mean.psnr === null ? -Infinity : input.mean.psnr + psnr.minGainDb;
    checks.push(
      judge(
        {
          check: 'psnr',
          phantom: c.phantom,
          dose: c.dose,
          unit: 'dB',
          detail: `PSNR against full dose in ${range}: denoised ${fmt(value, 4)} dB, input ${fmt(input.mean.psnr, 4)} dB (needs +${psnr.minGainDb} dB)`,
          measured: { denoised: denoised.mean.psnr, input: input.mean.psnr },
        },
        value,
        { min: Math.max(psnr.min ?? -Infinity, gainBar), max: null },
      ),
    );
  }
  if (ssim.enabled) {
    checks.push(
      judge(
        {
          check: 'ssim',
          phantom: c.phantom,
          dose: c.dose,
          unit: '',
          detail: `SSIM against full dose in ${range}: denoised ${fmt(denoised.mean.ssim, 4)}, input ${fmt(input.mean.ssim, 4)} (needs +${ssim.minGain})`,
          measured: { denoised: denoised.mean.ssim, input: input.mean.ssim },
        },
        denoised.mean.ssim,
        { min: Math.max(ssim.min ?? -Infinity, input.mean.ssim + ssim.minGain), max: null },
      ),
    );
  }
  return { checks };
}

function scores(reference: SliceStack, test: SliceStack): SeriesScores {
  const comparison = new SeriesComparison(CT_RANGE);
  for (const [i, slice] of reference.slices.entries()) comparison.add(i, slice, test.slices[i]!);
  return comparison.result();
}

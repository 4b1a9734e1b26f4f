/**
 * Hallucinated or erased structure: the sFRC hallucination map (src/metrics/sfrc.ts, defaults) of
 * the denoised series against the full-dose scan. value = the fraction of judged patches flagged.
 * The low-dose input's own fraction against the same reference is reported beside it: a faithful
 * (only noisier) image, the level chance alone reaches.
 */
import { resolveSfrcOptions, sfrcSlice } from '../../metrics/sfrc.js';
import type { QaConfig } from '../config.js';
import { judge } from '../judge.js';
import type { FamilyResult, QaCase, SliceStack } from '../types.js';

/** The CT phantoms: sFRC's air rule and band are CT's; the IEC PET phantom is left to the SUV checks. */
const SFRC_PHANTOMS = new Set(['water', 'acr', 'body']);

export function hallucinationChecks(c: QaCase, config: QaConfig): FamilyResult {
  const settings = config.checks.hallucination;
  if (!settings.enabled || !SFRC_PHANTOMS.has(c.phantom)) return { checks: [] };
  const denoised = flaggedFraction(c.denoised, c.full);
  const input = flaggedFraction(c.low, c.full);
  const detail =
    `sFRC map against full dose (32-pixel patches, FRC < 0.5 up to 0.33 cycles/mm, noise-compensated): ` +
    `${denoised.flagged} of ${denoised.patches} patches flagged in the denoised series, ${input.flagged} of ${input.patches} in the low-dose input`;
  return {
    checks: [
      judge(
        {
          check: 'hallucination',
          phantom: c.phantom,
          dose: c.dose,
          unit: 'fraction of patches',
          detail,
          measured: { denoised: denoised.fraction, input: input.fraction, patches: denoised.patches },
        },
        denoised.patches > 0 ? denoised.fraction : null,
        settings,
      ),
    ],
  };
}

export function flaggedFraction(test: SliceStack, reference: SliceStack): { flagged: number; patches: number; fraction: number } {
  const options = resolveSfrcOptions();
  let flagged = 0;
  let patches = 0;
  for (const [i, ref] of reference.slices.entries()) {
    const t = test.slices[i]!;
    const result = sfrcSlice({ rows: ref.rows, columns: ref.columns, test: t.data, reference: ref.data, pixelSpacing: ref.pixelSpacing, units: reference.units }, options);
    patches += result.patches.length;
    flagged += result.patches.filter((p) => p.flagged).length;
  }
  return { flagged, patches, fraction: patches > 0 ? flagged / patches : 0 };
}

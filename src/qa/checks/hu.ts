/**
 * CT number accuracy: the mean HU of each ACR module-1 insert (air, polyethylene, water, acrylic,
 * bone) in the denoised image, minus its reference value. By default the reference is the
 * phantom's nominal HU: the fixtures are simulated from the noise-free phantom with a linear
 * (monoenergetic) model, so the full-dose scan reads within about 1 HU of nominal anyway, and the
 * nominal value carries no ROI noise of its own. For phantoms scanned on a real scanner, set
 * `"reference": "full-dose"`: then calibration and beam-hardening offsets, which the denoiser
 * neither causes nor should hide, cancel.
 */
import { roiStats } from '../../metrics/index.js';
import type { AcrGeometry } from '../../phantoms/index.js';
import type { QaConfig } from '../config.js';
import { circleAt } from '../fixtures.js';
import { fmt, judge } from '../judge.js';
import { moduleSlice } from '../regions.js';
import type { FamilyResult, QaCase, QaCheck } from '../types.js';

/** ROI radius as a fraction of the insert's: 7.5 mm in a 12.5 mm rod keeps 5 mm (5 pixels) from its edge. */
export const HU_ROI_FRACTION = 0.6;

export function huChecks(c: QaCase, config: QaConfig): FamilyResult {
  const settings = config.checks['hu-error'];
  if (!settings.enabled || c.phantom !== 'acr') return { checks: [] };
  const g = c.geometry as unknown as AcrGeometry;
  const index = moduleSlice(c.low, g, 1);
  const checks: QaCheck[] = [];
  for (const insert of g.inserts.filter((i) => i.module === 1 && i.kind === 'hu')) {
    const meanOf = (stack: typeof c.low) => {
      const slice = stack.slices[index]!;
      return roiStats(slice, circleAt(slice, insert.centre, insert.radius * HU_ROI_FRACTION)).mean;
    };
    const denoised = meanOf(c.denoised);
    const input = meanOf(c.low);
    const full = meanOf(c.full);
    const reference = settings.reference === 'nominal' ? insert.hu : full;
    const detail =
      `mean in a ${fmt(insert.radius * HU_ROI_FRACTION, 2)} mm ROI: denoised ${fmt(denoised, 4)} HU, input ${fmt(input, 4)}, ` +
      `full dose ${fmt(full, 4)}, nominal ${insert.hu}; error against the ${settings.reference === 'nominal' ? 'nominal value' : 'full-dose scan'}`;
    checks.push(
      judge(
        {
          check: 'hu-error',
          phantom: c.phantom,
          dose: c.dose,
          subject: insert.name,
          unit: 'HU',
          detail,
          measured: { denoised, input, full, nominal: insert.hu, reference, inputError: input - reference },
        },
        denoised - reference,
        settings,
      ),
    );
  }
  return { checks };
}

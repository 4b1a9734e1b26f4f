/**
 * CT number accuracy: the mean HU of each ACR module-1 insert (air, polyethylene, water, acrylic,
 * bone) in the denoised image, minus its reference value. By default the reference is the same
 * ROI's mean in the low-dose input (`"reference": "input"`): the check gates what the denoiser
 * adds to the CT numbers. Against the nominal HU the error would also carry the input's own
 * error, which is not the denoiser's doing: at 10 % dose each insert's ROI mean scatters by 2 to 3
 * HU between noise realisations, and the log of low photon counts biases it systematically (bone
 * +3.0 HU at 10 % dose, air -0.9; scripts/experiments/ct-hu-bias.ts, docs/qa.md), so a denoiser
 * that kept every ROI mean exactly failed a +/- 5 HU band against nominal in about one
 * realisation in five. `"reference": "nominal"` measures the absolute accuracy of the whole chain
 * (scanner included, as ACR accreditation does); `"full-dose"` against the full-dose scan, whose
 * calibration and beam-hardening offsets then cancel. `measured` has all three either way.
 * The value is the expected error: the mean over the case's noise realisations of each
 * realisation's error (paired: its denoised output against its own input), so that the verdict
 * does not turn on one draw of the ROI noise (docs/qa.md, "Expected bias over noise realisations").
 */
import { roiStats } from '../../metrics/index.js';
import type { AcrGeometry } from '../../phantoms/index.js';
import type { HuReference, QaConfig } from '../config.js';
import { circleAt } from '../fixtures.js';
import { fmt, judge } from '../judge.js';
import { describeRealisations, realisationFields, realisationsOf, summarise } from '../realisations.js';
import { moduleSlice } from '../regions.js';
import type { FamilyResult, QaCase, QaCheck, SliceStack } from '../types.js';

/** ROI radius as a fraction of the insert's: 7.5 mm in a 12.5 mm rod keeps 5 mm (5 pixels) from its edge. */
export const HU_ROI_FRACTION = 0.6;

const REFERENCE_NAMES: Record<HuReference, string> = {
  input: 'low-dose input (what the denoiser adds)',
  nominal: 'nominal value',
  'full-dose': 'full-dose scan',
};

export function huChecks(c: QaCase, config: QaConfig): FamilyResult {
  const settings = config.checks['hu-error'];
  if (!settings.enabled || c.phantom !== 'acr') return { checks: [] };
  const g = c.geometry as unknown as AcrGeometry;
  const realisations = realisationsOf(c);
  const checks: QaCheck[] = [];
  for (const insert of g.inserts.filter((i) => i.module === 1 && i.kind === 'hu')) {
    // A realisation may hold only some of the fixture's slices, so each stack finds its own.
    const meanOf = (stack: SliceStack) => {
      const slice = stack.slices[moduleSlice(stack, g, 1)]!;
      return roiStats(slice, circleAt(slice, insert.centre, insert.radius * HU_ROI_FRACTION)).mean;
    };
    const per = realisations.map((r) => {
      const denoised = meanOf(r.denoised);
      const input = meanOf(r.low);
      const full = meanOf(r.full);
      const reference = settings.reference === 'input' ? input : settings.reference === 'nominal' ? insert.hu : full;
      return { denoised, input, full, reference };
    });
    // Paired per realisation: with the input as reference, what the denoiser adds to that very scan.
    const errors = per.map((p) => p.denoised - p.reference);
    const summary = summarise(errors);
    const denoised = mean(per.map((p) => p.denoised));
    const input = mean(per.map((p) => p.input));
    const full = mean(per.map((p) => p.full));
    const reference = mean(per.map((p) => p.reference));
    const detail =
      `mean in a ${fmt(insert.radius * HU_ROI_FRACTION, 2)} mm ROI: denoised ${fmt(denoised, 4)} HU, input ${fmt(input, 4)}, ` +
      `full dose ${fmt(full, 4)}, nominal ${insert.hu}; error against the ${REFERENCE_NAMES[settings.reference]}, ` +
      describeRealisations(summary, (v) => `${fmt(v, 2)} HU`);
    checks.push(
      judge(
        {
          check: 'hu-error',
          phantom: c.phantom,
          dose: c.dose,
          subject: insert.name,
          unit: 'HU',
          detail,
          measured: {
            denoised,
            input,
            full,
            nominal: insert.hu,
            reference,
            inputError: input - reference,
            nominalError: denoised - insert.hu,
            inputNominalError: input - insert.hu,
            ...realisationFields(realisations, errors, summary),
          },
        },
        summary.mean,
        settings,
      ),
    );
  }
  return { checks };
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * Sharpness: MTF50 of the ACR module-4 edge rod (25 mm, +1000 HU; circular-edge method, rodMtf in
 * src/metrics) in the denoised image, as a ratio to the full-dose scan's. Denoisers buy noise with
 * resolution; a ratio below 1 is blur, above 1 is edge enhancement (overshoot a filter or network
 * added). The full-dose scan is the reference because the reconstruction kernel, not the phantom,
 * sets the resolution a denoiser should keep.
 *
 * MTF10, which no check judges, is quoted only where the curve crosses 0.1 clearly above its noise
 * floor (src/metrics/mtf.ts, MEASURABLE_SNR); otherwise the detail says so and gives the floor.
 */
import { MEASURABLE_SNR, rodMtf, type RodMtfResult } from '../../metrics/index.js';
import type { AcrGeometry } from '../../phantoms/index.js';
import type { QaConfig } from '../config.js';
import { pixelAt } from '../fixtures.js';
import { fmt, judge, ratio } from '../judge.js';
import { moduleSlice } from '../regions.js';
import type { Curve, FamilyResult, QaCase, SliceStack } from '../types.js';

export function mtfChecks(c: QaCase, config: QaConfig): FamilyResult {
  const settings = config.checks['mtf50-ratio'];
  if (!settings.enabled || c.phantom !== 'acr') return { checks: [] };
  const g = c.geometry as unknown as AcrGeometry;
  const rod = g.inserts.find((i) => i.kind === 'edge-rod');
  if (!rod) throw new RangeError('ACR geometry has no edge rod');
  const index = moduleSlice(c.low, g, 4);
  const measure = (stack: SliceStack): RodMtfResult | null => {
    const slice = stack.slices[index]!;
    try {
      return rodMtf(slice, pixelAt(slice, rod.centre), rod.radius);
    } catch {
      // A denoiser that wiped the rod out leaves no edge to measure: the check then fails on null.
      return null;
    }
  };
  const low = measure(c.low);
  const denoised = measure(c.denoised);
  const full = measure(c.full);
  const value = ratio(denoised?.mtf50 ?? null, full?.mtf50 ?? null);
  const detail =
    `MTF50 of the ${rod.radius * 2} mm edge rod: denoised ${fmt(denoised?.mtf50)} cycles/mm, input ${fmt(low?.mtf50)}, ` +
    `full dose ${fmt(full?.mtf50)}; MTF10 denoised ${mtf10Text(denoised)}, full dose ${mtf10Text(full)}`;
  const nyquist = 0.5 / Math.min(...c.low.slices[index]!.pixelSpacing);
  return {
    checks: [
      judge(
        {
          check: 'mtf50-ratio',
          phantom: c.phantom,
          dose: c.dose,
          unit: 'ratio',
          detail,
          measured: {
            denoised: denoised?.mtf50 ?? null,
            input: low?.mtf50 ?? null,
            full: full?.mtf50 ?? null,
            denoisedMtf10: denoised?.mtf10 ?? null,
            fullMtf10: full?.mtf10 ?? null,
            // The MTF's noise SD where the curve first falls to 0.1 (null where it does not).
            denoisedMtf10Floor: denoised?.levels.mtf10.floor ?? null,
            fullMtf10Floor: full?.levels.mtf10.floor ?? null,
          },
        },
        value,
        settings,
      ),
    ],
    mtf: { phantom: c.phantom, dose: c.dose, low: curve(low, nyquist), denoised: curve(denoised, nyquist), full: curve(full, nyquist) },
  };
}

/** MTF10 in words: the value, or why there is none. */
function mtf10Text(result: RodMtfResult | null): string {
  if (!result) return 'n/a';
  const { crossing, floor, measurable } = result.levels.mtf10;
  if (crossing === null || floor === null) return 'n/a (the curve stays above 0.1)';
  if (measurable) return fmt(crossing);
  return `not measurable (below the noise floor: SD ${fmt(floor, 2)} where the curve falls to 0.1 at ${fmt(crossing)} cycles/mm, above 0.1 / ${MEASURABLE_SNR})`;
}

function curve(result: RodMtfResult | null, upTo: number): Curve {
  if (!result) return { frequency: [], value: [] };
  const frequency: number[] = [];
  const value: number[] = [];
  for (let k = 0; k < result.frequency.length && result.frequency[k]! <= upTo + 1e-9; k++) {
    frequency.push(result.frequency[k]!);
    value.push(result.mtf[k]!);
  }
  return { frequency, value };
}

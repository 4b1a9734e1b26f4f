/**
 * PET activity → SUVbw through @cornerstonejs/calculate-suv (decay correction to the series or
 * acquisition start, Philips and GE private variants). When it cannot be computed the reason is
 * returned, and callers keep Bq/ml (or the stored units) with an E_SUV_UNAVAILABLE warning.
 *
 * DecayCorrection (0054,1102) says which time the pixels are decay-corrected to, and so to which
 * time the injected dose must be decayed: START (the scan start) is what calculate-suv assumes;
 * ADMIN (the administration) needs the dose as injected, undecayed; anything else (NONE, empty)
 * is refused, except for Units GML (pixels already in SUV). calculate-suv 1.1 does not read the attribute: an ADMIN series went through it as
 * START, its SUV 2^(t / half-life) too high (suyashkumar 1.dcm marked ADMIN, 66 min after the
 * injection: SUVmax 7.194 where the dose as injected gives 4.734).
 */
import { calculateSUVScalingFactors } from '@cornerstonejs/calculate-suv';
import type { PetAttributes } from './image-header.js';

export type SuvOutcome = { readonly ok: true; readonly factors: number[] } | { readonly ok: false; readonly reason: string };

/** One SUVbw factor per instance (modality value × factor = SUVbw), or why there is none. */
export function suvbwFactors(instances: readonly PetAttributes[]): SuvOutcome {
  if (instances.length === 0) return { ok: false, reason: 'no PET instances' };
  const first = instances[0]!;
  // Say plainly what is missing instead of passing NaN to the library.
  if (!(first.PatientWeight > 0)) return { ok: false, reason: 'PatientWeight (0010,1030) is missing or zero' };
  if (!(first.RadionuclideTotalDose > 0)) {
    return { ok: false, reason: 'RadionuclideTotalDose (0018,1074) is missing or zero' };
  }
  if (!(first.RadionuclideHalfLife > 0)) return { ok: false, reason: 'RadionuclideHalfLife (0018,1075) is missing or zero' };
  const decayCorrection = first.DecayCorrection.trim().toUpperCase();
  // GML pixels are SUV already (calculate-suv's factor 1): no dose is decayed, whatever the value.
  if (first.Units !== 'GML' && decayCorrection !== 'START' && decayCorrection !== 'ADMIN') {
    return {
      ok: false,
      reason: `DecayCorrection (0054,1102) is ${decayCorrection === '' ? 'missing' : decayCorrection}; SUV needs START or ADMIN`,
    };
  }
  // The library logs to the console (warnings about SUVlbm / SUVbsa inputs we do not use, and
  // debug lines on stdout that would corrupt `--json` output): silence it for the call.
  const { warn, log } = console;
  console.warn = () => {};
  console.log = () => {};
  try {
    // Sex and height only feed SUVlbm / SUVbsa, and the library refuses values such as 'O':
    // leave them out so that they cannot block SUVbw.
    const forSuvbw = instances.map(({ PatientSex: _sex, PatientSize: _size, ...rest }) =>
      // ADMIN: calculate-suv decays the dose by 2^(-t / half-life) to the scan time; an infinite
      // half-life makes that 1, the dose as injected (its other checks still apply).
      decayCorrection === 'ADMIN' ? { ...rest, RadionuclideHalfLife: Number.POSITIVE_INFINITY } : rest,
    );
    const results = calculateSUVScalingFactors(forSuvbw);
    // Philips private factors can come through as strings.
    const factors = results.map((r) => Number(r.suvbw));
    const bad = factors.find((f) => !(Number.isFinite(f) && f > 0));
    if (bad !== undefined) return { ok: false, reason: `calculate-suv returned an unusable factor (${bad})` };
    return { ok: true, factors };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    console.warn = warn;
    console.log = log;
  }
}

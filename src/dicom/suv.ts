/**
 * PET activity → SUVbw through @cornerstonejs/calculate-suv (decay correction to the series or
 * acquisition start, Philips and GE private variants). When it cannot be computed the reason is
 * returned, and callers keep Bq/ml (or the stored units) with an E_SUV_UNAVAILABLE warning.
 *
 * DecayCorrection (0054,1102) says which time the pixels are decay-corrected to, and so to which
 * time the injected dose must be decayed: START (the scan start) is what calculate-suv assumes;
 * ADMIN (the administration) needs the dose as injected, undecayed; anything else (NONE, empty)
 * is refused. Units GML (pixels already in SUV) is read with factor 1 and needs neither these nor
 * a weight, dose or half-life. calculate-suv 1.1 does not read DecayCorrection: an ADMIN series
 * went through it as START, its SUV 2^(t / half-life) too high (suyashkumar 1.dcm marked ADMIN,
 * 66 min after the injection: SUVmax 7.194 where the dose as injected gives 4.734).
 *
 * The scan start the dose is decayed to (START) is the SeriesTime, unless SeriesTime is later than
 * an AcquisitionTime (multi-bed Siemens and GE scans): then GE's private post-injection time where
 * the files carry it, else the earliest AcquisitionTime, which QIBA takes over the whole series
 * and calculate-suv over the files it is given. Such a factor depends on which files of the series
 * were read: `scanStartFromFilesRead` says so, and partialSeriesSuvNote words it for a series not
 * known to be whole. No other time is made up for it.
 */
import { calculateSUVScalingFactors } from '@cornerstonejs/calculate-suv';
import type { PetAttributes } from './image-header.js';

export type SuvOutcome =
  | {
      readonly ok: true;
      readonly factors: number[];
      /**
       * Present when the dose was decayed to the earliest AcquisitionDate / AcquisitionTime of the
       * instances given ("YYYYMMDD HHMMSS.FFFFFF" as stored), SeriesTime being later: the factor
       * then depends on which instances of the series were read.
       */
      readonly scanStartFromFilesRead?: string;
    }
  | { readonly ok: false; readonly reason: string };

/** DA + TM as one string that sorts in time order ('' when either is unreadable). */
function sortableDateTime(date: string, time: string): string {
  const da = date.trim();
  const [whole = '', fraction = ''] = time.trim().replace(/:/g, '').split('.');
  if (!/^\d{8}$/.test(da) || !/^\d{2,6}$/.test(whole) || whole.length % 2 !== 0 || !/^\d*$/.test(fraction)) return '';
  return `${da}${whole.padEnd(6, '0')}.${fraction.padEnd(6, '0').slice(0, 6)}`;
}

/**
 * The earliest AcquisitionDate / AcquisitionTime of the instances when calculate-suv decays the
 * dose to it (see the header), else undefined: pixels in Bq/ml (or Philips counts scaled to it)
 * decay-corrected to the scan start, SeriesTime later than that acquisition, no GE private
 * post-injection time.
 */
function scanStartFromFilesRead(instances: readonly PetAttributes[], decayCorrection: string): string | undefined {
  const first = instances[0]!;
  const philipsSuv = instances.every((i) => Boolean(i.PhilipsPETPrivateGroup?.SUVScaleFactor));
  const decayed = first.Units === 'BQML' || (first.Units === 'CNTS' && !philipsSuv);
  if (!decayed || decayCorrection !== 'START' || first.GEPrivatePostInjectionDateTime) return undefined;
  let earliest: { key: string; stored: string } | undefined;
  for (const i of instances) {
    const key = sortableDateTime(i.AcquisitionDate, i.AcquisitionTime);
    if (key !== '' && (earliest === undefined || key < earliest.key)) earliest = { key, stored: `${i.AcquisitionDate.trim()} ${i.AcquisitionTime.trim()}` };
  }
  const series = sortableDateTime(first.SeriesDate, first.SeriesTime);
  return earliest !== undefined && series !== '' && series > earliest.key ? earliest.stored : undefined;
}

/**
 * For a factor that depends on the files read (`scanStartFromFilesRead`), what a reader of the
 * SUVs must know, or null when the files read are the whole series as NumberOfSlices (0054,0081)
 * counts it.
 */
export function partialSeriesSuvNote(instances: readonly PetAttributes[], scanStart: string): string | null {
  const declared = instances.map((i) => i.NumberOfSlices).find((n) => n !== undefined && n > 0);
  if (declared !== undefined && instances.length >= declared) return null;
  const why =
    declared === undefined
      ? 'the files carry no NumberOfSlices (0054,0081), so whether the series is whole cannot be told'
      : `the series holds ${declared} slice(s) (NumberOfSlices) and ${instances.length} were read`;
  return (
    `SUVbw is decayed to the earliest AcquisitionTime of the ${instances.length} file(s) read (${scanStart}), SeriesTime being later, ` +
    `where the scan start is the earliest AcquisitionTime of the whole series; ${why}: a missing file acquired earlier would make every SUV here ` +
    'too high by 2^(minutes earlier / half-life), and another subset of the series reads other SUVs for the same voxels'
  );
}

/** One SUVbw factor per instance (modality value × factor = SUVbw), or why there is none. */
export function suvbwFactors(instances: readonly PetAttributes[]): SuvOutcome {
  if (instances.length === 0) return { ok: false, reason: 'no PET instances' };
  const first = instances[0]!;
  // GML pixels are SUV already (calculate-suv's factor 1): no weight, dose, half-life or decay
  // enters, so none is asked for (a mixed series goes on to calculate-suv, which refuses it).
  if (instances.every((i) => i.Units === 'GML')) return { ok: true, factors: instances.map(() => 1) };
  // Say plainly what is missing instead of passing NaN to the library.
  if (!(first.PatientWeight > 0)) return { ok: false, reason: 'PatientWeight (0010,1030) is missing or zero' };
  if (!(first.RadionuclideTotalDose > 0)) {
    return { ok: false, reason: 'RadionuclideTotalDose (0018,1074) is missing or zero' };
  }
  if (!(first.RadionuclideHalfLife > 0)) return { ok: false, reason: 'RadionuclideHalfLife (0018,1075) is missing or zero' };
  const decayCorrection = first.DecayCorrection.trim().toUpperCase();
  if (decayCorrection !== 'START' && decayCorrection !== 'ADMIN') {
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
    const scanStart = scanStartFromFilesRead(instances, decayCorrection);
    return { ok: true, factors, ...(scanStart !== undefined ? { scanStartFromFilesRead: scanStart } : {}) };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    console.warn = warn;
    console.log = log;
  }
}

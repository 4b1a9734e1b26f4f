/**
 * PET activity → SUVbw through @cornerstonejs/calculate-suv (decay correction to the series or
 * acquisition start, Philips and GE private variants). When it cannot be computed the reason is
 * returned, and callers keep Bq/ml (or the stored units) with an E_SUV_UNAVAILABLE warning.
 *
 * DecayCorrection (0054,1102) says which time the pixels are decay-corrected to, and so to which
 * time the injected dose must be decayed: START (the scan start) is what calculate-suv assumes;
 * ADMIN (the administration) needs the dose as injected, undecayed, and no time at all (a scan
 * that starts before the injection is no reason to refuse); anything else (NONE, empty)
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
 * known to be whole (NumberOfSlices images, times the frames of a dynamic or gated series). No
 * other time is made up for it.
 *
 * A RadiopharmaceuticalStartTime without a RadiopharmaceuticalStartDateTime is on the SeriesDate
 * (calculate-suv's rule), unless that puts the injection after the scan time the dose is decayed
 * to: then it is taken on the day before, as for a scan that crosses midnight (QIBA's pseudo-code:
 * "assume same as Series Date; but consider spanning midnight"), when that makes the uptake time
 * at most MAX_ASSUMED_UPTAKE_HOURS; `injectionDateAssumed` says so. A longer one is refused: an
 * injection time entered minutes late would otherwise read as a day of decay.
 *
 * A RadiopharmaceuticalStartDateTime with its own UTC offset (&ZZXX) is given to calculate-suv as
 * the wall-clock time of the file's Timezone Offset From UTC (0008,0201), the zone the DA / TM it
 * is compared with are in (PS3.5 6.2): calculate-suv reads no offset ("+0100" becomes part of the
 * seconds' fraction), so it would compare wall-clock times of two zones. Without a Timezone Offset
 * From UTC the zone of SeriesTime / AcquisitionTime is not known, and the SUV is refused.
 *
 * Enhanced PET Image Storage keeps its timing, dose (in MBq) and units where calculate-suv does
 * not look, and decay-corrects to its Decay Correction DateTime (0018,9701): its factors, one per
 * frame, come from ./enhanced-pet-suv.ts (which says what it reads and what it refuses). Legacy
 * Converted Enhanced PET carries the classic attributes, some in its Unassigned Converted Attributes
 * Sequences: each frame's classic attributes (image-header.ts `LegacyFrames`) go through the rules
 * above as one instance each.
 */
import { calculateSUVScalingFactors } from '@cornerstonejs/calculate-suv';
import { dateTimeInFileZone, offsetMinutes, parseDicomDateTime } from './datetime-zone.js';
import { enhancedPetSuvFactors } from './enhanced-pet-suv.js';
import type { PetAttributes } from './image-header.js';
import { petFrameLayout } from './pet-time-slices.js';
import { SOP_CLASS } from './uid.js';

/** The longest uptake (injection to scan) for which an injection time later than the scan is read as the day before. */
export const MAX_ASSUMED_UPTAKE_HOURS = 12;

const LEGACY_CONVERTED_ENHANCED_PET = '1.2.840.10008.5.1.4.1.1.128.1';

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
      /**
       * Present when the injection had only a RadiopharmaceuticalStartTime, later in the day than
       * the scan, and was taken on the day before ("YYYYMMDD HHMMSS" of the injection as read).
       */
      readonly injectionDateAssumed?: string;
      /**
       * Multi-frame PET (Enhanced, Legacy Converted): one factor per frame of each instance;
       * `factors` then holds each instance's first frame's.
       */
      readonly frameFactors?: number[][];
      /** Enhanced PET: the Decay Correction DateTime (0018,9701) the dose was decayed to, as stored. */
      readonly decayCorrectionDateTime?: string;
    }
  | { readonly ok: false; readonly reason: string };

/** DA + TM as one string that sorts in time order ('' when either is unreadable). */
export function sortableDateTime(date: string, time: string): string {
  const da = date.trim();
  const [whole = '', fraction = ''] = time.trim().replace(/:/g, '').split('.');
  if (!/^\d{8}$/.test(da) || !/^\d{2,6}$/.test(whole) || whole.length % 2 !== 0 || !/^\d*$/.test(fraction)) return '';
  return `${da}${whole.padEnd(6, '0')}.${fraction.padEnd(6, '0').slice(0, 6)}`;
}

/** A sortableDateTime string as milliseconds on a day count (UTC, so no time zone or DST enters). */
export function dateTimeMs(sortable: string): number {
  const n = (from: number, to: number) => Number(sortable.slice(from, to));
  return Date.UTC(n(0, 4), n(4, 6) - 1, n(6, 8), n(8, 10), n(10, 12), n(12, 14)) + Number(`0${sortable.slice(14)}`) * 1000;
}

/** The time calculate-suv decays the dose to for START: the series time, else GE's or the earliest acquisition ('' when unreadable). */
function scanReference(instances: readonly PetAttributes[]): string {
  const first = instances[0]!;
  const series = sortableDateTime(first.SeriesDate, first.SeriesTime);
  const acquisitions = instances.map((i) => sortableDateTime(i.AcquisitionDate, i.AcquisitionTime)).filter((k) => k !== '');
  const earliest = acquisitions.length > 0 ? acquisitions.reduce((a, b) => (b < a ? b : a)) : '';
  if (series === '' || earliest === '' || series <= earliest) return series;
  const ge = first.GEPrivatePostInjectionDateTime?.trim() ?? '';
  return ge !== '' ? sortableDateTime(ge.slice(0, 8), ge.slice(8)) : earliest;
}

/**
 * The injection date and time to give calculate-suv when only a RadiopharmaceuticalStartTime is
 * stored and it is later than the scan time on the SeriesDate (see the header): the day before,
 * or a refusal when that makes an uptake of more than MAX_ASSUMED_UPTAKE_HOURS. Undefined when
 * nothing is to be assumed.
 */
function injectionOnDayBefore(instances: readonly PetAttributes[]): { dateTime: string; read: string } | { refused: string } | undefined {
  const first = instances[0]!;
  const time = first.RadiopharmaceuticalStartTime?.trim() ?? '';
  if ((first.RadiopharmaceuticalStartDateTime?.trim() ?? '') !== '' || time === '') return undefined;
  const injection = sortableDateTime(first.SeriesDate, time);
  const scan = scanReference(instances);
  if (injection === '' || scan === '' || injection <= scan) return undefined;
  const dayBefore = new Date(dateTimeMs(injection) - 86_400_000);
  const uptakeHours = (dateTimeMs(scan) - dayBefore.getTime()) / 3_600_000;
  const scanWords = `${scan.slice(0, 8)} ${scan.slice(8)}`;
  if (!(uptakeHours > 0 && uptakeHours <= MAX_ASSUMED_UPTAKE_HOURS)) {
    return {
      refused:
        `RadiopharmaceuticalStartTime (0018,1072) ${time} is later than the scan time ${scanWords} on the SeriesDate, and on the day before ` +
        `it would mean ${uptakeHours.toFixed(1)} h of uptake (more than ${MAX_ASSUMED_UPTAKE_HOURS} h); ` +
        'set RadiopharmaceuticalStartDateTime (0018,1078) in the Radiopharmaceutical Information Sequence to the injection date and time',
    };
  }
  const date = dayBefore.toISOString().slice(0, 10).replace(/-/g, '');
  return { dateTime: `${date}${time.replace(/:/g, '')}`, read: `${date} ${time}` };
}

/**
 * The RadiopharmaceuticalStartDateTime to give calculate-suv when the stored one carries a UTC
 * offset: the same instant as wall-clock time in the file's Timezone Offset From UTC, or a
 * refusal when the file has none (see the header). Undefined when it has no offset of its own.
 */
function injectionInFileZone(first: PetAttributes): { dateTime: string } | { refused: string } | undefined {
  const stored = first.RadiopharmaceuticalStartDateTime?.trim() ?? '';
  const parsed = parseDicomDateTime(stored);
  if (parsed === null || parsed.offsetMinutes === null) return undefined;
  const zone = first.TimezoneOffsetFromUTC?.trim() ?? '';
  if (!Number.isFinite(offsetMinutes(zone))) {
    return {
      refused:
        `RadiopharmaceuticalStartDateTime (0018,1078) "${stored}" carries a UTC offset and the SeriesTime / AcquisitionTime it is compared with do not, ` +
        `and the file has ${zone === '' ? 'no Timezone Offset From UTC (0008,0201)' : `an unreadable Timezone Offset From UTC (0008,0201) "${zone}"`} ` +
        'to say which zone they are in (PS3.5 6.2)',
    };
  }
  return { dateTime: dateTimeInFileZone(stored, zone) };
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
  const slices = instances.map((i) => i.NumberOfSlices).find((n) => n !== undefined && n > 0);
  // A dynamic series holds NumberOfSlices positions at each time point, a gated one at each gate.
  const layout = petFrameLayout(instances);
  const frames = layout.kind === 'static' ? 1 : layout.frames;
  const declared = slices === undefined ? undefined : slices * frames;
  if (declared !== undefined && instances.length >= declared) return null;
  const why =
    declared === undefined
      ? 'the files carry no NumberOfSlices (0054,0081), so whether the series is whole cannot be told'
      : layout.kind !== 'static'
        ? `the series holds ${declared} image(s) (NumberOfSlices ${slices} x ${layout.framesWords}) and ${instances.length} were read`
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
  const multiFrame = (i: PetAttributes) =>
    i.EnhancedPet !== undefined || i.LegacyFrames !== undefined || i.SOPClassUID === SOP_CLASS.enhancedPetImage || i.SOPClassUID === LEGACY_CONVERTED_ENHANCED_PET;
  if (instances.some(multiFrame)) return multiFramePetFactors(instances);
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
  // ADMIN pixels are decay-corrected to the injection: the dose enters as injected and neither
  // the injection's time nor the scan's enters the factor. A dynamic scan that starts before the
  // bolus (or a series with no injection time) is then no reason to refuse, nor to assume a day.
  const admin = decayCorrection === 'ADMIN';
  const assumed = admin ? undefined : injectionOnDayBefore(instances);
  if (assumed !== undefined && 'refused' in assumed) return { ok: false, reason: assumed.refused };
  const adminReference = admin ? scanReference(instances) : '';
  const injection = admin || assumed !== undefined ? undefined : injectionInFileZone(first);
  if (injection !== undefined && 'refused' in injection) return { ok: false, reason: injection.refused };
  // The library logs to the console (warnings about SUVlbm / SUVbsa inputs we do not use, and
  // debug lines on stdout that would corrupt `--json` output): silence it for the call.
  const { warn, log } = console;
  console.warn = () => {};
  console.log = () => {};
  try {
    // Sex and height only feed SUVlbm / SUVbsa, and the library refuses values such as 'O':
    // leave them out so that they cannot block SUVbw.
    const forSuvbw = instances.map(({ PatientSex: _sex, PatientSize: _size, TimezoneOffsetFromUTC: _zone, ...rest }) => ({
      ...rest,
      ...(injection !== undefined ? { RadiopharmaceuticalStartDateTime: injection.dateTime } : {}),
      // ADMIN: calculate-suv decays the dose by 2^(-t / half-life) to the scan time; an infinite
      // half-life makes that 1, the dose as injected (its other checks still apply). It refuses a
      // negative t, so it is given the injection at its own scan time (t = 0), which changes nothing else.
      ...(admin ? { RadionuclideHalfLife: Number.POSITIVE_INFINITY } : {}),
      ...(adminReference !== '' ? { RadiopharmaceuticalStartDateTime: adminReference } : {}),
      ...(assumed !== undefined ? { RadiopharmaceuticalStartDateTime: assumed.dateTime } : {}),
    }));
    const results = calculateSUVScalingFactors(forSuvbw);
    // Philips private factors can come through as strings.
    const factors = results.map((r) => Number(r.suvbw));
    const bad = factors.find((f) => !(Number.isFinite(f) && f > 0));
    if (bad !== undefined) return { ok: false, reason: `calculate-suv returned an unusable factor (${bad})` };
    const scanStart = scanStartFromFilesRead(instances, decayCorrection);
    return {
      ok: true,
      factors,
      ...(scanStart !== undefined ? { scanStartFromFilesRead: scanStart } : {}),
      ...(assumed !== undefined ? { injectionDateAssumed: assumed.read } : {}),
    };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    console.warn = warn;
    console.log = log;
  }
}

/** Enhanced or Legacy Converted Enhanced PET instances (see the header): a factor per frame. */
function multiFramePetFactors(instances: readonly PetAttributes[]): SuvOutcome {
  const sopClass = instances[0]!.SOPClassUID ?? '';
  if (instances.some((i) => (i.SOPClassUID ?? '') !== sopClass)) {
    return { ok: false, reason: `the series mixes SOP classes (${[...new Set(instances.map((i) => i.SOPClassUID ?? '?'))].join(', ')})` };
  }
  const noGroups = 'it has no Per-Frame Functional Groups Sequence (5200,9230) to read its frames from';
  if (sopClass === LEGACY_CONVERTED_ENHANCED_PET) {
    if (instances.some((i) => i.LegacyFrames === undefined)) return { ok: false, reason: `Legacy Converted Enhanced PET: ${noGroups}` };
    const views = instances.map((i) => i.LegacyFrames ?? []);
    // Each frame as the classic instance it was converted from.
    const flat = views.flat().map(({ SOPClassUID: _class, LegacyFrames: _frames, ...classic }) => classic);
    const outcome = suvbwFactors(flat);
    if (!outcome.ok) return { ok: false, reason: `Legacy Converted Enhanced PET, read frame by frame as PET images: ${outcome.reason}` };
    let at = 0;
    const frameFactors = views.map((frames) => frames.map(() => outcome.factors[at++]!));
    return { ...outcome, factors: frameFactors.map((f) => f[0] ?? Number.NaN), frameFactors };
  }
  const frameFactors: number[][] = [];
  let decayCorrectionDateTime: string | undefined;
  for (const instance of instances) {
    if (instance.EnhancedPet === undefined) {
      return { ok: false, reason: sopClass === SOP_CLASS.enhancedPetImage ? `Enhanced PET Image (${sopClass}): ${noGroups}` : `SOP class ${sopClass} is not an Enhanced PET Image` };
    }
    const outcome = enhancedPetSuvFactors(instance.EnhancedPet, instance.Units, instance.PatientWeight);
    if (!outcome.ok) return { ok: false, reason: `Enhanced PET Image (${SOP_CLASS.enhancedPetImage}): ${outcome.reason}` };
    frameFactors.push(outcome.factors);
    if (outcome.decayCorrectionDateTime !== '') decayCorrectionDateTime ??= outcome.decayCorrectionDateTime;
  }
  return {
    ok: true,
    factors: frameFactors.map((f) => f[0] ?? Number.NaN),
    frameFactors,
    ...(decayCorrectionDateTime !== undefined ? { decayCorrectionDateTime } : {}),
  };
}

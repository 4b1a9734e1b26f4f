/**
 * The classic PET attributes of one frame of a multi-frame PET source (Enhanced PET Image,
 * 1.2.840.10008.5.1.4.1.1.130; Legacy Converted Enhanced PET, …128.1), for the single-frame PET
 * Image (1.2.840.10008.5.1.4.1.1.128, PS3.3 A.21) ./write-derived.ts writes of it. Those sources
 * keep what the PET Series (C.8.9.1), PET Isotope (C.8.9.2) and PET Image (C.8.9.4) modules hold
 * in other places (functional groups, the Enhanced PET modules, the Unassigned Converted Attributes
 * Sequences); each value here is taken from there, and one that cannot be is left out rather than
 * made up (docs/dicom-writing.md lists the rules):
 *
 * - Legacy Converted: the classic attributes the conversion kept, the Unassigned Shared Converted
 *   Attributes Sequence (0020,9170) overlaid by the frame's Unassigned Per-Frame one (0020,9171),
 *   copied as the top level is (./derived-attributes.ts).
 * - Enhanced: Series Date / Time the Decay Correction DateTime (0018,9701) when Decay Corrected
 *   (0018,9758) is YES (the reference of the activity, DecayCorrection START), else the source's,
 *   else the earliest Frame Acquisition DateTime; Units from the frame's Real World Value Mapping
 *   (UCUM, CID 84) as the classic defined term; Corrected Image from the YES flags (Counts Source
 *   is the Enhanced PET Corrections Module's own, copied); Frame Reference Time the frame's Frame Reference DateTime
 *   (0018,9151) less the series reference, in ms; Acquisition Date / Time its Frame Acquisition
 *   DateTime (0018,9074); Actual Frame Duration its Frame Acquisition Duration (0018,9220).
 * - Both: Series Type, Number of Slices, Number of Time Slices, the gated values (Number of R-R
 *   Intervals, Number of Time Slots, Trigger Time, Frame Time, Beat Rejection Flag, ...) and Image
 *   Index from the frame's place in its derived series (`PetFramePlace`, ./derived-pet-series.ts,
 *   planned over every frame of the series), where the source does not state them; in a series of
 *   one radiopharmaceutical of several, that agent's item only; Decay Factor (1C, Decay Correction
 *   not NONE) from the frame's correction factors, else from its start, duration and the half-life
 *   (`decayFactor`).
 * - A DT with a time-zone offset goes into the classic DA / TM in the file's Timezone Offset From
 *   UTC (0008,0201), which is set to the offset of the first such DT when the source has none. DTs
 *   some with an offset and some without (no Timezone Offset From UTC) cannot share one clock: the
 *   frame's own decide it, and a DT off it is neither written nor compared (`fileClock`).
 * - The Enhanced PET Isotope Module's dose is in MBq, the classic one's in Bq: converted. When
 *   lowdose refused the source's SUV, ./write-derived.ts leaves every dose out
 *   (`leaveOutRefusedSuvInputs`, for every PET source).
 */
import { frameNumbers, functionalGroup, getItems, getString as getParsedString, TAG } from './attributes.js';
import { dateTimeInFileZone, instantMs, localDateAndTime, offsetText, parseDicomDateTime } from './datetime-zone.js';
import { copySourceAttributes, readCopiedAttributes } from './derived-source.js';
import { dicomParser, type DataSet } from './dicom-parser.js';
import type { PetCardiacGate, PetFramePlace, PetRespiratoryGate } from './derived-pet-series.js';
import type { EnhancedPetAttributes } from './enhanced-pet-attributes.js';
import { frameAgent, MAX_ENHANCED_DOSE_MBQ } from './enhanced-pet-suv.js';
import type { ImageHeader } from './image-header.js';
import type { ParsedFile } from './parse.js';
import { sortableDateTime, dateTimeMs } from './suv.js';
import { type DcmDataset, deleteElement, getString, getValues, setElement } from './write-dcmjs.js';
import { dsList } from './write-file.js';

const ENHANCED_PET_IMAGE = '1.2.840.10008.5.1.4.1.1.130';
const UNASSIGNED_SHARED_CONVERTED = 'x00209170';
const UNASSIGNED_PER_FRAME_CONVERTED = 'x00209171';
const FRAME_CONTENT = 'x00209111';
const FRAME_ACQUISITION_DATETIME = 'x00189074';
const FRAME_REFERENCE_DATETIME = 'x00189151';
const FRAME_ACQUISITION_DURATION = 'x00189220';
const PET_FRAME_CORRECTION_FACTORS = 'x00189736';
const DECAY_FACTOR = 'x00541321';
const ACQUISITION_DATETIME = 'x0008002a';

/** Classic Units (0054,1001) defined terms (C.8.9.1.1.3) of the UCUM codes of CID 84 "PET Units". */
const CLASSIC_UNITS: Readonly<Record<string, string>> = {
  'Bq/ml': 'BQML',
  '{counts}': 'CNTS',
  '{counts}/s': 'CPS',
  '{propcounts}': 'PROPCNTS',
  '{propcounts}/s': 'PROPCPS',
  '%': 'PCNT',
  'cm2': 'CM2',
  'cm2/ml': 'CM2ML',
  '/cm': '1CM',
  'g/ml': 'GML',
  '{SUVbw}g/ml': 'GML',
  '{SUVlbm}g/ml': 'GML',
  '{SUVlbm(James128)}g/ml': 'GML',
  '{SUVlbm(Janma)}g/ml': 'GML',
  '{SUVibw}g/ml': 'GML',
  '{SUVbsa}cm2/ml': 'CM2ML',
  'mg/min/ml': 'MGMINML',
  'umol/min/ml': 'UMOLMINML',
  'ml/min/g': 'MLMING',
  'ml/g': 'MLG',
  'ml/min/ml': 'MLMINML',
  'ml/ml': 'MLML',
  'umol/ml': 'UMOLML',
  '1': 'NONE',
};

/**
 * The decay factor of a frame decay-corrected to `referenceMs` (PS3.3 C.8.9.4 Decay Factor):
 * the decay from the reference to the frame's start, times the mean decay over its duration,
 *
 *   2^((t_start - t_ref) / T½) × λΔt / (1 - e^(-λΔt)),   λ = ln 2 / T½,
 *
 * NaN when an input is missing.
 */
export function decayFactor(startMs: number, durationMs: number, referenceMs: number, halfLifeS: number): number {
  if (!Number.isFinite(startMs) || !Number.isFinite(referenceMs) || !(halfLifeS > 0) || !(durationMs >= 0)) return Number.NaN;
  const lambda = Math.LN2 / halfLifeS;
  const dt = durationMs / 1000;
  const within = dt === 0 ? 1 : (lambda * dt) / -Math.expm1(-lambda * dt);
  return 2 ** ((startMs - referenceMs) / 1000 / halfLifeS) * within;
}

export interface PetFrameContext {
  readonly parsed: ParsedFile;
  readonly header: ImageHeader;
  readonly frame: number;
  /** The frame's place in its derived series, planned over the whole source series (./derived-pet-series.ts). */
  readonly place: PetFramePlace;
}

const frameContentString = (ds: DataSet, frame: number, tag: string) => {
  const content = functionalGroup(ds, frame, FRAME_CONTENT);
  return (content ? getParsedString(content, tag) : undefined) ?? '';
};

/** Overlays the classic attributes a Legacy Converted source keeps in its Unassigned Converted Attributes Sequences. */
function overlayConvertedAttributes(dataset: DcmDataset, parsed: ParsedFile, frame: number): void {
  const ds = parsed.dataSet;
  const shared = getItems(getItems(ds, TAG.SharedFunctionalGroupsSequence)[0] ?? ds, UNASSIGNED_SHARED_CONVERTED)[0];
  const perFrame = ds.elements[TAG.PerFrameFunctionalGroupsSequence]?.items?.[frame]?.dataSet;
  const own = perFrame ? getItems(perFrame, UNASSIGNED_PER_FRAME_CONVERTED)[0] : undefined;
  if (!shared && !own) return;
  // Nested items index the same bytes as the top level: read as a data set of their own.
  const merged = new dicomParser.DataSet(ds.byteArrayParser, ds.byteArray, { ...(shared?.elements ?? {}), ...(own?.elements ?? {}) });
  const converted = readCopiedAttributes(copySourceAttributes({ ...parsed, dataSet: merged }));
  Object.assign(dataset, converted);
}

/** Sets a DA / TM pair from a DT in the file's offset; false when the DT is unreadable. */
function setDateTime(dataset: DcmDataset, dt: string, date: string, time: string): boolean {
  const local = localDateAndTime(dt, getString(dataset, 'TimezoneOffsetFromUTC'));
  if (local === null) return false;
  setElement(dataset, date, [local.date]);
  setElement(dataset, time, [local.time]);
  return true;
}

/** The series reference (SeriesDate / SeriesTime) as an instant, NaN when unreadable. */
function seriesReferenceMs(dataset: DcmDataset): number {
  return dateTimeInstant(dataset, 'SeriesDate', 'SeriesTime');
}

/** A DA / TM pair of the dataset as an instant in the file's offset, NaN when unreadable. */
function dateTimeInstant(dataset: DcmDataset, date: string, time: string): number {
  const sortable = sortableDateTime(getString(dataset, date) ?? '', getString(dataset, time) ?? '');
  if (sortable === '') return Number.NaN;
  const offset = getString(dataset, 'TimezoneOffsetFromUTC');
  return offset ? instantMs(`${sortable}${offset}`) : dateTimeMs(sortable);
}

/**
 * The clock a frame's derived file writes its DA / TM on, and which of the source's DTs are on it.
 * With a Timezone Offset From UTC every DT is (PS3.5 6.2: one without an offset is in it). Without
 * one, DTs that all carry an offset, or all none, are one clock too: the file's offset becomes the
 * first offset among `frameDts` then `otherDts`, or stays absent (local time). Some with an offset
 * and some without cannot be put on one clock (the zone of those without is not known): the clock
 * is then the frame's own DTs' (its offset adopted when they carry one), and a DT of the other kind
 * is not on it, so no time is written of it nor compared with it.
 */
function fileClock(dataset: DcmDataset, frameDts: readonly string[], otherDts: readonly string[]): FrameClock {
  const clock = frameClock(getString(dataset, 'TimezoneOffsetFromUTC'), frameDts, otherDts);
  if (clock.adopted !== null) setElement(dataset, 'TimezoneOffsetFromUTC', [clock.adopted]);
  return clock;
}

interface FrameClock {
  /** The offset the file adopts (null: none). */
  readonly adopted: string | null;
  /** Which DTs are on the clock: all of them, or (mixed, without a file offset) only those with an offset or only those without. */
  readonly kind: 'all' | 'zoned' | 'local';
  readonly onClock: (dt: string) => boolean;
}

/** `fileClock` without the data set. */
function frameClock(zone: string | undefined, frameDts: readonly string[], otherDts: readonly string[]): FrameClock {
  if (zone) return { adopted: null, kind: 'all', onClock: () => true };
  const offsetOf = (dt: string) => parseDicomDateTime(dt)?.offsetMinutes;
  const read = [...frameDts, ...otherDts].filter((dt) => parseDicomDateTime(dt) !== null);
  const zoned = read.filter((dt) => offsetOf(dt) !== null);
  const frameRead = frameDts.filter((dt) => parseDicomDateTime(dt) !== null);
  const mixed = zoned.length > 0 && zoned.length < read.length;
  const clockZoned = mixed ? frameRead.length > 0 && frameRead.every((dt) => offsetOf(dt) !== null) : zoned.length > 0;
  const offset = clockZoned ? offsetOf(frameRead.find((dt) => offsetOf(dt) !== null) ?? zoned[0]!) : null;
  const adopted = offset !== null && offset !== undefined ? offsetText(offset) : null;
  if (!mixed) return { adopted, kind: 'all', onClock: () => true };
  return {
    adopted,
    kind: clockZoned ? 'zoned' : 'local',
    onClock: (dt: string) => {
      const own = offsetOf(dt);
      return own !== undefined && (own !== null) === clockZoned;
    },
  };
}

/** The frame's own Frame Reference and Frame Acquisition DateTimes ('' where absent): what its file's clock is. */
const frameDateTimes = (ds: DataSet, frame: number) => [frameContentString(ds, frame, FRAME_REFERENCE_DATETIME), frameContentString(ds, frame, FRAME_ACQUISITION_DATETIME)];

/** The DTs of an Enhanced PET source other than the frame's own that its derived file may state. */
const otherDateTimes = (enhanced: EnhancedPetAttributes) => [enhanced.decayCorrectionDateTime, ...enhanced.agents.map((a) => a.startDateTime)];

/**
 * Why the classic PET Image of frame `frame` cannot say what its pixels are decay-corrected to
 * (DecayCorrection (0054,1102), Type 1 in the PET Series Module), or null when it can. An Enhanced
 * PET source gives it by Decay Corrected (0018,9758): YES with a Decay Correction DateTime on the
 * file's clock (`fileClock`) is START, NO is NONE; otherwise, and for a Legacy Converted source, the
 * source's classic DecayCorrection where it carries one. With none of these no value would be true
 * (START names a reference the file cannot place, NONE and ADMIN say something else), so the
 * derived series is refused rather than written without it (./write-derived.ts).
 */
export function decayCorrectionProblem(header: ImageHeader, parsed: ParsedFile, frame: number): string | null {
  const pet = header.pet;
  if (!pet) return null;
  const enhanced = header.sopClassUid === ENHANCED_PET_IMAGE ? pet.EnhancedPet : undefined;
  const classic = (pet.LegacyFrames?.[frame] ?? pet).DecayCorrection.trim();
  if (classic !== '') return null;
  if (!enhanced) return `frame ${frame + 1} has no DecayCorrection (0054,1102) among its converted attributes`;
  if (enhanced.decayCorrected === 'NO') return null;
  const dt = enhanced.decayCorrectionDateTime;
  const clock = frameClock(pet.TimezoneOffsetFromUTC || undefined, frameDateTimes(parsed.dataSet, frame), otherDateTimes(enhanced));
  const zone = clock.adopted ?? (pet.TimezoneOffsetFromUTC || undefined);
  if (enhanced.decayCorrected === 'YES' && dt !== '' && clock.onClock(dt) && localDateAndTime(dt, zone) !== null) return null;
  const why =
    enhanced.decayCorrected !== 'YES'
      ? `Decay Corrected (0018,9758) is ${enhanced.decayCorrected === '' ? 'missing' : enhanced.decayCorrected}`
      : dt === ''
        ? 'Decay Corrected (0018,9758) is YES but the Decay Correction DateTime (0018,9701) is missing'
        : !clock.onClock(dt)
          ? `Decay Corrected (0018,9758) is YES but the Decay Correction DateTime (0018,9701) "${dt}" cannot be put on the clock of frame ${frame + 1}'s ` +
            'Frame Reference / Acquisition DateTimes (some of the DTs carry a UTC offset and others do not, and the file has no Timezone Offset From UTC (0008,0201))'
          : `Decay Corrected (0018,9758) is YES but the Decay Correction DateTime (0018,9701) "${dt}" is not a readable date and time`;
  return `${why}, and the file carries no classic DecayCorrection (0054,1102)`;
}

/** The start DTs of a source, per file, and the earliest of them on each clock it was asked for (`earliestStart`). */
interface SourceStarts {
  /** Every frame's Frame Acquisition DateTime then the file's Acquisition DateTime ('' where absent). */
  readonly starts: readonly string[];
  /** Clock kind and file offset → the earliest start on that clock (undefined: none). */
  readonly earliest: Map<string, string | undefined>;
}
const sourceStarts = new WeakMap<ParsedFile, SourceStarts>();

/**
 * The earliest start of the source's frames (and its Acquisition DateTime) on the frame's clock,
 * in the file's offset `zone`: an Enhanced PET's series reference when it states none. Every frame
 * of a file is asked for it, so the starts are read once per file (reading them for each frame was
 * frames² work: 1,000 frames, docs/benchmarks.md) and the earliest found once per clock, of which a
 * file has one or, with DTs some with an offset and some without, two.
 */
function earliestStart(parsed: ParsedFile, clock: FrameClock, zone: string | undefined): string | undefined {
  let known = sourceStarts.get(parsed);
  if (!known) {
    const ds = parsed.dataSet;
    const starts = (ds.elements[TAG.PerFrameFunctionalGroupsSequence]?.items ?? [])
      .map((_, f) => frameContentString(ds, f, FRAME_ACQUISITION_DATETIME))
      .concat(getParsedString(ds, ACQUISITION_DATETIME) ?? '');
    known = { starts, earliest: new Map() };
    sourceStarts.set(parsed, known);
  }
  const key = `${clock.kind} ${zone ?? ''}`;
  if (known.earliest.has(key)) return known.earliest.get(key);
  // The first of the earliest, in the source's order.
  let earliest: string | undefined;
  let earliestMs = Number.POSITIVE_INFINITY;
  for (const start of known.starts) {
    if (!clock.onClock(start)) continue;
    const ms = instantMs(start, zone);
    if (Number.isFinite(ms) && ms < earliestMs) {
      earliest = start;
      earliestMs = ms;
    }
  }
  known.earliest.set(key, earliest);
  return earliest;
}

const radiopharmaceuticalItems = (dataset: DcmDataset) => (getValues(dataset, 'RadiopharmaceuticalInformationSequence') ?? []) as DcmDataset[];

/** Sets the classic PET Series, Isotope and Image attributes of frame `context.frame` on its derived `dataset`. */
export function setClassicPetFrameAttributes(dataset: DcmDataset, context: PetFrameContext): void {
  const { parsed, header, frame, place } = context;
  const ds = parsed.dataSet;
  const pet = header.pet;
  if (!pet) return;
  const enhanced = header.sopClassUid === ENHANCED_PET_IMAGE ? pet.EnhancedPet : undefined;
  if (pet.LegacyFrames) overlayConvertedAttributes(dataset, parsed, frame);

  const durationMs = frameNumbers(ds, frame, FRAME_CONTENT, FRAME_ACQUISITION_DURATION, 'FD')[0];
  const agent = enhanced ? frameAgent(enhanced.frames[frame]!, enhanced.agents) : undefined;
  // The one clock the file's DA / TM are written on; a DT that is not on it is neither written nor compared.
  const clock: FrameClock = enhanced ? fileClock(dataset, frameDateTimes(ds, frame), otherDateTimes(enhanced)) : { adopted: null, kind: 'all', onClock: () => true };
  const onClock = clock.onClock;
  const placed = (dt: string) => (dt !== '' && onClock(dt) ? dt : '');
  const acquiredAt = placed(frameContentString(ds, frame, FRAME_ACQUISITION_DATETIME));
  const referenceAt = placed(frameContentString(ds, frame, FRAME_REFERENCE_DATETIME));

  if (enhanced) {
    // PET Series: the reference time of the activity, and how it was decay-corrected.
    const corrected = enhanced.decayCorrected === 'YES' && onClock(enhanced.decayCorrectionDateTime) && setDateTime(dataset, enhanced.decayCorrectionDateTime, 'SeriesDate', 'SeriesTime');
    if (corrected) setElement(dataset, 'DecayCorrection', ['START']);
    else if (enhanced.decayCorrected === 'NO') setElement(dataset, 'DecayCorrection', ['NONE']);
    if (!corrected && !(getString(dataset, 'SeriesDate') && getString(dataset, 'SeriesTime'))) {
      const earliest = earliestStart(parsed, clock, getString(dataset, 'TimezoneOffsetFromUTC'));
      if (earliest) setDateTime(dataset, earliest, 'SeriesDate', 'SeriesTime');
    }
    const mapping = enhanced.frames[frame]!.realWorldValueMappings.find((m) => CLASSIC_UNITS[m.units] !== undefined);
    if (mapping) setElement(dataset, 'Units', [CLASSIC_UNITS[mapping.units]!]);
    setElement(dataset, 'CorrectedImage', enhanced.corrections);
    // PET Image: the frame's own times. Decay-corrected to START, a frame that began before the
    // reference says the reference as its start (C.8.9.1.1.5: START is the acquisition start), as
    // a classic reader decays to the earlier of series and acquisition time.
    if (acquiredAt) setDateTime(dataset, acquiredAt, 'AcquisitionDate', 'AcquisitionTime');
    const acquired = dateTimeInstant(dataset, 'AcquisitionDate', 'AcquisitionTime');
    if (corrected && !(acquired >= seriesReferenceMs(dataset))) setDateTime(dataset, enhanced.decayCorrectionDateTime, 'AcquisitionDate', 'AcquisitionTime');
    if (durationMs !== undefined && Number.isFinite(durationMs) && durationMs >= 0) setElement(dataset, 'ActualFrameDuration', [String(Math.round(durationMs))]);
    const series = seriesReferenceMs(dataset);
    const reference = instantMs(referenceAt, getString(dataset, 'TimezoneOffsetFromUTC'));
    if (Number.isFinite(series) && Number.isFinite(reference)) setElement(dataset, 'FrameReferenceTime', dsList([reference - series]));
    // PET Isotope: the Enhanced PET Isotope Module's dose is in MBq; the classic one's in Bq.
    const items = radiopharmaceuticalItems(dataset).map((item) => {
      const copy: DcmDataset = { ...item };
      const dose = Number(getString(copy, 'RadionuclideTotalDose'));
      if (Number.isFinite(dose) && dose > 0 && dose <= MAX_ENHANCED_DOSE_MBQ) setElement(copy, 'RadionuclideTotalDose', dsList([dose * 1e6]));
      else deleteElement(copy, 'RadionuclideTotalDose');
      const start = getString(copy, 'RadiopharmaceuticalStartDateTime');
      const zone = getString(dataset, 'TimezoneOffsetFromUTC');
      if (start && !onClock(start)) {
        deleteElement(copy, 'RadiopharmaceuticalStartDateTime');
        deleteElement(copy, 'RadiopharmaceuticalStartTime');
        return copy;
      }
      if (start) setElement(copy, 'RadiopharmaceuticalStartDateTime', [dateTimeInFileZone(start, zone)]);
      const local = start ? localDateAndTime(start, zone) : null;
      if (local && !getString(copy, 'RadiopharmaceuticalStartTime')) setElement(copy, 'RadiopharmaceuticalStartTime', [local.time]);
      return copy;
    });
    // One derived series per radiopharmaceutical (./derived-pet-series.ts): its own agent only.
    const own = place.agent === null ? items : items.filter((item) => Number(getString(item, 'RadiopharmaceuticalAgentNumber')) === place.agent);
    if (own.length > 0) setElement(dataset, 'RadiopharmaceuticalInformationSequence', own);
  }

  // PET Series / Image: the frame's place among the slices and time slices or gates of its derived
  // series, where the source does not say. An Enhanced source's stray classic copies are not
  // trusted: its functional groups decide. A Legacy Converted source's converted GATED values are
  // checked as an Enhanced source's are (./derived-pet-series.ts `convertedCardiacOf`): the plan
  // decides its Series Type and gated values, GATED only when they hold.
  const derive = enhanced !== undefined || (pet.LegacyFrames?.[frame]?.SeriesType ?? '').toUpperCase() === 'GATED';
  if (derive || !getValues(dataset, 'SeriesType')?.length) setElement(dataset, 'SeriesType', [place.seriesType, 'IMAGE']);
  const type = (getString(dataset, 'SeriesType') ?? '').toUpperCase();
  if (derive || !getString(dataset, 'NumberOfSlices')) setElement(dataset, 'NumberOfSlices', [String(place.numberOfSlices)]);
  if (type === 'DYNAMIC' && place.numberOfTimeSlices !== undefined && (derive || !getString(dataset, 'NumberOfTimeSlices'))) {
    setElement(dataset, 'NumberOfTimeSlices', [String(place.numberOfTimeSlices)]);
  }
  if (type !== 'DYNAMIC') deleteElement(dataset, 'NumberOfTimeSlices');
  if (derive) setGating(dataset, place);
  if (derive || !getString(dataset, 'ImageIndex')) setElement(dataset, 'ImageIndex', [String(place.imageIndex)]);
  // One series of several respiratory gates (./derived-pet-series.ts): no classic attribute holds a
  // respiratory phase, so the frame's stated values go in Image Comments (General Image, Type 3).
  if (place.respiratoryGate) addImageComment(dataset, respiratoryGateComment(place.respiratoryGate));
  // One STATIC series per cardiac gate of a gated source that cannot be written GATED: which gate, in words.
  if (place.cardiacGate) addImageComment(dataset, cardiacGateComment(place.cardiacGate));

  setDecayFactor(dataset, ds, frame, { acquiredAt, durationMs, halfLife: typeof agent === 'object' ? agent.halfLife : undefined });
}

/** What a derived frame of one respiratory gate of its source states in its Image Comments (one `; `-separated item). */
export function respiratoryGateComment(gate: PetRespiratoryGate): string {
  return `respiratory gate ${gate.gate} of ${gate.gates} of the source${gate.words ? `: ${gate.words}` : ' (no Respiratory Synchronization values)'}`;
}

/** What a derived frame of one cardiac gate of its source, written STATIC, states in its Image Comments (one `; `-separated item). */
export function cardiacGateComment(gate: PetCardiacGate): string {
  return `cardiac gate ${gate.gate} of ${gate.gates} of the source, by its converted Image Index (no Trigger Time to write it GATED)`;
}

/** `words` appended to the frame's Image Comments (General Image, Type 3), after what it holds. */
function addImageComment(dataset: DcmDataset, words: string): void {
  const own = getString(dataset, 'ImageComments');
  setElement(dataset, 'ImageComments', [own ? `${own}; ${words}` : words]);
}

/** The gated attributes of a GATED frame (./derived-pet-series.ts), none of them on any other. */
function setGating(dataset: DcmDataset, place: PetFramePlace): void {
  const gate = place.seriesType === 'GATED' ? place.gate : undefined;
  if (!gate) {
    for (const keyword of GATED_KEYWORDS) deleteElement(dataset, keyword);
    return;
  }
  setElement(dataset, 'NumberOfRRIntervals', [place.numberOfRRIntervals!]);
  setElement(dataset, 'NumberOfTimeSlots', [place.numberOfTimeSlots!]);
  setElement(dataset, 'TriggerTime', dsList([gate.triggerTimeMs]));
  setElement(dataset, 'FrameTime', dsList([gate.frameTimeMs]));
  setElement(dataset, 'BeatRejectionFlag', gate.beatRejection === '' ? [] : [gate.beatRejection]);
  if (gate.window) {
    setElement(dataset, 'LowRRValue', [String(Math.round(gate.window[0]))]);
    setElement(dataset, 'HighRRValue', [String(Math.round(gate.window[1]))]);
  } else {
    deleteElement(dataset, 'LowRRValue');
    deleteElement(dataset, 'HighRRValue');
  }
  if (gate.nominalIntervalMs !== undefined) setElement(dataset, 'NominalInterval', [String(Math.round(gate.nominalIntervalMs))]);
}

/** The classic attributes of a GATED PET series and its images (PS3.3 C.8.9.1, C.8.9.3, C.8.9.4). */
const GATED_KEYWORDS = ['NumberOfRRIntervals', 'NumberOfTimeSlots', 'TriggerTime', 'FrameTime', 'BeatRejectionFlag', 'LowRRValue', 'HighRRValue', 'NominalInterval'];

/**
 * Leaves out of a derived PET file what would let a reader make an SUV lowdose refused: every
 * Radionuclide Total Dose (without a dose no SUV is made) and the Philips SUV and activity
 * factors. The rest of the PET Isotope Module (agent, half-life, injection time) stays: it
 * describes the acquisition, and none of it is a number of its own a reader turns into an SUV.
 */
export function leaveOutRefusedSuvInputs(dataset: DcmDataset): void {
  const items = radiopharmaceuticalItems(dataset).map((item) => {
    const copy: DcmDataset = { ...item };
    deleteElement(copy, 'RadionuclideTotalDose');
    return copy;
  });
  if (items.length > 0) setElement(dataset, 'RadiopharmaceuticalInformationSequence', items);
  dropPhilipsPetFactors(dataset);
}

/**
 * Decay Factor (0054,1321), 1C in the PET Image module when Decay Correction is not NONE: the
 * frame's own (the Enhanced PET Frame Correction Factors, or the converted attributes), else
 * `decayFactor` of its start and duration relative to the series reference (START) or the
 * injection (ADMIN); left out when an input is missing.
 */
function setDecayFactor(
  dataset: DcmDataset,
  ds: DataSet,
  frame: number,
  frameTimes: { acquiredAt: string; durationMs: number | undefined; halfLife: number | undefined },
): void {
  const correction = (getString(dataset, 'DecayCorrection') ?? '').toUpperCase();
  if (correction === '' || correction === 'NONE') {
    deleteElement(dataset, 'DecayFactor');
    return;
  }
  const own = frameNumbers(ds, frame, PET_FRAME_CORRECTION_FACTORS, DECAY_FACTOR, 'DS')[0];
  if (own !== undefined && Number.isFinite(own) && own > 0) {
    setElement(dataset, 'DecayFactor', dsList([own]));
    return;
  }
  if (getString(dataset, 'DecayFactor')) return;
  const offset = getString(dataset, 'TimezoneOffsetFromUTC');
  const item = radiopharmaceuticalItems(dataset)[0];
  const halfLife = frameTimes.halfLife ?? Number(item ? getString(item, 'RadionuclideHalfLife') : Number.NaN);
  const start = frameTimes.acquiredAt ? instantMs(frameTimes.acquiredAt, offset) : dateTimeInstant(dataset, 'AcquisitionDate', 'AcquisitionTime');
  const duration = frameTimes.durationMs ?? Number(getString(dataset, 'ActualFrameDuration') ?? Number.NaN);
  let reference = seriesReferenceMs(dataset);
  if (correction === 'ADMIN') {
    const injection = item ? getString(item, 'RadiopharmaceuticalStartDateTime') : undefined;
    reference = injection ? instantMs(injection, offset) : Number.NaN;
  }
  const factor = decayFactor(start, duration, reference, halfLife);
  if (Number.isFinite(factor) && factor > 0) setElement(dataset, 'DecayFactor', dsList([factor]));
}

/** Philips' private PET block (7053,xx00 SUV scale factor, 7053,xx09 activity concentration scale factor): it scales counts. */
const PHILIPS_PET_GROUP = '7053';

/** Leaves out the Philips PET factors, with which a reader scales the values into activity or SUV. */
export function dropPhilipsPetFactors(dataset: DcmDataset): void {
  for (const tag of Object.keys(dataset)) if (tag.toUpperCase().startsWith(PHILIPS_PET_GROUP)) delete dataset[tag];
}

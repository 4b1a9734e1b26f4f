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
 * - Both: Series Type, Number of Slices, Number of Time Slices and Image Index from the frames'
 *   positions and times (`petFrameLayout`), where the source does not state them; Decay Factor
 *   (1C, Decay Correction not NONE) from the frame's correction factors, else from its start,
 *   duration and the half-life (`decayFactor`).
 * - A DT with a time-zone offset goes into the classic DA / TM in the file's Timezone Offset From
 *   UTC (0008,0201), which is set to the offset of the first such DT when the source has none.
 * - The Enhanced PET Isotope Module's dose is in MBq, the classic one's in Bq: converted. When
 *   lowdose refused the source's SUV (`suvRefused`), every Radionuclide Total Dose and the vendor
 *   SUV factors are left out, so that no reader makes of the derived file an SUV lowdose refused.
 */
import { frameNumbers, functionalGroup, getItems, getNumber as getParsedNumber, getString as getParsedString, TAG } from './attributes.js';
import { dateTimeInFileZone, instantMs, localDateAndTime, offsetText, parseDicomDateTime } from './datetime-zone.js';
import { copySourceAttributes, readCopiedAttributes } from './derived-source.js';
import { dicomParser, type DataSet } from './dicom-parser.js';
import { frameAgent, MAX_ENHANCED_DOSE_MBQ } from './enhanced-pet-suv.js';
import type { ImageHeader } from './image-header.js';
import type { ParsedFile } from './parse.js';
import { sortableDateTime, dateTimeMs } from './suv.js';
import type { Orientation, Series, Vec3 } from './types.js';
import { type DcmDataset, deleteElement, getString, getValues, setElement } from './write-dcmjs.js';
import { dsList } from './write-file.js';

const ENHANCED_PET_IMAGE = '1.2.840.10008.5.1.4.1.1.130';
const UNASSIGNED_SHARED_CONVERTED = 'x00209170';
const UNASSIGNED_PER_FRAME_CONVERTED = 'x00209171';
const FRAME_CONTENT = 'x00209111';
const FRAME_ACQUISITION_DATETIME = 'x00189074';
const FRAME_REFERENCE_DATETIME = 'x00189151';
const FRAME_ACQUISITION_DURATION = 'x00189220';
const TEMPORAL_POSITION_INDEX = 'x00209128';
const PET_FRAME_CORRECTION_FACTORS = 'x00189736';
const DECAY_FACTOR = 'x00541321';
const TYPE_OF_DETECTOR_MOTION = 'x00540202';
const CARDIAC_SYNCHRONIZATION = 'x00189118';
const RESPIRATORY_SYNCHRONIZATION = 'x00209253';
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

/** Where each frame a derived series writes from one source file sits among the slices and time slices. */
export interface PetFrameLayout {
  readonly numberOfSlices: number;
  /** Frames per position (1 for a static or whole-body series). */
  readonly numberOfTimeSlices: number;
  /** Per source frame: its slice (1-based, in the series' order) and time slice (1-based, by time). */
  readonly frames: ReadonlyMap<number, { readonly slice: number; readonly timeSlice: number }>;
}

export interface LayoutFrame {
  readonly frame: number;
  readonly position: Vec3 | null;
  /** What orders frames at one position in time (a sortable text; '' when unknown). */
  readonly time: string;
}

/**
 * Slices are the distinct positions along the normal of `orientation` (to 1 µm), numbered in the
 * order given (the series' order); time slices the frames that share a position, numbered by
 * `time`, then frame number. NumberOfTimeSlices is the most frames any position has.
 */
export function petFrameLayout(frames: readonly LayoutFrame[], orientation: Orientation | null): PetFrameLayout {
  const normal = sliceNormal(orientation) ?? [0, 0, 1];
  const key = (f: LayoutFrame, i: number) =>
    f.position ? String(Math.round((f.position[0] * normal[0]! + f.position[1] * normal[1]! + f.position[2] * normal[2]!) * 1000)) : `#${i}`;
  const byPosition = new Map<string, LayoutFrame[]>();
  frames.forEach((f, i) => {
    const k = key(f, i);
    const list = byPosition.get(k);
    if (list) list.push(f);
    else byPosition.set(k, [f]);
  });
  const out = new Map<number, { slice: number; timeSlice: number }>();
  let slice = 0;
  let most = 1;
  for (const list of byPosition.values()) {
    slice++;
    const ordered = [...list].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.frame - b.frame));
    ordered.forEach((f, t) => out.set(f.frame, { slice, timeSlice: t + 1 }));
    most = Math.max(most, ordered.length);
  }
  return { numberOfSlices: byPosition.size, numberOfTimeSlices: most, frames: out };
}

/** The normal of the image plane (row × column direction), null without an orientation. */
function sliceNormal(orientation: Orientation | null): number[] | null {
  return orientation
    ? [
        orientation[1] * orientation[5] - orientation[2] * orientation[4],
        orientation[2] * orientation[3] - orientation[0] * orientation[5],
        orientation[0] * orientation[4] - orientation[1] * orientation[3],
      ]
    : null;
}

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

/** The frame's time key for `petFrameLayout`: its Temporal Position Index, else its Frame Reference DateTime, else its Frame Reference Time. */
export function frameTimeKey(header: ImageHeader, parsed: ParsedFile, frame: number): string {
  const ds = parsed.dataSet;
  const legacy = header.pet?.LegacyFrames?.[frame];
  if (legacy) return legacy.FrameReferenceTime !== undefined ? String(legacy.FrameReferenceTime).padStart(20, '0') : sortableDateTime(legacy.AcquisitionDate, legacy.AcquisitionTime);
  const content = functionalGroup(ds, frame, FRAME_CONTENT);
  const index = content ? getParsedNumber(content, TEMPORAL_POSITION_INDEX, 'UL') : undefined;
  if (index !== undefined && Number.isFinite(index)) return String(index).padStart(12, '0');
  const reference = content ? getParsedString(content, FRAME_REFERENCE_DATETIME) : undefined;
  return reference ? String(instantMs(reference)).padStart(20, '0') : '';
}

/** The layout of the frames of `file` that `source` holds (multi-frame PET). */
export function layoutOfFile(source: Series, file: string, header: ImageHeader, parsed: ParsedFile): PetFrameLayout {
  const frames = source.slices
    .filter((s) => s.file === file)
    .map((s): LayoutFrame => ({ frame: s.frame, position: s.position, time: frameTimeKey(header, parsed, s.frame) }));
  return petFrameLayout(frames, source.orientation);
}

/**
 * The layout of every frame of a multi-frame PET file on its own, ordered along the slice normal
 * as a series sorts them: what the writer's layout is when the series holds the whole file.
 */
export function layoutOfOwnFrames(header: ImageHeader, parsed: ParsedFile): PetFrameLayout {
  const orientation = header.frameGeometry[0]?.orientation ?? null;
  const normal = sliceNormal(orientation);
  const location = (p: Vec3 | null) => (p && normal ? p[0] * normal[0]! + p[1] * normal[1]! + p[2] * normal[2]! : 0);
  const frames = header.frameGeometry
    .map((g, frame): LayoutFrame => ({ frame, position: g.position, time: frameTimeKey(header, parsed, frame) }))
    .sort((a, b) => location(a.position) - location(b.position) || a.frame - b.frame);
  return petFrameLayout(frames, orientation);
}

export interface PetFrameContext {
  readonly parsed: ParsedFile;
  readonly header: ImageHeader;
  readonly frame: number;
  readonly layout: PetFrameLayout;
  /** lowdose refused the source's SUV: no dose, no vendor SUV factor in the derived file. */
  readonly suvRefused: boolean;
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

/** Sets the file's Timezone Offset From UTC, when it has none, to the first offset among `dts`. */
function adoptTimezone(dataset: DcmDataset, dts: readonly string[]): void {
  if (getString(dataset, 'TimezoneOffsetFromUTC')) return;
  for (const dt of dts) {
    const offset = parseDicomDateTime(dt)?.offsetMinutes;
    if (offset !== undefined && offset !== null) {
      setElement(dataset, 'TimezoneOffsetFromUTC', [offsetText(offset)]);
      return;
    }
  }
}

const radiopharmaceuticalItems = (dataset: DcmDataset) => (getValues(dataset, 'RadiopharmaceuticalInformationSequence') ?? []) as DcmDataset[];

/** The series type of a source that does not state it (value 2 IMAGE: these classes hold reconstructed images). */
function seriesType(ds: DataSet, frame: number, layout: PetFrameLayout): string[] {
  const gated = functionalGroup(ds, frame, CARDIAC_SYNCHRONIZATION) !== undefined || functionalGroup(ds, frame, RESPIRATORY_SYNCHRONIZATION) !== undefined;
  if (gated) return ['GATED', 'IMAGE'];
  if (layout.numberOfTimeSlices > 1) return ['DYNAMIC', 'IMAGE'];
  const motion = (getParsedString(ds, TYPE_OF_DETECTOR_MOTION) ?? '').toUpperCase();
  return [motion === 'STEP AND SHOOT' || motion === 'CONTINUOUS' ? 'WHOLE BODY' : 'STATIC', 'IMAGE'];
}

/** Sets the classic PET Series, Isotope and Image attributes of frame `context.frame` on its derived `dataset`. */
export function setClassicPetFrameAttributes(dataset: DcmDataset, context: PetFrameContext): void {
  const { parsed, header, frame, layout } = context;
  const ds = parsed.dataSet;
  const pet = header.pet;
  if (!pet) return;
  const enhanced = header.sopClassUid === ENHANCED_PET_IMAGE ? pet.EnhancedPet : undefined;
  if (pet.LegacyFrames) overlayConvertedAttributes(dataset, parsed, frame);

  const acquiredAt = frameContentString(ds, frame, FRAME_ACQUISITION_DATETIME);
  const referenceAt = frameContentString(ds, frame, FRAME_REFERENCE_DATETIME);
  const durationMs = frameNumbers(ds, frame, FRAME_CONTENT, FRAME_ACQUISITION_DURATION, 'FD')[0];
  const agent = enhanced ? frameAgent(enhanced.frames[frame]!, enhanced.agents) : undefined;

  if (enhanced) {
    adoptTimezone(dataset, [enhanced.decayCorrectionDateTime, referenceAt, acquiredAt, ...enhanced.agents.map((a) => a.startDateTime)]);
    // PET Series: the reference time of the activity, and how it was decay-corrected.
    const corrected = enhanced.decayCorrected === 'YES' && setDateTime(dataset, enhanced.decayCorrectionDateTime, 'SeriesDate', 'SeriesTime');
    if (corrected) setElement(dataset, 'DecayCorrection', ['START']);
    else if (enhanced.decayCorrected === 'NO') setElement(dataset, 'DecayCorrection', ['NONE']);
    if (!corrected && !(getString(dataset, 'SeriesDate') && getString(dataset, 'SeriesTime'))) {
      const starts = (ds.elements[TAG.PerFrameFunctionalGroupsSequence]?.items ?? [])
        .map((_, f) => frameContentString(ds, f, FRAME_ACQUISITION_DATETIME))
        .concat(getParsedString(ds, ACQUISITION_DATETIME) ?? '')
        .filter((t) => Number.isFinite(instantMs(t, getString(dataset, 'TimezoneOffsetFromUTC'))));
      const offset = getString(dataset, 'TimezoneOffsetFromUTC');
      const earliest = starts.sort((a, b) => instantMs(a, offset) - instantMs(b, offset))[0];
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
      if (start) setElement(copy, 'RadiopharmaceuticalStartDateTime', [dateTimeInFileZone(start, zone)]);
      const local = start ? localDateAndTime(start, zone) : null;
      if (local && !getString(copy, 'RadiopharmaceuticalStartTime')) setElement(copy, 'RadiopharmaceuticalStartTime', [local.time]);
      return copy;
    });
    if (items.length > 0) setElement(dataset, 'RadiopharmaceuticalInformationSequence', items);
  }

  // PET Series / Image: the frame's place among the slices and time slices, where the source does not say.
  // An Enhanced source's stray classic copies are not trusted: its functional groups decide.
  const derive = enhanced !== undefined;
  const place = layout.frames.get(frame);
  if (derive || !getValues(dataset, 'SeriesType')?.length) setElement(dataset, 'SeriesType', seriesType(ds, frame, layout));
  const type = (getString(dataset, 'SeriesType') ?? '').toUpperCase();
  if (derive || !getString(dataset, 'NumberOfSlices')) setElement(dataset, 'NumberOfSlices', [String(layout.numberOfSlices)]);
  if (type === 'DYNAMIC' && (derive || !getString(dataset, 'NumberOfTimeSlices'))) setElement(dataset, 'NumberOfTimeSlices', [String(layout.numberOfTimeSlices)]);
  if (type !== 'DYNAMIC') deleteElement(dataset, 'NumberOfTimeSlices');
  if (place && (derive || !getString(dataset, 'ImageIndex'))) {
    const slices = Number(getString(dataset, 'NumberOfSlices'));
    setElement(dataset, 'ImageIndex', [String((place.timeSlice - 1) * slices + place.slice)]);
  }

  setDecayFactor(dataset, ds, frame, { acquiredAt, durationMs, halfLife: typeof agent === 'object' ? agent.halfLife : undefined });

  if (context.suvRefused) {
    const items = radiopharmaceuticalItems(dataset).map((item) => {
      const copy: DcmDataset = { ...item };
      deleteElement(copy, 'RadionuclideTotalDose');
      return copy;
    });
    if (items.length > 0) setElement(dataset, 'RadiopharmaceuticalInformationSequence', items);
    dropPhilipsPetFactors(dataset);
  }
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

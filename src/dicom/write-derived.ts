/**
 * Writes a processed copy of a series (denoised, simulated low dose, ...) as a new DICOM series in
 * the same study: one file per slice, streamed, each built from its SOURCE file's attributes so
 * that patient, study, frame-of-reference, geometry, equipment and PET attributes are carried
 * over. Only the attributes of ./derived-attributes.ts are copied (read by ./derived-source.ts),
 * invalid values are repaired or dropped (./value-repair.ts, reported in `warnings`), and every
 * file is read back before it is written: a file that would lose the source's geometry is an
 * error (E_GEOMETRY_LOST), never a silent output.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { LowdoseError } from '../errors.js';
import { makeOutputFolderSync, realPathOrSelf } from '../util/fs.js';
import { frameNumbers, functionalGroup, getNumber, getNumbers, getStrings, TAG } from './attributes.js';
import { appendContributingEquipment, DEFAULT_PROCESSING_EQUIPMENT, processingEquipmentItem, statedCountEquipment, type ProcessingEquipment } from './contributing-equipment.js';
import { decayCorrectionProblem, dropPhilipsPetFactors, leaveOutRefusedSuvInputs, setClassicPetFrameAttributes } from './derived-pet-frame.js';
import { classicGateValuesOfFile, classicGateValuesOfFiles, NO_CLASSIC_GATE_VALUES, type ClassicGateValues } from './classic-gate-values.js';
import { isMultiFramePet, petPlanFrame, placeInDynamicAcquisition, placeInGatedAcquisition, planPetSeries, type PetCardiacGate, type PetFramePlace, type PetRespiratoryGate, type PetSeriesPlan } from './derived-pet-series.js';
import { setClassicPetSuvAttributes } from './derived-pet-suv.js';
import { copySourceAttributes, readCopiedAttributes } from './derived-source.js';
import { readImageHeader, type FrameGeometry, type ImageHeader } from './image-header.js';
import { toStoredDomain } from './pixels.js';
import { setOwnWindow, type OwnWindow } from './voi-window.js';
import type { DecoderName, TransferSyntax } from './transfer-syntax.js';
import { parseDicomBytes, readDicomFileSync, type ParsedFile } from './parse.js';
import type { Series, SliceRef } from './types.js';
import { requiredType2Attributes } from './type2-attributes.js';
import { SOP_CLASS, hashedUid, newUid } from './uid.js';
import { repairedUid, repairValues, type ValueRepair } from './value-repair.js';
import {
  type DcmDataset,
  getString,
  getValues,
  keywordOf,
  setElement,
  tagOf,
} from './write-dcmjs.js';
import { dicomDateTime, dsList, encodePart10, fileMeta, setPixels, sliceFileName, writeBytesAtomic } from './write-file.js';
import {
  chooseLinearRescale,
  chooseProportionalRescale,
  finiteRange,
  paddingKeepingRescale,
  quantize,
  type Rescale,
  reusableRescale,
} from './write-pixels.js';
import { scalarText } from '../util/text.js';

export interface DerivedSeriesOptions {
  /** Directory for the new files (created when missing). */
  readonly outDir: string;
  /** DerivationDescription: what made the pixels (model, settings). Also the ContributionDescription of lowdose's Contributing Equipment item. */
  readonly derivationDescription: string;
  /**
   * What made the series, for the item lowdose appends to the Contributing Equipment Sequence
   * (./contributing-equipment.ts): the model or method name and extra SoftwareVersions (the
   * model's fingerprint). Default: model name "lowdose", the toolkit version only.
   */
  readonly equipment?: ProcessingEquipment;
  /** Appended to the source SeriesDescription. Default " lowdose". */
  readonly seriesDescriptionSuffix?: string;
  /** Default: the source SeriesNumber + 1000 (1000 when the source has none). */
  readonly seriesNumber?: number;
  /** Default: a new random UID (with `uidSeed`, one hashed from it). */
  readonly seriesInstanceUid?: string;
  /**
   * Derive the UIDs instead of drawing random ones, for an output that must be the same bytes
   * when made again from the same inputs (`lowdose simulate`): the series UID is hashed from this
   * seed, each instance's from the series UID, the source instance it was made from (SOP Instance
   * UID, frame) and its stored pixels and rescale. The seed must name everything that makes the
   * series (source, settings, random seed, role): one seed, one series. The pixels in the instance
   * UID mean two writes that differ in pixels never share a UID, even under one seed.
   */
  readonly uidSeed?: string;
  /** File names are `<prefix>0001.dcm`, ... in slice order. Default "IM". */
  readonly filePrefix?: string;
  /** Replace files of the same name in outDir. Default false: E_EXISTS. */
  readonly overwrite?: boolean | undefined;
  /** Largest stored step for non-PET data in its units (0.1 HU). Default 0.1. */
  readonly resolution?: number;
  /** RescaleType (0028,1054) to declare, e.g. 'US' (unspecified) for a map that is not in the source's units. */
  readonly rescaleType?: string;
  /**
   * The series' own VOI window (./voi-window.ts), in `source.units`, instead of the source's: for
   * a map whose values are not in the source's display range. A function picks it per slice from
   * the slice's values (`pixels` as given to writeSlice).
   */
  readonly window?: OwnWindow | ((pixels: Float32Array, padding: Uint8Array | null) => OwnWindow);
  /**
   * The values are unitless (the sFRC map's scores): they are stored as they are, not in the
   * source's units. For a PET source that means Units (0054,1001) NONE, "unitless", a defined term
   * of PS3.3 C.8.9.1.1.3, instead of the source's BQML / CNTS, no division by the slice's SUV
   * factor (the window too is in the values' own scale), and the Philips private SUV and activity
   * scale factors (7053,xx00 / xx09), which only scale counts, left out. The PET Series and Isotope
   * attributes the IOD requires (DecayCorrection, the radiopharmaceutical sequence) stay as copied:
   * they describe the source's acquisition, and no reader makes SUV of Units NONE. No effect on
   * other modalities (CT and MR carry no Units). Default false.
   */
  readonly unitless?: boolean;
  /**
   * InstanceCreationDate/Time (Type 3, SOP Common). Default now; null leaves them out, so the
   * file does not depend on the clock (a reproducible output). The same instant is lowdose's
   * ContributionDateTime, left out with null too.
   */
  readonly now?: Date | null;
}

export interface DerivedSeriesWriter {
  /** The derived series' SeriesInstanceUID (the first one's, when the source is written as several). */
  readonly seriesInstanceUid: string;
  /**
   * Every SeriesInstanceUID the writer writes, the first `seriesInstanceUid`: one, except for a
   * multi-frame PET source whose frames name several radiopharmaceuticals or are several respiratory
   * gates, written as one classic PET series per agent and gate (./derived-pet-series.ts).
   */
  readonly seriesInstanceUids: readonly string[];
  /** What each of `seriesInstanceUids` holds of the source (in their order): its agent, gate and slices. */
  readonly parts: readonly WrittenSeriesPart[];
  /** The file slice `index` is (to be) written to. */
  targetOf(index: number): string;
  readonly dir: string;
  /** Paths written so far, in slice order. */
  readonly files: string[];
  /**
   * Source values repaired or dropped on the way (W_VALUE_REPAIRED, W_VALUE_DROPPED), one entry
   * per attribute and kind of repair, counting the files it happened in.
   */
  readonly warnings: LowdoseError[];
  /**
   * Writes output slice `index` (same index as `source.slices`) from `pixels` in `source.units`,
   * `source.rows * source.columns` values, row-major. Resolves to the file's path. `padding`
   * (1 = padding or out-of-field, holding the source's values) makes the rescale keep those
   * pixels' stored values, and so the source's PixelPaddingValue, where a 16-bit rescale can.
   */
  writeSlice(index: number, pixels: Float32Array, padding?: Uint8Array | null): Promise<string>;
  /**
   * `pixels` as a reader gets them back from written slice `index`: stored with the rescale that
   * slice was written with, in `source.units`. What is reported of a slice (a summary of the
   * uncertainty series) then holds for the file too, ties at a threshold included.
   */
  asWritten(index: number, pixels: Float32Array): Float32Array;
}

/**
 * One of the derived series a source is written as, before it is written: the radiopharmaceutical
 * and gate it holds (./derived-pet-series.ts) and the source's slices it holds, by slice index.
 */
export interface PlannedDerivedSeries {
  readonly agent: number | null;
  readonly respiratoryGate?: PetRespiratoryGate;
  readonly cardiacGate?: PetCardiacGate;
  readonly slices: readonly number[];
}

/** A written one: a PlannedDerivedSeries with its SeriesInstanceUID. */
export interface WrittenSeriesPart extends PlannedDerivedSeries {
  readonly seriesInstanceUid: string;
}

/** One derived series as a report records it (`output.series`): what it was made from, slice by slice. */
export interface ReportedOutputSeries {
  readonly seriesInstanceUid: string;
  readonly agent: number | null;
  readonly respiratoryGate?: PetRespiratoryGate;
  readonly cardiacGate?: PetCardiacGate;
  readonly sourceSeriesInstanceUid: string;
  /** Its files, in the order of `sourceFrames`. */
  readonly files: string[];
  /** The source frame each file was made from: the file, its SOPInstanceUID and the 0-based frame in it. */
  readonly sourceFrames: Array<{ readonly file: string; readonly sopInstanceUid: string; readonly frame: number }>;
}

/** A report's `output.seriesInstanceUids` of a writer that wrote several series (one per radiopharmaceutical and respiratory gate), else nothing. */
export function severalSeries(writer: DerivedSeriesWriter): { seriesInstanceUids?: readonly string[] } {
  return writer.seriesInstanceUids.length > 1 ? { seriesInstanceUids: writer.seriesInstanceUids } : {};
}

/**
 * A denoise report's `output.series` of a writer that wrote several series of `source` (one per
 * radiopharmaceutical and respiratory gate): each with what it holds and the source frame of each
 * of its files; else nothing.
 */
export function reportedOutputSeries(writer: DerivedSeriesWriter, source: Series): { series?: ReportedOutputSeries[] } {
  if (writer.seriesInstanceUids.length <= 1) return {};
  const files = new Set(writer.files);
  const series = writer.parts.map((part) => {
    const written = part.slices.filter((index) => files.has(writer.targetOf(index)));
    return {
      seriesInstanceUid: part.seriesInstanceUid,
      agent: part.agent,
      ...(part.respiratoryGate ? { respiratoryGate: part.respiratoryGate } : {}),
      ...(part.cardiacGate ? { cardiacGate: part.cardiacGate } : {}),
      sourceSeriesInstanceUid: source.seriesInstanceUid,
      files: written.map((index) => writer.targetOf(index)),
      sourceFrames: written.map((index) => {
        const slice = source.slices[index]!;
        return { file: slice.file, sopInstanceUid: slice.sopInstanceUid, frame: slice.frame };
      }),
    };
  });
  return { series };
}

/**
 * The written series a report records (`output.series`) as parts of `source`: each with the slices
 * of `source` its files were made from (by SOPInstanceUID and frame). One whose frames are not all
 * in `source` is left out.
 */
export function partsOfReported(reported: readonly ReportedOutputSeries[], source: Series): WrittenSeriesPart[] {
  const indexOf = new Map(source.slices.map((s, index) => [`${s.sopInstanceUid}#${s.frame}`, index]));
  return reported.flatMap(({ seriesInstanceUid, agent, respiratoryGate, cardiacGate, sourceFrames }) => {
    const slices = sourceFrames.map((f) => indexOf.get(`${f.sopInstanceUid}#${f.frame}`));
    if (slices.length === 0 || slices.some((i) => i === undefined)) return [];
    return [{ seriesInstanceUid, agent, ...(respiratoryGate ? { respiratoryGate } : {}), ...(cardiacGate ? { cardiacGate } : {}), slices: slices as number[] }];
  });
}

/**
 * The derived series `source` is written as, when it is several (a multi-frame PET source whose
 * frames name several radiopharmaceuticals or are several respiratory gates); null when it is one,
 * or when its frames cannot be planned as classic PET series.
 */
export function plannedDerivedSeries(source: Series): PlannedDerivedSeries[] | null {
  let plan: ReturnType<typeof planMultiFramePetSeries>;
  try {
    plan = source.modality === 'PT' ? planMultiFramePetSeries(source) : null;
  } catch {
    return null;
  }
  if (!plan || plan.series.length < 2) return null;
  return partsOf(plan, source.slices.length);
}

function partsOf(plan: PetSeriesPlan, count: number): PlannedDerivedSeries[] {
  return plan.series.map((s, k) => ({
    agent: s.agent,
    ...(s.respiratoryGate ? { respiratoryGate: s.respiratoryGate } : {}),
    ...(s.cardiacGate ? { cardiacGate: s.cardiacGate } : {}),
    slices: Array.from({ length: count }, (_, index) => index).filter((index) => (plan.places.get(index)?.series ?? 0) === k),
  }));
}

const SINGLE_FRAME_SOP_CLASS: Record<string, string> = {
  CT: SOP_CLASS.ctImage,
  PT: SOP_CLASS.petImage,
  MR: SOP_CLASS.mrImage,
};

/** Single-frame image SOP classes a derived file may keep (their modules are the ones copied). */
const KEPT_SOP_CLASSES = new Set<string>([SOP_CLASS.ctImage, SOP_CLASS.petImage, SOP_CLASS.mrImage, SOP_CLASS.secondaryCapture]);

const MULTI_FRAME_SOP_CLASSES = new Set<string>([
  SOP_CLASS.enhancedCtImage,
  SOP_CLASS.enhancedPetImage,
  SOP_CLASS.enhancedMrImage,
  '1.2.840.10008.5.1.4.1.1.2.2', // Legacy Converted Enhanced CT
  '1.2.840.10008.5.1.4.1.1.128.1', // Legacy Converted Enhanced PET
  '1.2.840.10008.5.1.4.1.1.4.4', // Legacy Converted Enhanced MR
  '1.2.840.10008.5.1.4.1.1.20', // NM
]);

export function createDerivedSeriesWriter(source: Series, options: DerivedSeriesOptions): DerivedSeriesWriter {
  const dir = path.resolve(options.outDir);
  const uidSeed = options.uidSeed;
  const seriesInstanceUid = options.seriesInstanceUid ?? (uidSeed === undefined ? newUid() : hashedUid(uidSeed, 'series'));
  const prefix = options.filePrefix ?? 'IM';
  const count = source.slices.length;
  const targets = source.slices.map((_, index) => path.join(dir, sliceFileName(prefix, index, count)));
  checkTargets(source, targets, options.overwrite ?? false);
  makeOutputFolderSync(dir);

  const written = new Map<number, string>();
  const rescales = new Map<number, Rescale>();
  const cache = new SourceDatasetCache();
  const now = options.now === null ? null : (options.now ?? new Date());
  const created = now === null ? null : dicomDateTime(now);
  const repairs = new RepairLog();
  const unitless = (options.unitless ?? false) && source.modality === 'PT';
  // A multi-frame PET source: its classic PET series, planned over all its frames (one per agent and respiratory gate).
  const petPlan = source.modality === 'PT' ? planMultiFramePetSeries(source) : null;
  const planned = petPlan?.series ?? [{ agent: null, frames: count }];
  const seriesUids = planned.map((s, k) =>
    k === 0
      ? seriesInstanceUid
      : uidSeed === undefined
        ? newUid()
        : hashedUid(
            uidSeed,
            'series',
            `agent ${s.agent}${s.respiratoryGate ? ` respiratory gate ${s.respiratoryGate.gate}` : ''}${s.cardiacGate ? ` cardiac gate ${s.cardiacGate.gate}` : ''}`,
          ),
  );
  const split = seriesUids.length > 1;
  // One item for every file of a series: the same software, model and time; where it names its
  // completion marker, also how many files its series has (./contributing-equipment.ts
  // statedCountEquipment), known before the first is written. Not hashed into any UID.
  const equipment = options.equipment ?? DEFAULT_PROCESSING_EQUIPMENT;
  const contributions = planned.map((s) =>
    processingEquipmentItem(statedCountEquipment(equipment, s.frames, Boolean(source.petFrame)), options.derivationDescription, now),
  );

  const parts: WrittenSeriesPart[] = petPlan
    ? partsOf(petPlan, count).map((part, k) => ({ ...part, seriesInstanceUid: seriesUids[k]! }))
    : [{ agent: null, slices: source.slices.map((_, index) => index), seriesInstanceUid }];

  return {
    seriesInstanceUid,
    seriesInstanceUids: seriesUids,
    parts,
    targetOf: (index: number) => targets[index]!,
    dir,
    get files() {
      return [...written.entries()].sort((a, b) => a[0] - b[0]).map(([, file]) => file);
    },
    get warnings() {
      return repairs.warnings();
    },
    async writeSlice(index: number, pixels: Float32Array, padding?: Uint8Array | null): Promise<string> {
      const slice = source.slices[index];
      if (!slice) throw new LowdoseError('E_INTERNAL', `slice ${index} is not in series ${source.seriesInstanceUid} (${count} slices)`);
      if (pixels.length !== source.rows * source.columns) {
        throw new LowdoseError(
          'E_INTERNAL',
          `slice ${index} of ${source.seriesInstanceUid}: got ${pixels.length} values for ${source.rows}x${source.columns}`,
        );
      }
      const entry = cache.get(slice);
      if (entry.fresh) repairs.add(slice.file, entry.repairs);
      const sourceDataset = entry.dataset;
      const scale = unitless ? 1 : slice.unitsScale;
      const stored = storedValuesFor(scale, pixels);
      const rescale = chooseRescaleFor(source, slice, stored, entry.header, options.resolution ?? 0.1, padding ?? null);
      rescales.set(index, rescale);
      const place = petPlan?.places.get(index);
      const sliceSeriesUid = seriesUids[place?.series ?? 0]!;
      const sopInstanceUid =
        uidSeed === undefined ? newUid() : hashedUid(uidSeed, 'instance', sliceSeriesUid, slice.sopInstanceUid, slice.frame, index, pixelDigest(stored, rescale));
      const dataset = deriveDataset(sourceDataset, {
        source,
        slice,
        index,
        sopInstanceUid,
        seriesInstanceUid: sliceSeriesUid,
        derivationDescription: options.derivationDescription,
        contribution: contributions[place?.series ?? 0]!,
        seriesDescriptionSuffix: `${options.seriesDescriptionSuffix ?? ' lowdose'}${split && place ? plannedSeriesWords(place) : ''}`,
        seriesNumber: options.seriesNumber ?? derivedSeriesNumber(entry.parsed),
        instanceNumber: place && (!source.petFrame || petPlan?.inAcquisition) ? place.instanceNumber : instanceNumberFor(source, index, entry.header),
        created,
        sourceSopClassUid: entry.header.sopClassUid || entry.mediaStorageSopClassUid,
        multiFrame: isMultiFrameSource(entry.parsed, entry.header),
        frame: frameValues(entry.parsed, entry.header, slice.frame),
      });
      markLossyCompression(dataset, entry.parsed.transferSyntax);
      setPixels(dataset, source.rows, source.columns, stored, rescale);
      setPadding(dataset, entry.header, slice, stored, rescale, padding ?? null);
      if (options.rescaleType) setElement(dataset, 'RescaleType', [options.rescaleType]);
      // A frame of a multi-frame PET source: the classic PET Series, Isotope and Image attributes of a PET Image.
      if (place) setClassicPetFrameAttributes(dataset, { parsed: entry.parsed, header: entry.header, frame: slice.frame, place });
      // SUV refused: no dose (nor vendor SUV factor) with which a reader would make one, whatever the source's class.
      if (source.modality === 'PT' && source.units !== 'SUVbw') leaveOutRefusedSuvInputs(dataset);
      const window = typeof options.window === 'function' ? options.window(pixels, padding ?? null) : options.window;
      if (window) setOwnWindow(dataset, window, scale);
      if (unitless) markUnitless(dataset);
      // A multi-frame PET source read in SUVbw: the derived single-frame file carries its SUV inputs where classic readers look.
      else if (source.units === 'SUVbw' && entry.header.pet) setClassicPetSuvAttributes(dataset, entry.header.pet, slice.frame);
      const sopClassUid = getString(dataset, 'SOPClassUID')!;
      const target = targets[index]!;
      const bytes = encodePart10(target, fileMeta(sopClassUid, sopInstanceUid), dataset);
      checkDerivedGeometry(bytes, entry.header, slice, source, target);
      await writeBytesAtomic(target, bytes);
      written.set(index, target);
      return target;
    },
    asWritten(index: number, pixels: Float32Array): Float32Array {
      const slice = source.slices[index];
      const rescale = rescales.get(index);
      if (!slice || !rescale) throw new LowdoseError('E_INTERNAL', `slice ${index} of ${source.seriesInstanceUid} has not been written`);
      const unitsScale = unitless ? 1 : slice.unitsScale;
      const stored = quantize(storedValuesFor(unitsScale, pixels), rescale);
      const scale = unitsScale > 0 ? unitsScale : 1;
      return Float32Array.from(stored, (q) => (q * rescale.slope + rescale.intercept) * scale);
    },
  };
}

/** What tells one of several derived series of a multi-frame PET source apart in its SeriesDescription: " agent 2", " resp gate 1 of 4", " gate 3 of 4". */
function plannedSeriesWords(place: PetFramePlace): string {
  const agent = place.agent !== null ? ` agent ${place.agent}` : '';
  const respiratory = place.respiratoryGate ? ` resp gate ${place.respiratoryGate.gate} of ${place.respiratoryGate.gates}` : '';
  return `${agent}${respiratory}${place.cardiacGate ? ` gate ${place.cardiacGate.gate} of ${place.cardiacGate.gates}` : ''}`;
}

/**
 * The classic PET series of a multi-frame PET source (Enhanced PET, Legacy Converted Enhanced PET),
 * planned over every frame of `source` in every file (./derived-pet-series.ts), keyed by slice
 * index; null for any other source (a series of one single-frame file per slice whose first file is
 * not multi-frame PET is taken as classic on that file alone). Each file of a multi-frame source is
 * read once here, before any is written; a frame whose classic file could not say what its pixels
 * are decay-corrected to fails the series here (E_DECAY_CORRECTION_UNKNOWN, `decayCorrectionProblem`).
 */
function planMultiFramePetSeries(source: Series): (PetSeriesPlan & { readonly inAcquisition: boolean }) | null {
  const byFile = new Map<string, number[]>();
  source.slices.forEach((s, index) => {
    const indices = byFile.get(s.file);
    if (indices) indices.push(index);
    else byFile.set(s.file, [index]);
  });
  // A gate whose files state two values of one classic gated attribute (read from every file of it,
  // ./classic-gate-values.ts): single-frame or multi-frame, no classic PET image can state it.
  const conflict = source.petFrame?.suffix === 'g' ? source.petFrame.classicGateConflict : undefined;
  if (conflict !== undefined && source.slices[0]) {
    const ref = source.petFrame!;
    const file = source.slices[0].file;
    throw new LowdoseError(
      'E_PET_GATES_UNKNOWN',
      `${file}: gate ${ref.frame} of ${ref.frames} of a GATED acquisition read by its files' classic Image Index cannot be written GATED: ${conflict}; series not written`,
      { path: file },
    );
  }
  const frames = new Map<number, ReturnType<typeof petPlanFrame>>();
  // Each file's classic values: what a time point or gate split by their Image Index is numbered in.
  const gatedFiles: ClassicGateValues[] = [];
  // A classic series (one single-frame file per slice) is known by its first file: not read whole twice.
  const first = source.slices[0];
  if (!first || (byFile.size === source.slices.length && !isMultiFramePet(readSourceHeader(first.file).header))) return null;
  for (const [file, indices] of byFile) {
    const { parsed, header } = readSourceHeader(file);
    if (!isMultiFramePet(header)) continue;
    gatedFiles.push(classicGateValuesOfFile(header.pet));
    for (const index of indices) {
      const frame = source.slices[index]!.frame;
      // A classic PET Image must say what its pixels are decay-corrected to; none is made up.
      const decay = decayCorrectionProblem(header, parsed, frame);
      if (decay !== null) {
        throw new LowdoseError(
          'E_DECAY_CORRECTION_UNKNOWN',
          `${file}: ${decay}: its classic PET Image could not say what its pixels are decay-corrected to (DecayCorrection, Type 1); series not written`,
          { path: file },
        );
      }
      frames.set(index, petPlanFrame(header, parsed, frame, index, source.slices[index]!.position));
    }
  }
  if (frames.size === 0) return null;
  const plan = planPetSeries([...frames.keys()].sort((a, b) => a - b).map((index) => frames.get(index)!), source.orientation);
  // Frames no classic PET series can hold truly (./derived-pet-series.ts): none is written.
  if (plan.refusal !== undefined) {
    throw new LowdoseError('E_PET_GATES_UNKNOWN', `${first.file}: ${plan.refusal}; series not written`, { path: first.file });
  }
  // A time point of a DYNAMIC acquisition split by the files' classic Image Index: numbered in the acquisition.
  const ref = source.petFrame;
  // A time point's classic Number of Slices from every file of it, as a gate's (`classicGateValuesOfFiles`): two values, two numberings.
  const timePoint = ref?.suffix === 't' ? classicGateValuesOfFiles(gatedFiles.map((f) => ({ ...NO_CLASSIC_GATE_VALUES, numberOfSlices: f.numberOfSlices })), 'time point') : null;
  if (typeof timePoint === 'string') {
    throw new LowdoseError(
      'E_PET_TIME_POINTS_UNKNOWN',
      `${first.file}: time point ${ref!.frame} of ${ref!.frames} of a DYNAMIC acquisition read by its files' classic Image Index cannot be numbered in the acquisition: ${timePoint}; series not written`,
      { path: first.file },
    );
  }
  const placed = ref?.suffix === 't' ? placeInDynamicAcquisition(plan, ref.frame, ref.frames, timePoint?.numberOfSlices) : null;
  if (placed) return { ...placed, inAcquisition: true };
  // A time point whose own frames share a position has no place among the acquisition's time slices:
  // its frames would repeat ImageIndex and InstanceNumber of the other time points (C.8.9.4.1.9).
  if (ref?.suffix === 't') {
    throw new LowdoseError(
      'E_PET_TIME_POINTS_UNKNOWN',
      `${first.file}: time point ${ref.frame} of ${ref.frames} of a DYNAMIC acquisition read by its files' classic Image Index holds frames that share a position ` +
        `(${plan.places.size} frames at ${Math.max(0, ...[...plan.places.values()].map((p) => p.numberOfSlices))} positions), so they are not one time slice of the acquisition; series not written`,
      { path: first.file },
    );
  }
  // A gate of a GATED acquisition split the same way: numbered in the acquisition, or not written.
  if (ref?.suffix === 'g' && gatedFiles.length > 0) {
    const gated = classicGateValuesOfFiles(gatedFiles);
    const gate = typeof gated === 'string' ? gated : placeInGatedAcquisition(plan, ref.frame, ref.frames, gated);
    if (typeof gate === 'string') {
      throw new LowdoseError(
        'E_PET_GATES_UNKNOWN',
        `${first.file}: gate ${ref.frame} of ${ref.frames} of a GATED acquisition read by its files' classic Image Index cannot be written GATED: ${gate}; series not written`,
        { path: first.file },
      );
    }
    return { ...gate, inAcquisition: true };
  }
  return { ...plan, inAcquisition: false };
}

/**
 * Whether the source holds several frames or is an enhanced object: its derived files are
 * single-frame, with the frame's geometry and window (`frameValues`) at the top level.
 */
export function isMultiFrameSource(parsed: ParsedFile, header: ImageHeader): boolean {
  return header.frames > 1 || parsed.dataSet.elements[TAG.PerFrameFunctionalGroupsSequence] !== undefined || MULTI_FRAME_SOP_CLASSES.has(header.sopClassUid);
}

/**
 * A PET file of unitless values (`unitless`): Units NONE (PS3.3 C.8.9.1.1.3), and no vendor factor
 * that would make a reader scale the values into activity or SUV.
 */
function markUnitless(dataset: DcmDataset): void {
  setElement(dataset, 'Units', ['NONE']);
  dropPhilipsPetFactors(dataset);
}

/** Refuses to overwrite inputs ever, and other files unless asked to. */
function checkTargets(source: Series, targets: string[], overwrite: boolean): void {
  const inputs = new Set(source.slices.map((s) => realPathOrSelf(s.file)));
  for (const target of targets) {
    if (!existsSync(target)) continue;
    if (inputs.has(realPathOrSelf(target))) {
      throw new LowdoseError('E_EXISTS', `${target} is an input file; choose another output directory`, { path: target });
    }
    if (!overwrite) {
      throw new LowdoseError('E_EXISTS', `${target} already exists (use --overwrite to replace it)`, { path: target });
    }
  }
}

/** What fixes a derived file's pixel data: the values to store and the rescale they are stored with. */
function pixelDigest(values: Float32Array, rescale: Rescale): string {
  return createHash('sha256')
    .update(Buffer.from(values.buffer, values.byteOffset, values.byteLength))
    .update(`${rescale.slopeText}\\${rescale.interceptText}\\${rescale.signed ? 1 : 0}`)
    .digest('hex');
}

/**
 * Values to store: the modality-LUT output units, `unitsScale` the slice's factor from them to the
 * series' units. PET in SUV goes back to activity (or counts); unitless values (1) stay.
 */
function storedValuesFor(unitsScale: number, pixels: Float32Array): Float32Array {
  if (unitsScale === 1 || !(unitsScale > 0)) return pixels;
  const inverse = 1 / unitsScale;
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i]! * inverse;
  return out;
}

function chooseRescaleFor(
  source: Series,
  slice: SliceRef,
  values: Float32Array,
  header: ImageHeader,
  resolution: number,
  padding: Uint8Array | null,
): Rescale {
  const signed = header.pixelRepresentation === 1;
  if (header.bitsAllocated <= 16) {
    const own = reusableRescale(values, slice.rescaleSlope, slice.rescaleIntercept, signed);
    if (own) return own;
    if (padding && source.modality !== 'PT') {
      const keeping = paddingKeepingRescale(values, padding, slice.rescaleSlope, slice.rescaleIntercept, signed, resolution);
      if (keeping) return keeping;
    }
  }
  const [min, max] = finiteRange(values);
  return source.modality === 'PT' ? chooseProportionalRescale(min, max) : chooseLinearRescale(min, max, resolution);
}

/**
 * Keeps padding (pixels outside the scanned field) marked as such: when the source declares a
 * single PixelPaddingValue and its modality value falls exactly on the new stored grid, the same
 * value is declared in the new encoding.
 */
function setPadding(
  dataset: DcmDataset,
  header: ImageHeader,
  slice: SliceRef,
  values: Float32Array,
  rescale: Rescale,
  paddingMask: Uint8Array | null,
): void {
  if (header.padding === null) return;
  if (header.padding.rangeLimit !== null) {
    setPaddingRange(dataset, header, slice, values, rescale, paddingMask);
    return;
  }
  // The reader's padding value is already sign-correct for signed pixels.
  const padding = header.padding.value;
  // `values` are modality-LUT output (PET already divided back from SUV), like the padding's value.
  const modalityValue = padding * slice.rescaleSlope + slice.rescaleIntercept;
  const q = (modalityValue - rescale.intercept) / rescale.slope;
  const stored = Math.round(q);
  const [lo, hi] = rescale.signed ? [-32768, 32767] : [0, 65535];
  if (Math.abs(q - stored) > 1e-6 || stored < lo || stored > hi) return;
  const target = Math.fround(modalityValue);
  if (!values.some((v) => v === target)) return;
  setElement(dataset, 'PixelPaddingValue', [stored], rescale.signed ? 'SS' : 'US');
}

/**
 * A source padding range (PixelPaddingValue with PixelPaddingRangeLimit) is declared again, with
 * the same stored numbers, when the slice is written with the source's own rescale (the only one
 * that keeps several padding values: `paddingKeepingRescale`), at least one pixel lies in the
 * range, and every pixel in it is padding: an image pixel the denoiser moved into the range would
 * be hidden by viewers and left out by metrics.
 */
function setPaddingRange(
  dataset: DcmDataset,
  header: ImageHeader,
  slice: SliceRef,
  values: Float32Array,
  rescale: Rescale,
  paddingMask: Uint8Array | null,
): void {
  const padding = header.padding!;
  if (paddingMask === null || rescale.slope !== slice.rescaleSlope || rescale.intercept !== slice.rescaleIntercept) return;
  const value = toStoredDomain(padding.value, header);
  const limit = toStoredDomain(padding.rangeLimit!, header);
  const [lo, hi] = [Math.min(value, limit), Math.max(value, limit)];
  const [min, max] = rescale.signed ? [-32768, 32767] : [0, 65535];
  if (lo < min || hi > max) return;
  let any = false;
  for (let i = 0; i < values.length; i++) {
    const stored = Math.round((values[i]! - rescale.intercept) / rescale.slope);
    if (stored < lo || stored > hi) continue;
    if (!paddingMask[i]) return;
    any = true;
  }
  if (!any) return;
  const vr = rescale.signed ? 'SS' : 'US';
  setElement(dataset, 'PixelPaddingValue', [value], vr);
  setElement(dataset, 'PixelPaddingRangeLimit', [limit], vr);
}

interface DeriveContext {
  readonly source: Series;
  readonly slice: SliceRef;
  readonly index: number;
  readonly sopInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly derivationDescription: string;
  /** lowdose's Contributing Equipment item, appended after the source's; absent: none added. */
  readonly contribution?: DcmDataset;
  readonly seriesDescriptionSuffix: string;
  /** The derived series' SeriesNumber (`derivedSeriesNumber` unless the caller names one). */
  readonly seriesNumber: number;
  /** InstanceNumber of the derived file (`instanceNumberFor`). */
  readonly instanceNumber: number;
  /** InstanceCreationDate/Time; null: left out. */
  readonly created: { date: string; time: string } | null;
  readonly sourceSopClassUid: string | undefined;
  /** The source holds several frames (or is an enhanced object): the output is single-frame. */
  readonly multiFrame: boolean;
  /** A multi-frame source's per-frame attributes, as the reader sees them. */
  readonly frame: FrameValues;
}

/** LossyImageCompressionMethod's defined terms (PS3.3 C.7.6.1.1.5.1) by codec. */
const LOSSY_COMPRESSION_METHOD: Partial<Record<DecoderName, string>> = {
  'jpeg-dct': 'ISO_10918_1',
  'jpeg-ls': 'ISO_14495_1',
  jpeg2000: 'ISO_15444_1',
  htj2k: 'ISO_15444_15',
};

/**
 * A source stored in a lossy transfer syntax that does not say so itself keeps the fact in its
 * derived files (PS3.3 C.7.6.1.1.5: once an image was lossy compressed, images made from it say
 * LossyImageCompression 01), which are stored uncompressed and would otherwise read as never
 * compressed. A source that declares 00 (a reversible codestream in a syntax that allows both, as
 * JPEG 2000 or JPEG-LS near-lossless with NEAR 0 do) is left as it says.
 */
function markLossyCompression(dataset: DcmDataset, syntax: TransferSyntax): void {
  if (!syntax.lossy || getString(dataset, 'LossyImageCompression') !== undefined) return;
  setElement(dataset, 'LossyImageCompression', ['01']);
  const method = syntax.decoder === null ? undefined : LOSSY_COMPRESSION_METHOD[syntax.decoder];
  if (method && !getValues(dataset, 'LossyImageCompressionMethod')?.length) setElement(dataset, 'LossyImageCompressionMethod', [method]);
}

/** Largest value of an IS (PS3.5: a signed 32-bit integer). */
const MAX_IS = 2 ** 31 - 1;

/**
 * The source's SeriesNumber + 1000, so that a derived series sits apart from, and next to, its
 * source in a viewer's list; 1000 when the source has none, or one that is not an integer or would
 * not fit an IS. Read from the parsed source file: SeriesNumber is not among the copied
 * attributes (./derived-attributes.ts), so the copied dataset never holds it.
 */
export function derivedSeriesNumber(parsed: ParsedFile): number {
  const source = getNumber(parsed.dataSet, TAG.SeriesNumber, 'IS');
  return source !== undefined && Number.isInteger(source) && source + 1000 <= MAX_IS && source + 1000 >= -MAX_IS ? source + 1000 : 1000;
}

/**
 * The slice's position in the series, 1-based, for a series of its own. A frame of a dynamic or
 * gated PET acquisition (`source.petFrame`) is written into one derived series with the other
 * frames (src/pipeline/frame-output.ts): numbered by its source image's ImageIndex, which runs
 * 1..NumberOfSlices x frames over the acquisition, so that no two files of the series share an
 * InstanceNumber.
 */
export function instanceNumberFor(source: Series, index: number, header: ImageHeader): number {
  const imageIndex = header.pet?.ImageIndex;
  if (source.petFrame && imageIndex !== undefined && Number.isInteger(imageIndex) && imageIndex > 0) return imageIndex;
  return index + 1;
}

/** What a single-frame output needs from a multi-frame source's functional groups. */
export interface FrameValues {
  readonly pixelSpacing: [number, number] | null;
  readonly sliceThickness: number | null;
  readonly spacingBetweenSlices: number | null;
  readonly windowCenter: number[];
  readonly windowWidth: number[];
  readonly windowExplanation: string[];
}

const FRAME_VOI_LUT_SEQUENCE = 'x00289132';
const WINDOW_CENTER = 'x00281050';
const WINDOW_WIDTH = 'x00281051';
const WINDOW_EXPLANATION = 'x00281055';

/** A frame's pixel measures and window, from its own functional group else the shared one. */
export function frameValues(parsed: ParsedFile, header: ImageHeader, frame: number): FrameValues {
  const ds = parsed.dataSet;
  const geometry: FrameGeometry = header.frameGeometry[frame]!;
  const voi = functionalGroup(ds, frame, FRAME_VOI_LUT_SEQUENCE);
  const finite = (values: number[]) => values.filter(Number.isFinite);
  const between = frameNumbers(ds, frame, TAG.PixelMeasuresSequence, TAG.SpacingBetweenSlices, 'DS')[0];
  return {
    pixelSpacing: geometry.pixelSpacing,
    sliceThickness: geometry.sliceThickness,
    spacingBetweenSlices: between !== undefined && Number.isFinite(between) && between > 0 ? between : null,
    windowCenter: voi ? finite(getNumbers(voi, WINDOW_CENTER, 'DS')) : [],
    windowWidth: voi ? finite(getNumbers(voi, WINDOW_WIDTH, 'DS')) : [],
    windowExplanation: voi ? getStrings(voi, WINDOW_EXPLANATION) : [],
  };
}

/**
 * The output dataset for one slice: the source's elements minus its pixel encoding and frame
 * structure, with new identity, derivation and (for multi-frame sources) per-frame geometry.
 * Does not touch `sourceDataset` (elements are replaced, never mutated).
 */
export function deriveDataset(sourceDataset: DcmDataset, context: DeriveContext): DcmDataset {
  const { source, slice } = context;
  const dataset: DcmDataset = { ...sourceDataset };
  const multiFrame = context.multiFrame;

  // A private or multi-frame source SOP class becomes the modality's single-frame image: the
  // derived file holds exactly the modules of the copied attributes.
  const kept = context.sourceSopClassUid !== undefined && KEPT_SOP_CLASSES.has(context.sourceSopClassUid);
  const sopClassUid = !multiFrame && kept
    ? context.sourceSopClassUid
    : (SINGLE_FRAME_SOP_CLASS[source.modality] ?? SOP_CLASS.secondaryCapture);
  setElement(dataset, 'SOPClassUID', [sopClassUid]);
  setElement(dataset, 'SOPInstanceUID', [context.sopInstanceUid]);
  setElement(dataset, 'SeriesInstanceUID', [context.seriesInstanceUid]);
  if (!getString(dataset, 'StudyInstanceUID')) setElement(dataset, 'StudyInstanceUID', [repairedUid(source.studyInstanceUid)]);
  if (context.created) {
    setElement(dataset, 'InstanceCreationDate', [context.created.date]);
    setElement(dataset, 'InstanceCreationTime', [context.created.time]);
  }

  const sourceImageType = (getValues(sourceDataset, 'ImageType') ?? []).map((v) => scalarText(v).trim());
  // PS3.3 C.8.9.4.1.1: a PET Image's Image Type value 2 is PRIMARY.
  setElement(dataset, 'ImageType', ['DERIVED', sopClassUid === SOP_CLASS.petImage ? 'PRIMARY' : 'SECONDARY', ...sourceImageType.slice(2)]);
  setElement(dataset, 'DerivationDescription', [context.derivationDescription.slice(0, 1024)]);
  if (context.contribution) appendContributingEquipment(dataset, context.contribution);
  if (context.sourceSopClassUid) {
    const reference: DcmDataset = {};
    setElement(reference, 'ReferencedSOPClassUID', [repairedUid(context.sourceSopClassUid)]);
    setElement(reference, 'ReferencedSOPInstanceUID', [repairedUid(slice.sopInstanceUid)]);
    if (multiFrame) setElement(reference, 'ReferencedFrameNumber', [String(slice.frame + 1)]);
    setElement(dataset, 'SourceImageSequence', [reference]);
  }

  const suffix = context.seriesDescriptionSuffix;
  const description = (getString(sourceDataset, 'SeriesDescription') ?? source.seriesDescription ?? '').trim();
  setElement(dataset, 'SeriesDescription', [`${description.slice(0, Math.max(0, 64 - suffix.length))}${suffix}`.trim()]);
  setElement(dataset, 'SeriesNumber', [String(context.seriesNumber)]);
  setElement(dataset, 'InstanceNumber', [String(context.instanceNumber)]);

  // A multi-frame source keeps frame geometry in functional groups; a single-frame output needs it
  // at the top level. The reader's per-frame position is authoritative for both.
  if (multiFrame || !getValues(sourceDataset, 'ImagePositionPatient')) {
    if (slice.position) setElement(dataset, 'ImagePositionPatient', dsList(slice.position));
    if (source.orientation) setElement(dataset, 'ImageOrientationPatient', dsList(source.orientation));
  }
  if (multiFrame) {
    const frame = context.frame;
    if (frame.pixelSpacing) setElement(dataset, 'PixelSpacing', dsList(frame.pixelSpacing));
    if (frame.sliceThickness !== null) setElement(dataset, 'SliceThickness', dsList([frame.sliceThickness]));
    if (frame.spacingBetweenSlices !== null) setElement(dataset, 'SpacingBetweenSlices', dsList([frame.spacingBetweenSlices]));
    if (frame.windowCenter.length > 0 && frame.windowCenter.length === frame.windowWidth.length) {
      setElement(dataset, 'WindowCenter', dsList(frame.windowCenter));
      setElement(dataset, 'WindowWidth', dsList(frame.windowWidth));
      if (frame.windowExplanation.length > 0) setElement(dataset, 'WindowCenterWidthExplanation', frame.windowExplanation);
    }
  }
  addMissingType2(dataset, sopClassUid);
  return dataset;
}

/**
 * Each Type 2 attribute of the written IOD's modules (./type2-attributes.ts) that the source did
 * not have (enhanced CT keeps KVP in functional groups; anonymisers drop StudyID, PatientSex, ...)
 * is added empty, so that the derived file is a valid instance of its IOD; so is each Type 2C one
 * whose condition holds (PatientPosition of a CT or MR image without a Patient Orientation Code
 * Sequence, ...). A present attribute, empty or not, is never touched.
 */
function addMissingType2(dataset: DcmDataset, sopClassUid: string): void {
  for (const { keyword } of requiredType2Attributes(dataset, sopClassUid)) {
    if (dataset[tagOf(keyword)] === undefined) setElement(dataset, keyword, []);
  }
}

/** Reads the output back with our own reader: the geometry the source had must still be there. */
function checkDerivedGeometry(bytes: Uint8Array, sourceHeader: ImageHeader, slice: SliceRef, source: Series, target: string): void {
  const expected = sourceHeader.frameGeometry[slice.frame]!;
  let actual: FrameGeometry;
  let rows: number;
  let columns: number;
  try {
    const header = readImageHeader(parseDicomBytes(bytes, target));
    actual = header.frameGeometry[0]!;
    ({ rows, columns } = header);
  } catch (error) {
    throw new LowdoseError('E_INTERNAL', `${target}: the derived file does not read back: ${(error as Error).message}`, { path: target, cause: error });
  }
  const lost: string[] = [];
  const same = (a: readonly number[] | null, b: readonly number[] | null) =>
    a === null || (b !== null && a.length === b.length && a.every((v, i) => Math.abs(v - b[i]!) <= 1e-4 * Math.max(1, Math.abs(v))));
  // The position the series was sorted by: the reader's, for this frame.
  if (!same(slice.position, actual.position)) lost.push('ImagePositionPatient');
  if (!same(expected.orientation, actual.orientation)) lost.push('ImageOrientationPatient');
  if (!same(expected.pixelSpacing, actual.pixelSpacing)) lost.push('PixelSpacing');
  if (rows !== source.rows || columns !== source.columns) lost.push('Rows / Columns');
  if (lost.length > 0) {
    throw new LowdoseError(
      'E_GEOMETRY_LOST',
      `${slice.file}: the derived copy would lose or change ${lost.join(', ')} of the source; series not written`,
      { path: slice.file },
    );
  }
}

/** Repairs of source values, one entry per attribute and kind of repair, with the files it concerned. */
class RepairLog {
  private readonly entries = new Map<string, { repair: ValueRepair; files: number; first: string }>();

  add(file: string, repairs: readonly ValueRepair[]): void {
    for (const repair of repairs) {
      const key = `${repair.action}|${repair.tag}|${repair.detail}`;
      const entry = this.entries.get(key);
      if (entry) entry.files++;
      else this.entries.set(key, { repair, files: 1, first: file });
    }
  }

  warnings(): LowdoseError[] {
    return [...this.entries.values()].map(({ repair, files, first }) => {
      const keyword = keywordOf(repair.tag.replace(/[(),]/g, ''));
      const name = keyword ? `${keyword} ${repair.tag}` : repair.tag;
      return new LowdoseError(
        repair.action === 'repaired' ? 'W_VALUE_REPAIRED' : 'W_VALUE_DROPPED',
        `${name}: ${repair.detail} in ${files} source file${files === 1 ? '' : 's'} of the derived series`,
        { path: first },
      );
    });
  }
}

/** A source file's parse and header, read now. */
function readSourceHeader(file: string): { parsed: ParsedFile; header: ImageHeader } {
  let parsed: ParsedFile;
  try {
    parsed = readDicomFileSync(file);
  } catch (error) {
    if (error instanceof LowdoseError && error.code !== 'E_IO' && error.code !== 'E_NOT_FOUND') throw error;
    const cause = error instanceof LowdoseError ? error.cause : error;
    throw new LowdoseError('E_IO', `${file}: cannot read source file: ${(cause as Error).message}`, { path: file });
  }
  return { parsed, header: readImageHeader(parsed) };
}

interface SourceEntry {
  readonly parsed: ParsedFile;
  readonly header: ImageHeader;
  readonly dataset: DcmDataset;
  readonly mediaStorageSopClassUid: string | undefined;
  readonly repairs: ValueRepair[];
  /** First use of this file by the writer (its repairs are counted once). */
  fresh: boolean;
}

/**
 * Reads source files, remembering the last one so that the frames of a multi-frame source are not
 * re-read per frame: our parser and reader first (checked lengths, the geometry the series was
 * built from), then dcmjs on the copied attributes only.
 */
class SourceDatasetCache {
  private file = '';
  private value: SourceEntry | null = null;

  get(slice: SliceRef): SourceEntry {
    if (this.value && this.file === slice.file) {
      this.value.fresh = false;
      return this.value;
    }
    const { parsed, header } = readSourceHeader(slice.file);
    const copied = copySourceAttributes(parsed);
    let dataset: DcmDataset;
    try {
      dataset = readCopiedAttributes(copied);
    } catch (error) {
      throw new LowdoseError('E_MALFORMED', `${slice.file}: cannot re-read the attributes to copy: ${(error as Error).message}`, {
        path: slice.file,
        cause: error,
      });
    }
    const repairs = [...copied.repairs, ...repairValues(dataset)];
    this.file = slice.file;
    this.value = { parsed, header, dataset, mediaStorageSopClassUid: copied.mediaStorageSopClassUid, repairs, fresh: true };
    return this.value;
  }
}

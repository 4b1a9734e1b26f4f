/**
 * Writes a Volume made from scratch (a phantom, a simulation) as a new CT or PET series: one
 * explicit VR little endian file per slice with everything a viewer, a PACS and an SUV calculator
 * need, and nothing copied from anywhere.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { LowdoseError } from '../errors.js';
import { makeOutputFolderSync } from '../util/fs.js';
import type { PetDoseInfo, Volume } from '../image.js';
import { SOP_CLASS, hashedUid, newUid } from './uid.js';
import { type DcmDataset, personName, setElement } from './write-dcmjs.js';
import { dicomDateTime, dsList, fileMeta, setPixels, sliceFileName, writeFileAtomic } from './write-file.js';
import { chooseLinearRescale, chooseProportionalRescale, finiteRange, type Rescale } from './write-pixels.js';

export interface VolumeSeriesOptions {
  /** Default "PHANTOM^<first word of the description>". */
  readonly patientName?: string;
  /** Default derived from the patient name. */
  readonly patientId?: string;
  readonly patientSex?: 'M' | 'F' | 'O';
  /** kg; for PET the volume's `pet.patientWeightKg` wins. */
  readonly patientWeightKg?: number;
  /**
   * Share these between a normal-dose series and its simulated low-dose copies so they are one
   * study in one frame of reference. Each defaults to a new UID (or a hashed one with `uidSeed`).
   */
  readonly studyInstanceUid?: string;
  readonly frameOfReferenceUid?: string;
  readonly seriesInstanceUid?: string;
  /** When set, every UID not given is hashed from it: the same seed writes the same bytes. */
  readonly uidSeed?: string;
  readonly studyDescription?: string;
  /** Default: the volume's description. */
  readonly seriesDescription?: string;
  /** CT ConvolutionKernel (0018,1210) to record, e.g. to label a series as a sharp-kernel scan. */
  readonly convolutionKernel?: string;
  readonly seriesNumber?: number;
  readonly studyId?: string;
  readonly accessionNumber?: string;
  /** Study / series date, and for CT their time. Default now. PET times come from `volume.pet`. */
  readonly date?: Date;
  /** ImagePositionPatient of the first voxel of slice 0. Default: the volume centred on the origin. */
  readonly origin?: readonly [number, number, number];
  /**
   * ImageOrientationPatient. Default axial [1, 0, 0, 0, 1, 0]. Slices still step along +z from
   * `origin`, so give one whose normal is ±z (an axial grid mirrored or turned by quarter turns).
   */
  readonly orientation?: readonly [number, number, number, number, number, number];
  /** Default ORIGINAL\PRIMARY\AXIAL; a simulated copy might say DERIVED\SECONDARY\AXIAL. */
  readonly imageType?: readonly string[];
  readonly derivationDescription?: string;
  /** File names `<prefix>0001.dcm`, ... Default "IM". */
  readonly filePrefix?: string;
  readonly overwrite?: boolean | undefined;
  /** Largest stored step for CT, HU. Default 0.1. */
  readonly resolution?: number;
  /** CT display window [centre, width]. Default soft tissue [40, 400]. */
  readonly window?: readonly [number, number];
  /** PET frame duration, ms. Default 180000 (3 min per bed). */
  readonly frameDurationMs?: number;
}

export interface WrittenSeries {
  readonly dir: string;
  readonly files: string[];
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly frameOfReferenceUid: string;
  readonly sopInstanceUids: string[];
}

/** ImagePositionPatient of slice `k`'s first voxel when a volume is centred on the origin. */
export function centredOrigin(volume: Pick<Volume, 'rows' | 'columns' | 'slices' | 'spacing'>): [number, number, number] {
  const [rowSpacing, columnSpacing, sliceSpacing] = volume.spacing;
  return [
    (-(volume.columns - 1) / 2) * columnSpacing,
    (-(volume.rows - 1) / 2) * rowSpacing,
    (-(volume.slices.length - 1) / 2) * sliceSpacing,
  ];
}

export async function writeVolumeSeries(volume: Volume, outDir: string, options: VolumeSeriesOptions = {}): Promise<WrittenSeries> {
  validateVolume(volume);
  const dir = path.resolve(outDir);
  const prefix = options.filePrefix ?? 'IM';
  const count = volume.slices.length;
  const targets = volume.slices.map((_, k) => path.join(dir, sliceFileName(prefix, k, count)));
  if (!options.overwrite) {
    const existing = targets.find((t) => existsSync(t));
    if (existing) throw new LowdoseError('E_EXISTS', `${existing} already exists (use --overwrite to replace it)`, { path: existing });
  }
  makeOutputFolderSync(dir);

  const uid = (role: string, ...more: (string | number)[]) =>
    options.uidSeed === undefined ? newUid() : hashedUid(options.uidSeed, role, ...more);
  const studyInstanceUid = options.studyInstanceUid ?? uid('study');
  const frameOfReferenceUid = options.frameOfReferenceUid ?? uid('frame-of-reference');
  const seriesInstanceUid = options.seriesInstanceUid ?? uid('series');
  const common = commonDataset(volume, options, { studyInstanceUid, frameOfReferenceUid, seriesInstanceUid });
  const sopClassUid = volume.modality === 'CT' ? SOP_CLASS.ctImage : SOP_CLASS.petImage;
  const origin = options.origin ?? centredOrigin(volume);
  // CT shares one rescale across the series so stored values compare between slices.
  const ctRescale = volume.modality === 'CT' ? seriesRescale(volume, options.resolution ?? 0.1) : null;

  const files: string[] = [];
  const sopInstanceUids: string[] = [];
  for (let k = 0; k < count; k++) {
    const sopInstanceUid = options.uidSeed === undefined ? newUid() : hashedUid(options.uidSeed, 'instance', seriesInstanceUid, k);
    const dataset: DcmDataset = { ...common };
    setElement(dataset, 'SOPClassUID', [sopClassUid]);
    setElement(dataset, 'SOPInstanceUID', [sopInstanceUid]);
    setElement(dataset, 'InstanceNumber', [String(k + 1)]);
    const z = origin[2] + k * volume.spacing[2];
    setElement(dataset, 'ImagePositionPatient', dsList([origin[0], origin[1], z]));
    setElement(dataset, 'SliceLocation', dsList([z]));
    if (volume.modality === 'PT') setElement(dataset, 'ImageIndex', [k + 1]);
    const values = volume.slices[k]!;
    const rescale = ctRescale ?? chooseProportionalRescale(...finiteRange(values));
    setPixels(dataset, volume.rows, volume.columns, values, rescale);
    await writeFileAtomic(targets[k]!, fileMeta(sopClassUid, sopInstanceUid), dataset);
    files.push(targets[k]!);
    sopInstanceUids.push(sopInstanceUid);
  }
  return { dir, files, studyInstanceUid, seriesInstanceUid, frameOfReferenceUid, sopInstanceUids };
}

function validateVolume(volume: Volume): void {
  const n = volume.rows * volume.columns;
  if (volume.slices.length === 0) throw new LowdoseError('E_USAGE', 'volume has no slices');
  volume.slices.forEach((slice, k) => {
    if (slice.length !== n) {
      throw new LowdoseError('E_INTERNAL', `volume slice ${k} has ${slice.length} values, expected ${volume.rows}x${volume.columns}`);
    }
  });
  if (!volume.spacing.every((s) => s > 0)) throw new LowdoseError('E_USAGE', `volume spacing must be positive, got ${volume.spacing.join(', ')}`);
  if (volume.modality === 'PT' && !volume.pet) {
    throw new LowdoseError('E_USAGE', 'a PT volume needs its PET dose information (volume.pet) to be written with SUV-able headers');
  }
}

function seriesRescale(volume: Volume, resolution: number): Rescale {
  let min = Infinity;
  let max = -Infinity;
  for (const slice of volume.slices) {
    const [lo, hi] = finiteRange(slice);
    min = Math.min(min, lo);
    max = Math.max(max, hi);
  }
  return chooseLinearRescale(min, max, resolution);
}

/** Elements every slice shares: patient, study, series, equipment, frame of reference, modality modules. */
function commonDataset(
  volume: Volume,
  options: VolumeSeriesOptions,
  uids: { studyInstanceUid: string; frameOfReferenceUid: string; seriesInstanceUid: string },
): DcmDataset {
  const d: DcmDataset = {};
  const word = (volume.description.split(/\s+/)[0] ?? 'VOLUME').toUpperCase().replace(/[^A-Z0-9]/g, '') || 'VOLUME';
  const patientName = options.patientName ?? `PHANTOM^${word}`;
  const when = dicomDateTime(options.date ?? new Date());
  const seriesTime = volume.pet?.seriesTime ?? when.time;

  setElement(d, 'SpecificCharacterSet', ['ISO_IR 100']);
  setElement(d, 'ImageType', [...(options.imageType ?? ['ORIGINAL', 'PRIMARY', 'AXIAL'])]);
  if (options.derivationDescription) setElement(d, 'DerivationDescription', [options.derivationDescription.slice(0, 1024)]);
  setElement(d, 'InstanceCreationDate', [when.date]);
  setElement(d, 'InstanceCreationTime', [when.time]);
  for (const keyword of ['StudyDate', 'SeriesDate', 'AcquisitionDate', 'ContentDate']) setElement(d, keyword, [when.date]);
  setElement(d, 'StudyTime', [seriesTime]);
  setElement(d, 'SeriesTime', [seriesTime]);
  setElement(d, 'AcquisitionTime', [seriesTime]);
  setElement(d, 'ContentTime', [seriesTime]);
  setElement(d, 'AccessionNumber', [options.accessionNumber ?? '']);
  setElement(d, 'Modality', [volume.modality]);
  setElement(d, 'Manufacturer', ['lowdose']);
  setElement(d, 'ManufacturerModelName', ['lowdose synthetic']);
  setElement(d, 'ReferringPhysicianName', []);
  setElement(d, 'StudyDescription', [options.studyDescription ?? `lowdose ${volume.modality} phantom`]);
  setElement(d, 'SeriesDescription', [(options.seriesDescription ?? volume.description).slice(0, 64)]);
  if (options.convolutionKernel !== undefined) setElement(d, 'ConvolutionKernel', [options.convolutionKernel.slice(0, 16)]);
  setElement(d, 'PatientName', [personName(patientName)]);
  setElement(d, 'PatientID', [(options.patientId ?? patientName.replace(/\^/g, '-')).slice(0, 64)]);
  setElement(d, 'PatientBirthDate', []);
  setElement(d, 'PatientSex', [options.patientSex ?? 'O']);
  const weight = volume.pet?.patientWeightKg ?? options.patientWeightKg;
  if (weight !== undefined) setElement(d, 'PatientWeight', dsList([weight]));
  setElement(d, 'BodyPartExamined', [volume.modality === 'CT' ? 'ABDOMEN' : 'WHOLEBODY']);
  setElement(d, 'SliceThickness', dsList([volume.spacing[2]]));
  setElement(d, 'SpacingBetweenSlices', dsList([volume.spacing[2]]));
  setElement(d, 'PatientPosition', ['HFS']);
  setElement(d, 'StudyInstanceUID', [uids.studyInstanceUid]);
  setElement(d, 'SeriesInstanceUID', [uids.seriesInstanceUid]);
  setElement(d, 'StudyID', [options.studyId ?? '1']);
  setElement(d, 'SeriesNumber', [String(options.seriesNumber ?? 1)]);
  setElement(d, 'AcquisitionNumber', ['1']);
  setElement(d, 'ImageOrientationPatient', options.orientation ? dsList([...options.orientation]) : ['1', '0', '0', '0', '1', '0']);
  setElement(d, 'FrameOfReferenceUID', [uids.frameOfReferenceUid]);
  setElement(d, 'PositionReferenceIndicator', []);
  setElement(d, 'PixelSpacing', dsList([volume.spacing[0], volume.spacing[1]]));

  if (volume.modality === 'CT') {
    setElement(d, 'KVP', ['120']);
    setElement(d, 'RescaleType', ['HU']);
    const [centre, width] = options.window ?? [40, 400];
    setElement(d, 'WindowCenter', dsList([centre]));
    setElement(d, 'WindowWidth', dsList([width]));
  } else {
    setPetModules(d, volume, volume.pet!, when.date, options.frameDurationMs ?? 180_000);
  }
  return d;
}

/**
 * PET Series, PET Isotope and PET Image module elements: activity in Bq/ml, decay corrected to the
 * series start, with what an SUVbw calculation (for example @cornerstonejs/calculate-suv) reads.
 */
function setPetModules(d: DcmDataset, volume: Volume, pet: PetDoseInfo, date: string, frameDurationMs: number): void {
  let max = 0;
  for (const slice of volume.slices) max = Math.max(max, finiteRange(slice)[1]);
  setElement(d, 'WindowCenter', dsList([max / 4 || 1]));
  setElement(d, 'WindowWidth', dsList([max / 2 || 1]));
  setElement(d, 'SeriesType', ['STATIC', 'IMAGE']);
  setElement(d, 'Units', ['BQML']);
  setElement(d, 'CountsSource', ['EMISSION']);
  setElement(d, 'CorrectedImage', ['ATTN', 'DECY', 'SCAT', 'NORM']);
  setElement(d, 'DecayCorrection', ['START']);
  setElement(d, 'RandomsCorrectionMethod', ['DLYD']);
  setElement(d, 'ReconstructionMethod', ['OSEM']);
  setElement(d, 'CollimatorType', ['NONE']);
  setElement(d, 'NumberOfSlices', [volume.slices.length]);
  setElement(d, 'DecayFactor', ['1']);
  setElement(d, 'FrameReferenceTime', ['0']);
  setElement(d, 'ActualFrameDuration', [String(Math.round(frameDurationMs))]);
  setElement(d, 'PatientOrientationCodeSequence', []);
  setElement(d, 'PatientGantryRelationshipCodeSequence', []);
  const nuclide = radionuclideCodeFor(pet.radionuclide);
  const drug: DcmDataset = {};
  setElement(drug, 'Radiopharmaceutical', [nuclide?.drug ?? '']);
  setElement(drug, 'RadiopharmaceuticalStartTime', [pet.injectionTime]);
  setElement(drug, 'RadiopharmaceuticalStartDateTime', [`${injectionDate(date, pet)}${pet.injectionTime}`]);
  setElement(drug, 'RadionuclideTotalDose', dsList([pet.injectedDoseBq]));
  setElement(drug, 'RadionuclideHalfLife', dsList([pet.halfLifeSeconds]));
  if (nuclide) {
    setElement(drug, 'RadionuclidePositronFraction', dsList([nuclide.positronFraction]));
    const code: DcmDataset = {};
    setElement(code, 'CodeValue', [nuclide.code]);
    setElement(code, 'CodingSchemeDesignator', ['SCT']);
    setElement(code, 'CodeMeaning', [nuclide.meaning]);
    setElement(drug, 'RadionuclideCodeSequence', [code]);
  }
  setElement(d, 'RadiopharmaceuticalInformationSequence', [drug]);
}

/** The injection's date: the series date, or the day before when the injection's time of day is later. */
function injectionDate(seriesDate: string, pet: PetDoseInfo): string {
  if (Number(pet.injectionTime.slice(0, 6)) <= Number(pet.seriesTime.slice(0, 6))) return seriesDate;
  const day = new Date(Date.UTC(Number(seriesDate.slice(0, 4)), Number(seriesDate.slice(4, 6)) - 1, Number(seriesDate.slice(6, 8)) - 1));
  return `${day.getUTCFullYear()}${String(day.getUTCMonth() + 1).padStart(2, '0')}${String(day.getUTCDate()).padStart(2, '0')}`;
}

/** The SNOMED CT code of F-18 (DICOM CID 4020); other nuclides are written by half-life only. */
function radionuclideCodeFor(name: string): { code: string; meaning: string; drug: string; positronFraction: number } | null {
  const key = name.replace(/[^A-Za-z0-9]/g, '').toLowerCase();
  if (key.includes('fluorine') || key === '18f' || key === 'f18') {
    return { code: '77004003', meaning: '^18^Fluorine', drug: 'Fluorodeoxyglucose', positronFraction: 0.9673 };
  }
  return null;
}

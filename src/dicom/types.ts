/**
 * What the rest of the toolkit sees of DICOM: series of slices in modality units, never raw
 * datasets. Pixels are loaded on demand (`readSlice` in ./read-slice.ts) so that a 300-slice study
 * streams through instead of being held whole.
 */
import type { LowdoseError } from '../errors.js';

export type Vec3 = [number, number, number];
/** ImageOrientationPatient: row direction cosines then column direction cosines. */
export type Orientation = [number, number, number, number, number, number];

/**
 * Units of the values `readSlice` returns: 'HU' (CT after the modality LUT), 'SUVbw' (PET with
 * a computable SUV), 'BQML' (PET activity when SUV is unavailable), or for other modalities
 * the modality-LUT output's own units (for example 'MODALITY' or PET's stored Units value).
 */
export type Units = 'HU' | 'SUVbw' | 'BQML' | (string & {});

/** One image frame of one file. */
export interface SliceRef {
  /** Absolute path of the file. */
  readonly file: string;
  /** 0-based frame index within a multi-frame file; 0 otherwise. */
  readonly frame: number;
  readonly sopInstanceUid: string;
  readonly instanceNumber: number | null;
  /**
   * How many files the lowdose series of this file has, as the file states it (ImageHeader's
   * statedCount); null when it states none. Absent where the slice was not read from a header.
   */
  readonly statedCount?: { readonly files: number; readonly frame: boolean } | null;
  /** ImagePositionPatient of this frame, mm, when the file has it. */
  readonly position: Vec3 | null;
  /** Signed distance along the series' slice normal (mm), or null when positions are missing. */
  readonly location: number | null;
  /** RescaleSlope / RescaleIntercept of this frame (modality LUT). */
  readonly rescaleSlope: number;
  readonly rescaleIntercept: number;
  /**
   * Factor from modality-LUT output to `Series.units` (SUVbw factor for PET; 1 otherwise).
   * Writers divide by it to store activity again.
   */
  readonly unitsScale: number;
  readonly transferSyntaxUid: string;
}

/** One geometrically consistent stack of slices: a SeriesInstanceUID may hold several. */
export interface Series {
  /** Unique per stack: the SeriesInstanceUID, plus `#n` when the UID holds several stacks. */
  readonly key: string;
  readonly seriesInstanceUid: string;
  readonly studyInstanceUid: string;
  /**
   * FrameOfReferenceUID (0020,0052) shared by every slice, or null when absent or when the slices
   * disagree. Two series' ImagePositionPatient are one coordinate system only within one frame.
   */
  readonly frameOfReferenceUid?: string | null;
  readonly modality: string;
  readonly seriesDescription: string;
  /** DerivationDescription (0008,2111) of the first slice that has one, '' when none has. */
  readonly derivationDescription?: string;
  /** ConvolutionKernel (0018,1210) of the first slice, when stored. */
  readonly convolutionKernel?: string | null;
  readonly rows: number;
  readonly columns: number;
  readonly orientation: Orientation | null;
  /** [row spacing, column spacing, slice spacing] in mm; slice spacing from positions when known. */
  readonly spacing: [number, number, number];
  /**
   * SliceThickness (0018,0050) of the first slice, mm, when stored and usable: the section a
   * slice images, which on a series with gaps (sparse slices) is less than the spacing.
   */
  readonly sliceThickness?: number | null;
  readonly units: Units;
  readonly transferSyntaxes: string[];
  /** Sorted along the slice normal (increasing location), else by instance number. */
  readonly slices: SliceRef[];
  /** Problems that did not stop reading: duplicates, gaps, E_SUV_UNAVAILABLE, ... */
  readonly warnings: LowdoseError[];
  /**
   * MONOCHROME1 or MONOCHROME2. Values are never inverted (they are modality values either
   * way); a viewer shows MONOCHROME1 with low values white.
   */
  readonly photometricInterpretation?: string;
  /**
   * Set on one frame (time point or gate) of a dynamic or gated PET series, read as its own series
   * (`key` ends in `#t<frame>` or `#g<frame>`, ./pet-time-slices.ts): the key of the whole
   * acquisition and where this frame sits in it. A derived series of such frames is written as one
   * series again (src/pipeline/frame-output.ts).
   */
  readonly petFrame?: PetFrameRef;
}

/** One frame of a dynamic or gated PET acquisition that was split into one series per frame. */
export interface PetFrameRef {
  /** The key of the whole acquisition (the frame's key without its `#t<n>` / `#g<n>` suffix). */
  readonly acquisitionKey: string;
  /** `t`: a time point of a DYNAMIC series; `g`: a gate of a GATED one. */
  readonly suffix: 't' | 'g';
  /** 1-based: the time slice, or (R-R interval - 1) x NumberOfTimeSlots + time slot. */
  readonly frame: number;
  /** Frames the acquisition declares (NumberOfTimeSlices, or NumberOfRRIntervals x NumberOfTimeSlots). */
  readonly frames: number;
  /**
   * A time point's timing (`t` frames only): start, duration and middle from the series reference
   * time, FrameReferenceTime, the start's date and time (src/dicom/pet-frame-timing.ts).
   */
  readonly timing?: PetFrameTiming;
  /** A gate's trigger time and R-R limits (`g` frames only), those its files carry (src/dicom/pet-frame-timing.ts). */
  readonly gating?: PetGateTiming;
  /**
   * A gate (`g` frames only) whose files state two values of one classic gated attribute
   * (src/dicom/classic-gate-values.ts): why, in words. No classic PET image can state such a gate,
   * so it is not written (E_PET_GATES_UNKNOWN, src/dicom/write-derived.ts).
   */
  readonly classicGateConflict?: string;
}

/**
 * One time point of a DYNAMIC series, in ms (read by src/dicom/pet-frame-timing.ts, which says where
 * each value comes from); null where the files do not say it or its slices disagree.
 */
export interface PetFrameTiming {
  /**
   * The frame's start from the series reference time: AcquisitionDate / AcquisitionTime minus
   * SeriesDate / SeriesTime (an AcquisitionDate missing is taken as the SeriesDate). 0 for the first
   * frame of a series whose SeriesTime is its scan start; negative when the SeriesTime is later
   * than the frame (post-processed series).
   */
  readonly startMs: number | null;
  /** ActualFrameDuration (0018,1242). */
  readonly durationMs: number | null;
  /** startMs + durationMs / 2: the frame's middle. */
  readonly midMs: number | null;
  /** FrameReferenceTime (0054,1300) as stored: from the series reference time to when the frame's pixel values occurred. */
  readonly referenceMs: number | null;
  /** The frame's start as a DICOM DT, "YYYYMMDDHHMMSS.FFFFFF" (AcquisitionDate or else SeriesDate, AcquisitionTime). */
  readonly acquisitionDateTime: string | null;
}

/** One gate of a GATED series, in ms: only the values its files carry. */
export interface PetGateTiming {
  /** TriggerTime (0018,1060): from the R wave to the start of the gate's data. */
  readonly triggerTimeMs?: number;
  /** NominalInterval (0018,1062): the average R-R interval. */
  readonly nominalIntervalMs?: number;
  /** LowRRValue (0018,1081): the shortest R-R interval accepted. */
  readonly lowRRMs?: number;
  /** HighRRValue (0018,1082): the longest R-R interval accepted. */
  readonly highRRMs?: number;
  /** FrameTime (0018,1063): the length of the gate's time slot (C.8.9.4). */
  readonly frameTimeMs?: number;
}

export interface PixelPadding {
  /** Stored value marking padding (PixelPaddingValue), sign-correct for signed data. */
  readonly value: number;
  /** With PixelPaddingRangeLimit, every stored value between the two (inclusive) is padding. */
  readonly rangeLimit: number | null;
}

export interface PixelModule {
  readonly rows: number;
  readonly columns: number;
  readonly frames: number;
  readonly samplesPerPixel: number;
  readonly photometricInterpretation: string;
  readonly planarConfiguration: number;
  readonly bitsAllocated: number;
  readonly bitsStored: number;
  readonly highBit: number;
  /** 0 unsigned, 1 two's complement. */
  readonly pixelRepresentation: 0 | 1;
  readonly padding: PixelPadding | null;
}

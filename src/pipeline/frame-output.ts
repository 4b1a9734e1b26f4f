/**
 * Where a denoised series goes, and under which UIDs, when it is one frame of a dynamic or gated
 * PET acquisition. Such an acquisition is read as one series per time point or gate (keys `#t<n>`,
 * `#g<n>`, src/dicom/pet-time-slices.ts) and denoised frame by frame, but written back as ONE
 * derived series, as the source was: every frame's files in one folder, under one
 * SeriesInstanceUID, each file keeping its source image's PET attributes (NumberOfTimeSlices,
 * ImageIndex, FrameReferenceTime, ...), so that kinetic and gating software reads the whole
 * acquisition.
 *
 * The frames of one acquisition may be written by one run one after the other, by a rerun that
 * finishes what an interrupted one left, or at the same time by queue workers. They agree on the
 * derived series' UIDs through `.lowdose-series.json` in the folder (./acquisition-series.ts, which
 * also keeps the folder at one series when `--overwrite` redoes frames). Each frame keeps its own
 * lock, completion marker, file names (`t01-IM0001.dcm`, `g01-...`) and preview, so it is
 * finished, skipped and redone on its own.
 */
import path from 'node:path';
import type { PetFrameRef, PetFrameTiming, PetGateTiming, Series } from '../dicom/index.js';
import type { InputContent } from './input-content.js';

export const COMPLETION_MARKER = '.lowdose-complete.json';

/**
 * Which command's completion marker a series folder holds: `denoise`'s (`.lowdose-complete.json`,
 * its SeriesReport) or `simulate`'s (`.lowdose-simulated.json`, its SimulatedSeries,
 * ./simulation-marker.ts). Two names, so that neither command reads the other's series as its own
 * when both write into one `-o` (report.json lists denoise's markers only).
 */
export type MarkerKind = 'denoise' | 'simulate';

const MARKER_STEMS: Record<MarkerKind, string> = { denoise: '.lowdose-complete', simulate: '.lowdose-simulated' };

/** A series' completion marker: `.lowdose-complete.json`, or for frame `t01` `.lowdose-complete-t01.json` (`simulate`: `.lowdose-simulated...`). */
export function completionMarkerName(tag: string | null, kind: MarkerKind = 'denoise'): string {
  return `${MARKER_STEMS[kind]}${tag === null ? '' : `-${tag}`}.json`;
}

/** A frame's completion marker in the acquisition's folder. */
export const frameMarker = (tag: string, kind: MarkerKind = 'denoise'): string => completionMarkerName(tag, kind);

/**
 * The frame tag (`t01`, `g12`) a file of an acquisition's folder belongs to: its files (`t01-IM0001.dcm`,
 * `t01-REF0001.dcm`) and its completion marker of either kind; null for any other name.
 */
export function frameTagOfFile(name: string): string | null {
  return /^([tg]\d+)-/.exec(name)?.[1] ?? /^\.lowdose-(?:complete|simulated)-([tg]\d+)\.json$/.exec(name)?.[1] ?? null;
}

/** The tags of every frame of the acquisition `ref` is a frame of, as read now (`t01` ... `t<frames>`). */
export function acquisitionFrameTags(ref: PetFrameRef): string[] {
  return Array.from({ length: ref.frames }, (_, k) => frameTag({ ...ref, frame: k + 1 }));
}
/** A frame's preview, in `previews/` beside the acquisition's folder `folder`. */
export const framePreview = (folder: string, tag: string): string => `${folder}-${tag}.png`;

/** What one series' output is called within its series folder. */
export interface SeriesOutputNames {
  /** `t01`, `g03`, ... for a frame of an acquisition; null for a series of its own. */
  readonly frameTag: string | null;
  /** Prefix of its DICOM file names (`IM`, or `t01-IM`). */
  readonly filePrefix: string;
  /** The prefix for file names of another stem (`REF` -> `REF`, or `t01-REF`). */
  readonly prefix: (stem: string) => string;
  /** Its completion marker's file name. */
  readonly marker: string;
  /** Its preview's file name (beside the other series' previews). */
  readonly preview: string;
  /** The path its lock guards: the folder itself, or for a frame `<folder>/<frame tag>`. */
  readonly lockPath: (dir: string) => string;
  /** Whether a final file name in the series folder (or its uncertainty / map folder) is this series' own. */
  readonly owns: (name: string) => boolean;
}

/** `t01`, `g12`: the frame's suffix letter and number, zero-padded to the acquisition's frame count (2 digits at least). */
export function frameTag(ref: PetFrameRef): string {
  const width = Math.max(2, String(Math.max(ref.frames, ref.frame)).length);
  return `${ref.suffix}${String(ref.frame).padStart(width, '0')}`;
}

/** `kind`: whose completion marker the series' folder holds (`denoise`'s unless `simulate`'s). */
export function seriesOutputNames(series: Series, folder: string, kind: MarkerKind = 'denoise'): SeriesOutputNames {
  if (!series.petFrame) {
    return { frameTag: null, filePrefix: 'IM', prefix: (stem) => stem, marker: completionMarkerName(null, kind), preview: `${folder}.png`, lockPath: (dir) => dir, owns: () => true };
  }
  const tag = frameTag(series.petFrame);
  const marker = frameMarker(tag, kind);
  return {
    frameTag: tag,
    filePrefix: `${tag}-IM`,
    prefix: (stem) => `${tag}-${stem}`,
    marker,
    preview: framePreview(folder, tag),
    lockPath: (dir) => path.join(dir, tag),
    owns: (name) => name.startsWith(`${tag}-`) || name === marker,
  };
}

/** A frame of a dynamic or gated acquisition as a JSON report names it (`denoise`, `simulate`: `input.petFrame`). */
export interface PetFrameReport {
  readonly acquisitionKey: string;
  readonly kind: 'dynamic' | 'gated';
  readonly frame: number;
  readonly frames: number;
  readonly tag: string;
  /** A time point's start, duration, middle and FrameReferenceTime (ms) and start date-time (docs/dicom.md); dynamic only. */
  readonly timing?: PetFrameTiming;
  /** A gate's TriggerTime / NominalInterval / LowRRValue / HighRRValue (ms), those its files carry; gated only. */
  readonly gating?: PetGateTiming;
}

export function petFrameReport(ref: PetFrameRef): PetFrameReport {
  return {
    acquisitionKey: ref.acquisitionKey,
    kind: ref.suffix === 't' ? 'dynamic' : 'gated',
    frame: ref.frame,
    frames: ref.frames,
    tag: frameTag(ref),
    ...(ref.timing ? { timing: ref.timing } : {}),
    ...(ref.gating ? { gating: ref.gating } : {}),
  };
}

/** An input series as `denoise`'s and `simulate`'s JSON name it (`series[].input`). */
export interface ReportedInput {
  readonly seriesInstanceUid: string;
  readonly key: string;
  readonly modality: string;
  readonly files: string[];
  /**
   * The input is one frame of a dynamic or gated PET acquisition (`key` ends in `#t<n>` / `#g<n>`):
   * its output files join the other frames' in one derived series (`output.seriesInstanceUid`,
   * `output.dir` shared), named `<tag>-IM0001.dcm`, ... Absent for a series of its own.
   */
  readonly petFrame?: PetFrameReport;
  /**
   * `denoise`: what identifies the input the series was made from (./input-content.ts: each slice's
   * SOPInstanceUID and the sha256 of what was read of it), compared by a rerun before it skips the
   * finished series. Absent in `simulate`'s report, and in a report written before it was recorded.
   */
  readonly content?: InputContent;
  /**
   * A series of a DICOMweb or DIMSE input: its address on the PACS (DICOMweb series URL or
   * dimse:// address) it was pulled from, or, judged finished by `--skip-by-uid` without pulling,
   * whose instance list it was judged by. `files` is then empty once the run's pull folder is
   * removed (the run ended without an error, or was stopped), or when nothing was read. Absent for
   * files or folders. A completion marker of a PACS run names its input by this address and no file
   * (`files` empty: the pull folder is temporary); one an older lowdose wrote names the pull folder's
   * files and no address.
   */
  readonly url?: string;
}

export function reportedInput(series: Series): ReportedInput {
  return {
    seriesInstanceUid: series.seriesInstanceUid,
    key: series.key,
    modality: series.modality,
    files: [...new Set(series.slices.map((s) => s.file))],
    ...(series.petFrame ? { petFrame: petFrameReport(series.petFrame) } : {}),
  };
}

/** Completion markers of a series folder: one per series, or one per frame of an acquisition. */
export function isCompletionMarker(name: string): boolean {
  return name === COMPLETION_MARKER || /^\.lowdose-complete-[tg]\d+\.json$/.test(name);
}

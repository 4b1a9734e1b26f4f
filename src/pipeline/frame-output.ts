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
 * derived series' UIDs through `.lowdose-series.json` in the folder, created once (exclusive
 * create: the first writer's UIDs win). Each frame keeps its own lock, completion marker, file
 * names (`t01-IM0001.dcm`, `g01-...`) and preview, so it is finished, skipped and redone on its own.
 */
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PetFrameRef, Series } from '../dicom/index.js';
import { newUid } from '../dicom/uid.js';
import { LowdoseError } from '../errors.js';
import { makeOutputFolder, temporaryPathFor } from '../util/fs.js';

export const COMPLETION_MARKER = '.lowdose-complete.json';
/** The derived series' UIDs shared by the frames of one acquisition written into one folder. */
export const ACQUISITION_UIDS_FILE = '.lowdose-series.json';

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

export function seriesOutputNames(series: Series, folder: string): SeriesOutputNames {
  if (!series.petFrame) {
    return { frameTag: null, filePrefix: 'IM', prefix: (stem) => stem, marker: COMPLETION_MARKER, preview: `${folder}.png`, lockPath: (dir) => dir, owns: () => true };
  }
  const tag = frameTag(series.petFrame);
  const marker = `.lowdose-complete-${tag}.json`;
  return {
    frameTag: tag,
    filePrefix: `${tag}-IM`,
    prefix: (stem) => `${tag}-${stem}`,
    marker,
    preview: `${folder}-${tag}.png`,
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
}

export function petFrameReport(ref: PetFrameRef): PetFrameReport {
  return { acquisitionKey: ref.acquisitionKey, kind: ref.suffix === 't' ? 'dynamic' : 'gated', frame: ref.frame, frames: ref.frames, tag: frameTag(ref) };
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

/** The UIDs every frame of one acquisition writes its derived series under. */
export interface AcquisitionUids {
  /** The source acquisition's key, as a check that the folder is this acquisition's. */
  readonly source: string;
  readonly denoised: string;
  readonly uncertainty: string;
  readonly hallucination: string;
}

/**
 * The acquisition's derived-series UIDs recorded in `dir`, or new ones recorded there now. Made by
 * linking a complete temporary file into place, so two writers that start together both read the
 * winner's UIDs and never a half-written file.
 */
export async function acquisitionUids(dir: string, source: string): Promise<AcquisitionUids> {
  const file = path.join(dir, ACQUISITION_UIDS_FILE);
  const existing = await readAcquisitionUids(file);
  if (existing) return checked(existing, source, file);
  await makeOutputFolder(dir);
  const fresh: AcquisitionUids = { source, denoised: newUid(), uncertainty: newUid(), hallucination: newUid() };
  const tmp = temporaryPathFor(file);
  await writeFile(tmp, `${JSON.stringify(fresh, null, 2)}\n`);
  try {
    await link(tmp, file);
    return fresh;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const winner = await readAcquisitionUids(file);
    if (!winner) throw new LowdoseError('E_IO', `${file}: cannot read the derived series' UIDs another run recorded`, { path: file });
    return checked(winner, source, file);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Forgets the recorded UIDs: the next frame written draws new ones (a redo of every finished frame). */
export async function forgetAcquisitionUids(dir: string): Promise<void> {
  await rm(path.join(dir, ACQUISITION_UIDS_FILE), { force: true });
}

async function readAcquisitionUids(file: string): Promise<AcquisitionUids | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return null;
  }
  try {
    const parsed = JSON.parse(text) as Partial<AcquisitionUids>;
    const uid = (v: unknown) => typeof v === 'string' && /^[0-9.]{1,64}$/.test(v);
    if (typeof parsed.source === 'string' && uid(parsed.denoised) && uid(parsed.uncertainty) && uid(parsed.hallucination)) return parsed as AcquisitionUids;
  } catch {
    // fall through
  }
  throw new LowdoseError('E_MALFORMED', `${file} does not hold the derived series' UIDs; remove it and --overwrite the series in ${path.dirname(file)}`, { path: file });
}

function checked(uids: AcquisitionUids, source: string, file: string): AcquisitionUids {
  if (uids.source === source) return uids;
  // The folder name is a hash of the acquisition's key: another key here is a hash collision or a hand-made file.
  throw new LowdoseError('E_EXISTS', `${file} records the derived series of acquisition ${uids.source}, not of ${source}; give another -o`, { path: file });
}

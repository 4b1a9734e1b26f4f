/**
 * Which derived series the frames of one dynamic or gated PET acquisition are written under, and
 * keeping the acquisition's folder at ONE series (./frame-output.ts names the frames' files).
 *
 * The series' UIDs are recorded in the folder's `.lowdose-series.json`. Every decision about them
 * (take the recorded ones, record new ones, check before a frame is marked finished, remove frames
 * left under UIDs no longer recorded) is made under the folder's UID lock, `<folder>/.series.lock`
 * (src/util/folder-lock.ts), held for milliseconds, while the run already holds the locks of its
 * own frames. Under it a run never waits for another frame's lock (it only tries), so two runs
 * cannot deadlock.
 *
 * The rule:
 * - the UIDs are recorded with what the series is made with (./made-with.ts: method, model, the
 *   model's settings, the model files' sha256, the padding fill; what a finished frame's completion
 *   marker is checked against), so that the
 *   series is one processing: a run without `--overwrite` takes the recorded UIDs (records new
 *   ones, with its own settings, when there are none) only if its settings are the recorded ones;
 *   with other settings it writes nothing into the series (E_EXISTS naming the folder, what
 *   differs and `--overwrite`), finished frames or not. A file recorded by an older lowdose has no
 *   settings, or lacks some: those of the frames finished under its UIDs stand for them too (a run
 *   with other settings than any of them is refused; a field none of them records is not
 *   compared), and the first run that writes a frame records its own. A record under which no frame is
 *   finished and of whose folder no other live run holds a frame lock is a dead run's (killed or
 *   cancelled before it finished a frame): it protects nothing, and a run with other settings
 *   records its own (new UIDs; the dead run's unfinished frames are swept);
 * - an `--overwrite` request (one `denoise` run, or every job of one batch, by its id) records new
 *   UIDs the first time one of its frames is written, and every later frame of the same request
 *   takes them: the redone frames are a new series (new SeriesInstanceUID, new SOPInstanceUIDs), as
 *   a redone series of its own is. An older request than the one recorded writes nothing more
 *   (E_LOCKED): the later one replaced the series;
 * - a frame counts as finished only when its completion marker names the recorded series; the
 *   frames of a replaced series are removed when new UIDs are recorded and, by every run, before it
 *   releases its frames' locks: the frames this run holds, and those no live run holds. A frame
 *   another live run is writing is left to that run, which checks the recorded UIDs before it marks
 *   the frame finished (E_LOCKED and no marker when they were replaced) and sweeps at its end.
 *   So once no run is writing, every file of the acquisition in the folder is of one series, and no
 *   SOPInstanceUID names two different images.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { newUid } from '../dicom/uid.js';
import { LowdoseError } from '../errors.js';
import { acquireFolderLock, releaseAll, type FolderLock, type LockOptions } from '../util/folder-lock.js';
import { makeOutputFolder, writeFileAtomic } from '../util/fs.js';
import { frameMarker, framePreview } from './frame-output.js';
import { extraOutputsDifference, extraOutputsOfReport, isExtraOutputs, type ExtraOutputs, type ReportedExtraOutputs } from './extra-outputs.js';
import { completeMadeWith, isMadeWith, madeWithDifference, madeWithOfReport, sameMadeWith, type MadeWith, type ReportedMadeWith } from './made-with.js';

/** The derived series' UIDs shared by the frames of one acquisition written into one folder. */
export const ACQUISITION_UIDS_FILE = '.lowdose-series.json';
/** The path whose lock (`<folder>/.series.lock`) guards the recorded UIDs. */
const UIDS_LOCK = 'series';
/**
 * How long a run waits for the UID lock before E_LOCKED, ms. It is held for milliseconds: a lock
 * this old is a run on another host that died holding it (on this host a dead owner's lock is
 * taken over at once; from another host, once its heartbeat is LOCK_HEARTBEAT_TIMEOUT_MS old), and
 * the error names the file to remove.
 */
const UIDS_LOCK_WAIT_MS = 60_000;
/** The folders below an acquisition's folder that hold its frames' files (`t01-...`). */
const FRAME_SUBFOLDERS = ['', 'uncertainty', path.join('hallucination', 'map'), path.join('hallucination', 'overlays')];

/** One `--overwrite` request: a `denoise` run, or a batch (all its jobs share the batch's id). */
export interface OverwriteRequest {
  readonly id: string;
  /** ISO time the request was made: of two requests on one acquisition, the later one wins. */
  readonly requestedAt: string;
}

export function newOverwriteRequest(): OverwriteRequest {
  return { id: randomBytes(8).toString('hex'), requestedAt: new Date().toISOString() };
}

/** The UIDs every frame of one acquisition writes its derived series under. */
export interface AcquisitionUids {
  /** The source acquisition's key, as a check that the folder is this acquisition's. */
  readonly source: string;
  readonly denoised: string;
  readonly uncertainty: string;
  readonly hallucination: string;
  /** The `--overwrite` request that recorded them; absent when a run without it did. */
  readonly overwrite?: OverwriteRequest;
  /**
   * What every frame of the series is made with; absent in a file an older lowdose wrote, and
   * without `modelSha256` / `paddingFill` in one written before those were recorded.
   */
  readonly madeWith?: MadeWith;
  /**
   * What every frame of the series writes besides its denoised pixels (./extra-outputs.ts: the
   * shared uncertainty series calibrated σ or raw spread, the map series, the σ threshold), recorded
   * with the UIDs by the first frame started; absent in a file written before it was recorded.
   */
  readonly extraOutputs?: ExtraOutputs;
}

/** What a run holds of an acquisition's folder, and how it takes locks. */
export interface AcquisitionContext {
  /** Frame tags (`t01`, ...) of the folder whose locks this run holds. */
  readonly held?: ReadonlySet<string>;
  /** The run's lock options (queue jobs judge other hosts' locks by the queue). */
  readonly lock?: Pick<LockOptions, 'queue' | 'signal'>;
  readonly log?: (message: string) => void;
  /**
   * What this run writes besides the denoised series (./extra-outputs.ts): a frame joins the
   * acquisition's uncertainty and map series only if the series is recorded with (or, in an older
   * file without the record, its finished frames were written with) the same extra outputs.
   */
  readonly extras?: { readonly outputs: ExtraOutputs; readonly units: string | null };
}

/**
 * The UIDs the frames written now with `madeWith` go under: the recorded ones (E_EXISTS when the
 * series is made with other settings or other extra outputs), or, for an `--overwrite` request that has not recorded its
 * own yet, new ones (the frames of the series they replace are removed, see the module comment).
 * Concurrent callers agree: the decision is made under the UID lock.
 */
export async function acquisitionUids(
  dir: string,
  source: string,
  madeWith: MadeWith,
  request: OverwriteRequest | null = null,
  context: AcquisitionContext = {},
): Promise<AcquisitionUids> {
  return underUidsLock(dir, context.lock ?? {}, async () => {
    const file = path.join(dir, ACQUISITION_UIDS_FILE);
    const recorded = await readAcquisitionUids(dir);
    if (recorded) checkSource(recorded, source, file);
    if (recorded && (request === null || recorded.overwrite?.id === request.id)) {
      try {
        return await joinRecorded(dir, recorded, madeWith, context.extras);
      } catch (error) {
        // Recorded by a run that died (or was cancelled) before it finished a frame: nothing made
        // with those settings is there to protect, so the record does not hold later runs back.
        if (!(error instanceof LowdoseError && error.code === 'E_EXISTS') || !(await abandonedRecord(dir, recorded, context))) throw error;
        context.log?.(`${file}: recorded with other settings by a run that finished no frame and is not running; this run records its own`);
      }
    }
    if (recorded?.overwrite && request && later(recorded.overwrite, request)) {
      throw new LowdoseError(
        'E_LOCKED',
        `${dir}: a later --overwrite (requested ${recorded.overwrite.requestedAt}) replaced this acquisition's derived series; this one (requested ${request.requestedAt}) writes nothing more`,
        { path: dir },
      );
    }
    const fresh: AcquisitionUids = {
      source,
      denoised: newUid(),
      uncertainty: newUid(),
      hallucination: newUid(),
      ...(request ? { overwrite: request } : {}),
      madeWith,
      ...(context.extras ? { extraOutputs: context.extras.outputs } : {}),
    };
    await writeFileAtomic(file, `${JSON.stringify(fresh, null, 2)}\n`);
    if (recorded) {
      const removed = await sweep(dir, fresh, context);
      if (removed.length > 0) context.log?.(`--overwrite: new series for ${dir}; removed frame(s) ${removed.join(', ')} of the series it replaces`);
    }
    return fresh;
  });
}

/**
 * Whether the recorded UIDs are a dead run's: no frame is finished under them and no other live run
 * holds a frame lock of the folder (a run holds its frames' locks from its start, before it
 * records anything; a lock whose owner is gone, on this host by its pid, from another host by its
 * heartbeat (src/util/folder-lock.ts), is taken over and released here). Under the UID lock.
 */
async function abandonedRecord(dir: string, recorded: AcquisitionUids, context: AcquisitionContext): Promise<boolean> {
  for (const tag of await frameTagsIn(dir)) if (await finishedFrame(dir, tag, recorded)) return false;
  const locked = (await readdir(dir).catch(() => [] as string[])).map((name) => FRAME_LOCK.exec(name)?.[1]).filter((tag): tag is string => tag !== undefined);
  for (const tag of locked) {
    if (context.held?.has(tag)) continue;
    try {
      await (await acquireFolderLock(path.join(dir, tag), { ...context.lock, wait: false })).release();
    } catch (error) {
      if (error instanceof LowdoseError && error.code === 'E_LOCKED') return false;
      throw error;
    }
  }
  return true;
}

/**
 * The recorded UIDs for a frame made with `madeWith` and writing `extras`, if the series is made
 * with them (under the UID lock). A file without settings, or without some of them (an older
 * lowdose's), takes those of the frames finished under it too (their markers may record what it
 * lacks), and is recorded with `madeWith` when they agree; a field neither records is not compared.
 * The extra outputs likewise: the recorded ones, else those of the finished frames' markers, and
 * the file is recorded with this run's when they agree.
 */
async function joinRecorded(dir: string, recorded: AcquisitionUids, madeWith: MadeWith, extras: AcquisitionContext['extras']): Promise<AcquisitionUids> {
  const complete = recorded.madeWith !== undefined && completeMadeWith(recorded.madeWith);
  const made = [...(recorded.madeWith ? [recorded.madeWith] : []), ...(complete ? [] : await finishedMadeWith(dir, recorded))];
  const other = made.find((m) => !sameMadeWith(m, madeWith));
  if (other) {
    throw new LowdoseError(
      'E_EXISTS',
      `${dir} holds this acquisition's derived series made with other settings (${madeWithDifference(other, madeWith)}): one series is one ` +
        `processing, so this run adds no frame to it; --overwrite replaces the series (its frames are removed) with one made as this run asks, or give another -o`,
      { path: dir },
    );
  }
  if (extras) await checkExtras(dir, recorded, extras);
  const extrasRecorded = extras === undefined || recorded.extraOutputs !== undefined;
  if (complete && extrasRecorded) return recorded;
  const upgraded: AcquisitionUids = { ...recorded, madeWith, ...(extrasRecorded ? {} : { extraOutputs: extras.outputs }) };
  await writeFileAtomic(path.join(dir, ACQUISITION_UIDS_FILE), `${JSON.stringify(upgraded, null, 2)}\n`);
  return upgraded;
}

/**
 * E_EXISTS when the series is recorded with other extra outputs than this run writes, or (a file
 * without the record, an older lowdose's) a frame finished under `uids` was written with others: a
 * calibrated σ beside a raw spread in one uncertainty series, a map series missing frames. What
 * neither records (an older marker's threshold) is not compared.
 */
async function checkExtras(dir: string, uids: AcquisitionUids, extras: NonNullable<AcquisitionContext['extras']>): Promise<void> {
  const refuse = (whose: string, differs: string) =>
    new LowdoseError(
      'E_EXISTS',
      `${dir} holds this acquisition's derived series ${whose} other extra outputs (${differs}): its frames share one uncertainty ` +
        `and one map series, so this run adds no frame to it; --overwrite replaces the series (its frames are removed) with one made as this run asks, or give another -o`,
      { path: dir },
    );
  if (uids.extraOutputs !== undefined) {
    const differs = extraOutputsDifference(uids.extraOutputs, extras.outputs, extras.units);
    if (differs !== '') throw refuse('recorded with', differs);
    return;
  }
  for (const tag of await frameTagsIn(dir)) {
    const marker = await readMarker(dir, tag);
    if (!marker || !finishedUnder(marker, uids)) continue;
    const differs = extraOutputsDifference(extraOutputsOfReport(marker), extras.outputs, extras.units);
    if (differs !== '') throw refuse(`with frame ${tag} written with`, differs);
  }
}

/** What the frames finished under `uids` were made with, from their completion markers. */
async function finishedMadeWith(dir: string, uids: AcquisitionUids): Promise<MadeWith[]> {
  const made: MadeWith[] = [];
  for (const tag of await frameTagsIn(dir)) {
    const marker = await readMarker(dir, tag);
    if (marker && finishedUnder(marker, uids)) made.push(madeWithOfReport(marker));
  }
  return made;
}

/**
 * Marks a frame finished (`writeMarker`) if its files went under the UIDs still recorded; otherwise
 * (another run's `--overwrite` replaced the series meanwhile) E_LOCKED, and the frame's files are
 * left for the sweep at the run's end.
 */
export async function commitFrame(dir: string, uids: AcquisitionUids, writeMarker: () => Promise<void>, context: AcquisitionContext = {}): Promise<void> {
  await underUidsLock(dir, context.lock ?? {}, async () => {
    const recorded = await readAcquisitionUids(dir);
    if (recorded?.denoised !== uids.denoised) {
      throw new LowdoseError('E_LOCKED', `${dir}: another run's --overwrite replaced this acquisition's derived series while this frame was written; it is not kept`, { path: dir });
    }
    await writeMarker();
  });
}

/**
 * At the end of a run: removes the frames not finished under the recorded UIDs that this run holds
 * or no live run holds, then releases this run's frame locks, both under the UID lock (so a series
 * replaced meanwhile is swept either here or by the run that replaced it). Returns the removed tags.
 */
export async function finishAcquisition(dir: string, locks: readonly FolderLock[], context: Omit<AcquisitionContext, 'held'> = {}): Promise<string[]> {
  const held = new Set(locks.map((lock) => path.basename(lock.dir)));
  // Not cancellable: the locks must be released.
  const lockOptions = context.lock?.queue ? { queue: context.lock.queue } : {};
  try {
    return await underUidsLock(dir, lockOptions, async () => {
      try {
        const recorded = await readAcquisitionUids(dir).catch(() => null);
        return recorded ? await sweep(dir, recorded, { ...context, held, lock: lockOptions }) : [];
      } finally {
        await releaseAll(locks);
      }
    });
  } finally {
    await releaseAll(locks);
  }
}

/** Whether a frame's completion marker (its SeriesReport) names the recorded series. */
export function finishedUnder(marker: { output?: { seriesInstanceUid?: string } } | null, uids: AcquisitionUids | null): boolean {
  return uids === null || marker?.output?.seriesInstanceUid === uids.denoised;
}

/** The recorded UIDs of the acquisition folder `dir`, or null when none are. */
export async function readAcquisitionUids(dir: string): Promise<AcquisitionUids | null> {
  const file = path.join(dir, ACQUISITION_UIDS_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return null;
  }
  try {
    const parsed = JSON.parse(text) as Partial<AcquisitionUids>;
    const uid = (v: unknown) => typeof v === 'string' && /^[0-9.]{1,64}$/.test(v);
    const request = parsed.overwrite;
    const requestOk = request === undefined || (typeof request.id === 'string' && typeof request.requestedAt === 'string');
    const madeWithOk = parsed.madeWith === undefined || isMadeWith(parsed.madeWith);
    const extrasOk = parsed.extraOutputs === undefined || isExtraOutputs(parsed.extraOutputs);
    if (typeof parsed.source === 'string' && uid(parsed.denoised) && uid(parsed.uncertainty) && uid(parsed.hallucination) && requestOk && madeWithOk && extrasOk) {
      return parsed as AcquisitionUids;
    }
  } catch {
    // fall through
  }
  throw new LowdoseError('E_MALFORMED', `${file} does not hold the derived series' UIDs; remove it and --overwrite the series in ${dir}`, { path: file });
}

function checkSource(uids: AcquisitionUids, source: string, file: string): void {
  if (uids.source === source) return;
  // The folder name is a hash of the acquisition's key: another key here is a hash collision or a hand-made file.
  throw new LowdoseError('E_EXISTS', `${file} records the derived series of acquisition ${uids.source}, not of ${source}; give another -o`, { path: file });
}

/** Whether request `a` was made after `b` (the id breaks a tie). */
function later(a: OverwriteRequest, b: OverwriteRequest): boolean {
  return a.requestedAt > b.requestedAt || (a.requestedAt === b.requestedAt && a.id > b.id);
}

async function underUidsLock<T>(dir: string, options: Pick<LockOptions, 'queue' | 'signal'>, run: () => Promise<T>): Promise<T> {
  await makeOutputFolder(dir);
  const lock = await acquireFolderLock(path.join(dir, UIDS_LOCK), { ...options, wait: true, maxWaitMs: UIDS_LOCK_WAIT_MS, quietWait: true, pollMs: 20 });
  try {
    return await run();
  } finally {
    await lock.release();
  }
}

/**
 * Removes (under the UID lock) every frame of `dir` not finished under `uids` that this run holds
 * or can lock now; a frame another live run holds is left to it. Returns the removed frames' tags.
 */
async function sweep(dir: string, uids: AcquisitionUids, context: AcquisitionContext): Promise<string[]> {
  const removed: string[] = [];
  for (const tag of await frameTagsIn(dir)) {
    if (await finishedFrame(dir, tag, uids)) continue;
    if (context.held?.has(tag)) {
      await removeFrame(dir, tag);
      removed.push(tag);
      continue;
    }
    let lock: FolderLock;
    try {
      lock = await acquireFolderLock(path.join(dir, tag), { ...context.lock, wait: false });
    } catch (error) {
      if (error instanceof LowdoseError && error.code === 'E_LOCKED') continue;
      throw error;
    }
    try {
      // Checked again under its lock: a run may have finished it since.
      if (!(await finishedFrame(dir, tag, uids))) {
        await removeFrame(dir, tag);
        removed.push(tag);
      }
    } finally {
      await lock.release();
    }
  }
  return removed;
}

const FRAME_FILE = /^([tg]\d+)-/;
const FRAME_MARKER = /^\.lowdose-complete-([tg]\d+)\.json$/;
/** A frame's lock file (src/util/folder-lock.ts `lockPathFor` of `<folder>/<tag>`). */
const FRAME_LOCK = /^\.([tg]\d+)\.lock$/;

/** Tags of the frames with a file or a marker in the folder. */
async function frameTagsIn(dir: string): Promise<string[]> {
  const tags = new Set<string>();
  for (const sub of FRAME_SUBFOLDERS) {
    for (const name of await readdir(path.join(dir, sub)).catch(() => [] as string[])) {
      const tag = FRAME_FILE.exec(name)?.[1] ?? (sub === '' ? FRAME_MARKER.exec(name)?.[1] : undefined);
      if (tag) tags.add(tag);
    }
  }
  return [...tags].sort();
}

async function finishedFrame(dir: string, tag: string, uids: AcquisitionUids): Promise<boolean> {
  const marker = await readMarker(dir, tag);
  return marker !== null && finishedUnder(marker, uids);
}

/** What this module reads of a frame's completion marker (its SeriesReport). */
type FrameMarker = ReportedMadeWith & ReportedExtraOutputs & { readonly output?: { readonly seriesInstanceUid?: string } };

/** A frame's completion marker, or null when it has none that can be read. */
async function readMarker(dir: string, tag: string): Promise<FrameMarker | null> {
  try {
    return JSON.parse(await readFile(path.join(dir, frameMarker(tag)), 'utf8')) as FrameMarker;
  } catch {
    return null;
  }
}

/** Removes a frame's marker first (it is then unfinished), then its files and its preview. */
async function removeFrame(dir: string, tag: string): Promise<void> {
  await rm(path.join(dir, frameMarker(tag)), { force: true });
  for (const sub of FRAME_SUBFOLDERS) {
    const folder = path.join(dir, sub);
    for (const name of await readdir(folder).catch(() => [] as string[])) {
      if (name.startsWith(`${tag}-`)) await rm(path.join(folder, name), { force: true });
    }
  }
  await rm(path.join(path.dirname(dir), 'previews', framePreview(path.basename(dir), tag)), { force: true });
}

/**
 * `lowdose denoise` as a library call: every CT / PET series under the given paths becomes a new,
 * derived DICOM series (plus an uncertainty series for ensembles), PNG previews and `report.json`.
 *
 * Streaming: slices are read, denoised and written one batch at a time (a small window of
 * neighbours is kept for 2.5D models), so a 300-slice study is never held whole. A series is
 * finished when its completion marker is written; a rerun skips finished series unless
 * `overwrite`, and redoes interrupted ones (removing the temporaries a killed run left).
 *
 * Every output series folder is locked (src/util/folder-lock.ts) before anything is written, so
 * a second run on the same output series fails with E_LOCKED (or waits, `waitLock`) instead of
 * mixing its files with the first run's.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { clearSliceCache, readSliceSource, scanPaths, scanProblems, type Series } from '../dicom/index.js';
import { uncertaintySliceWindow } from '../dicom/sigma-window.js';
import { createDerivedSeriesWriter, partsOfReported, reportedOutputSeries, severalSeries, type DerivedSeriesWriter } from '../dicom/write-derived.js';
import { LowdoseError, RUN_WARNING_CODES, isLowdoseError, toLowdoseError } from '../errors.js';
import { RunStopped, stopReason } from './run-stopped.js';
import { CodeSample, LISTED_PER_CODE } from '../util/code-sample.js';
import { ErrorListFile } from '../util/error-list-file.js';
import type { Image2D } from '../image.js';
import { DEFAULT_PADDING_FILL, fillPadding, type PaddingFill } from '../padding.js';
import { acquireFolderLocks, releaseAll, type FolderLock } from '../util/folder-lock.js';
import { isPathWithin, removeTemporaries, writeFileAtomic } from '../util/fs.js';
import { roundTo } from '../util/round.js';
import { toolkitIdentity } from '../util/toolkit.js';
import { checkJobMemory, DENOISE_PIPELINE, forwardLimits, resolveMemoryBudget, seriesShapeOf, type MemoryPlan } from './memory-budget.js';
import { resolveSfrcOptions, sfrcSlice, type SfrcSliceResult } from '../metrics/sfrc.js';
import { HallucinationRecorder } from './hallucination.js';
import { createSliceDenoiser, planSliceDenoiser, type SliceBatchResult, type SliceDenoiser, type SliceDenoiserPlan } from './slice-denoiser.js';
import { UncertaintySummary } from './uncertainty-summary.js';
import { sliceOutputs } from './slice-outputs.js';
import { ReferenceScorer, openReference, scoreFinishedSeries, type ReferenceSet } from './reference.js';
import { REFERENCE_MISMATCH_CODES } from '../metrics/pairing-warnings.js';
import { writePreview } from './preview-files.js';
import { FolderReport } from './folder-report.js';
import type { DenoiseOptions, DenoiseReport, SeriesReport } from './types.js';
import { NothingToDenoiseError, nothingToDenoiseScan, seriesToDenoiseIn } from './not-denoised.js';
import { frameTag, reportedInput, seriesOutputNames } from './frame-output.js';
import { markedEquipment } from './output-markers.js';
import { madeWithDifference, madeWithOf, madeWithOfReport } from './made-with.js';
import { extraOutputsOfDenoiser, extraOutputsOfReport, missingExtraOutputs } from './extra-outputs.js';
import { replaceEarlierSeriesFiles } from './earlier-series-files.js';
import { simulationMarkerWarning } from './simulation-marker.js';
import { inputContentDifference, inputContentOf, isInputContent, readInputContent, recordsHeader, sliceReading, sliceSetDifference, type SliceReading } from './input-content.js';
import {
  acquisitionUids,
  commitFrame,
  finishAcquisition,
  finishedUnder,
  newOverwriteRequest,
  readAcquisitionUids,
  type AcquisitionContext,
  type AcquisitionUids,
  type OverwriteRequest,
} from './acquisition-series.js';

export { COMPLETION_MARKER } from './frame-output.js';
export { REPORT_FILE, writeReport } from './folder-report.js';

/** Most characters of a series' description in its output folder's name. */
const FOLDER_DESCRIPTION_CHARS = 32;

/**
 * Folder name of a series' output: modality, series number-ish description, short hash of its key;
 * for a frame of a dynamic or gated PET acquisition, of the acquisition's key, so that its frames
 * are one derived series in one folder (./frame-output.ts). The description is lowercased, each
 * run of other characters than a-z and 0-9 one `-`, and cut after its last whole word within
 * FOLDER_DESCRIPTION_CHARS (a first word longer than that at the limit); the hash keeps names unique.
 */
export function outputFolderName(series: Series): string {
  const words = folderWords(series.seriesDescription);
  const cut = words.length <= FOLDER_DESCRIPTION_CHARS ? words.length : words.slice(0, FOLDER_DESCRIPTION_CHARS + 1).lastIndexOf('-');
  return folderName(series, words.slice(0, cut > 0 ? cut : FOLDER_DESCRIPTION_CHARS));
}

/**
 * The series' output folder in `outDir`: outputFolderName, or the one an earlier lowdose named
 * (its description cut at FOLDER_DESCRIPTION_CHARS characters, mid-word) where that folder is
 * there: the same series (the same hash), so a rerun finds what it finished and goes on in it.
 */
export function seriesFolderIn(outDir: string, series: Series): string {
  const name = outputFolderName(series);
  const earlier = folderName(series, folderWords(series.seriesDescription).slice(0, FOLDER_DESCRIPTION_CHARS));
  return earlier !== name && existsSync(path.join(outDir, earlier)) ? earlier : name;
}

/** A description as folder names have it: lowercase a-z / 0-9 words joined by `-`. */
function folderWords(description: string): string {
  return description
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

function folderName(series: Series, description: string): string {
  const hash = createHash('sha256').update(series.petFrame?.acquisitionKey ?? series.key).digest('hex').slice(0, 10);
  return [series.modality.toLowerCase(), description, hash].filter(Boolean).join('-');
}

export async function denoisePaths(paths: readonly string[], options: DenoiseOptions): Promise<DenoiseReport> {
  // Of the files that cannot be read, a sample is kept and all are counted: a folder of junk makes
  // a report.json of a few entries, not one per file (src/util/code-sample.ts). Where report.json
  // is written, every one goes to the whole list beside it as the scan meets it (unreadable.tsv,
  // src/util/error-list-file.ts).
  const unreadable = options.writeReport !== false && options.onUnreadable === undefined ? ErrorListFile.open() : null;
  try {
    return await denoiseScanned(paths, options, unreadable);
  } finally {
    await unreadable?.discard();
  }
}

async function denoiseScanned(paths: readonly string[], options: DenoiseOptions, unreadable: ErrorListFile | null): Promise<DenoiseReport> {
  const log = options.log ?? (() => {});
  const outDir = path.resolve(options.outDir);
  const tell = options.onUnreadable ?? (unreadable ? (entry: DenoiseReport['errors'][number]) => unreadable.add(entry) : null);
  const onError = tell ? { onError: (e: LowdoseError) => tell(e.toJSON()) } : {};
  // A signal during the scan stops it between files (E_CANCELLED, nothing written: no series was listed).
  const scan = await scanPaths(paths, { listedPerCode: LISTED_PER_CODE, ...onError, ...(options.signal ? { signal: options.signal } : {}) });
  const errors = CodeSample.of<DenoiseReport['errors'][number]>(scan.errors.map((e) => e.toJSON()), scan);
  // An -o inside an input folder holds this command's own earlier output: not input. (Its rerun
  // found the finished series there and refused them as input files inside -o.)
  const ownOutput = (s: Series) => outputInsideInput(paths, outDir) && s.slices.every((slice) => isInside(path.resolve(slice.file), outDir));
  const inputs: Series[] = [];
  for (const s of scan.series) {
    if (ownOutput(s)) log(`leaving out series ${s.seriesInstanceUid} in the output folder ${outDir}: not an input`);
    else inputs.push(s);
  }
  const { wanted: candidates, skipped } = seriesToDenoiseIn(inputs, { includeDerived: Boolean(options.includeDerived), log });
  if (candidates.length === 0) {
    const derived = skipped.some((s) => s.reason === 'derived');
    const why = (derived ? ' (only series lowdose derived: --include-derived denoises them)' : scan.series.length > 0 ? ' (only other modalities)' : '') + scanProblems(scan);
    throw new NothingToDenoiseError(`no CT or PET series found in ${paths.join(', ')}${why}`, nothingToDenoiseScan(scan, skipped));
  }
  const skippedField = skipped.length > 0 ? { skipped } : {};
  options.onSeriesList?.(candidates.map((s) => ({ seriesInstanceUid: s.seriesInstanceUid, modality: s.modality, slices: s.slices.length })));
  const inputFiles = new Set(candidates.flatMap((s) => s.slices.map((slice) => path.resolve(slice.file))));
  if ([...inputFiles].some((file) => isInside(file, outDir))) {
    throw new LowdoseError('E_USAGE', `output directory ${outDir} contains input files; choose another -o`);
  }

  // Before any work (no lock taken, no folder made): every series must fit the memory budget.
  const budget = resolveMemoryBudget(options.memoryBudget);
  const plans = await checkJobMemory(candidates.map(seriesShapeOf), options, budget);
  const planOf = new Map(candidates.map((s, i) => [s.key, plans[i] ?? null]));
  const limits = forwardLimits(candidates, plans);

  // Each series' folder, once: an earlier lowdose's name where that folder is there (seriesFolderIn).
  const folders = new Map(candidates.map((s) => [s, seriesFolderIn(outDir, s)]));
  const folderOf = (s: Series): string => folders.get(s)!;
  const lockDirOf = (s: Series) => {
    const folder = folderOf(s);
    return path.resolve(seriesOutputNames(s, folder).lockPath(path.join(outDir, folder)));
  };
  const locks = await acquireFolderLocks(
    candidates.map(lockDirOf),
    { wait: Boolean(options.waitLock), log, ...(options.signal ? { signal: options.signal } : {}), ...(options.queueLock ? { queue: options.queueLock } : {}) },
  );
  const denoisers = new Map<string, SliceDenoiser>();
  const denoiserPlans = new Map<string, SliceDenoiserPlan>();
  const reports: SeriesReport[] = [];
  // report.json lists this run's series, then those earlier runs left finished in outDir (./folder-report.ts).
  const folderReport = options.writeReport !== false ? new FolderReport(outDir) : null;
  const lockOf = (s: Series): FolderLock | null => locks.find((lock) => lock.dir === lockDirOf(s)) ?? null;
  const reportLocks = new Map<SeriesReport, FolderLock | null>();
  /**
   * report.json lists as this run's only series whose folder it still holds: before each write, a
   * series whose lock another run took over since it was finished moves to the errors (E_LOCKED).
   */
  const dropLost = async (list: SeriesReport[]): Promise<void> => {
    for (const [i, done] of [...list.entries()].reverse()) {
      const lock = reportLocks.get(done);
      const lostBy = lock ? await lock.assertHeld().then(() => null, (error: unknown) => toLowdoseError(error)) : null;
      if (lostBy?.code !== 'E_LOCKED') continue;
      list.splice(i, 1);
      log(`series ${done.input.seriesInstanceUid}: ${lostBy.message}`);
      errors.keep({ ...lostBy.toJSON(), path: lostBy.path ?? done.output.dir });
    }
  };
  // One --overwrite request for every frame of this run (a queue job is given its batch's).
  const overwriteRequest = options.overwrite ? (options.overwriteRequest ?? newOverwriteRequest()) : null;
  const lockContext = { ...(options.queueLock ? { queue: options.queueLock } : {}), ...(options.signal ? { signal: options.signal } : {}) };
  const acquisitions = heldFrames(candidates, outDir, folderOf);
  let finished = false;
  /** Sweeps each acquisition folder and releases its frames' locks (./acquisition-series.ts); the frames removed, by folder. */
  const finishAcquisitions = async (): Promise<Map<string, string[]>> => {
    finished = true;
    const removed = new Map<string, string[]>();
    for (const dir of acquisitions.keys()) {
      const own = locks.filter((lock) => path.dirname(lock.dir) === dir && acquisitions.get(dir)!.has(path.basename(lock.dir)));
      removed.set(dir, await finishAcquisition(dir, own, { lock: lockContext, log }));
    }
    return removed;
  };
  try {
    const reference = options.reference?.length ? await openReference(options.reference, log, onError.onError) : null;
    if (reference) errors.absorb(reference.errors, reference);
    // Every file the scans could not read, named in each report.json written from here on.
    const errorsFile = unreadable ? await unreadable.publish(outDir) : null;
    const errorsFileField = errorsFile ? { errorsFile } : {};
    for (const [seriesIndex, series] of candidates.entries()) {
      // Stopped (SIGINT, a cancelled job): the series not started are in the errors as not run.
      if (options.signal?.aborted) {
        errors.keep({ code: 'E_CANCELLED', message: `series ${series.seriesInstanceUid} was not run: ${stopReason(options.signal)}`, path: series.slices[0]?.file ?? null });
        continue;
      }
      try {
        // A signal while the model's files are read (its plan hashes them, its load opens them)
        // stops the read: the series has not begun (no folder, no file).
        const stoppedWhileLoading = (error: unknown): never => {
          if (!options.signal?.aborted) throw error;
          throw new LowdoseError('E_CANCELLED', `series ${series.seriesInstanceUid} was not run: it was stopped while its model was loading (${stopReason(options.signal)}); nothing of it was written`, {
            path: series.slices[0]?.file ?? '',
          });
        };
        // What the run makes, from the model card: a series finished so is skipped without loading the model.
        const plan = await denoiserPlanFor(series, options, denoiserPlans).catch(stoppedWhileLoading);
        const loadDenoiser = () => denoiserFor(series, plan, options, denoisers, log, limits).catch(stoppedWhileLoading);
        const report = await denoiseSeries(series, plan, loadDenoiser, {
          ...options,
          outDir,
          seriesIndex,
          seriesCount: candidates.length,
          reference,
          log,
          memory: planOf.get(series.key) ?? null,
          overwriteRequest,
          lock: lockOf(series),
          folder: folderOf(series),
          acquisition: { held: acquisitions.get(path.join(outDir, folderOf(series))) ?? new Set(), lock: lockContext, log },
        });
        reports.push(report);
        reportLocks.set(report, lockOf(series));
      } catch (error) {
        // Stopped while this series was being written (denoiseSeries names its folder and what it wrote).
        const stopped = isAbort(error, options.signal);
        const e = stopped
          ? isLowdoseError(error) && error.code === 'E_CANCELLED' && error.path !== undefined
            ? error
            : new LowdoseError('E_CANCELLED', `series ${series.seriesInstanceUid} was stopped: ${stopReason(options.signal)}`, { path: series.slices[0]?.file ?? '' })
          : toLowdoseError(error, 'E_INTERNAL', series.slices[0]?.file);
        log(stopped ? `${e.message} [${e.code}]` : `series ${series.seriesInstanceUid} failed: ${e.message} [${e.code}]`);
        errors.keep({ ...e.toJSON(), path: e.path ?? series.slices[0]?.file ?? null });
      } finally {
        clearSliceCache();
      }
      if (folderReport) {
        await dropLost(reports);
        await folderReport.write({ toolkit: toolkitIdentity(), series: reports, errors: errors.items, ...errors.counted(), ...errorsFileField, ...skippedField });
      }
    }
    // Before the frames' locks are released with their acquisitions.
    await dropLost(reports);
    // A frame this run finished whose series another run's --overwrite replaced since is gone now.
    const removed = await finishAcquisitions();
    const kept = reports.filter((r) => {
      const frame = r.input.petFrame;
      if (!frame || !removed.get(r.output.dir)?.includes(frame.tag)) return true;
      errors.keep({
        code: 'E_LOCKED',
        message: `${r.output.dir}: another run's --overwrite replaced this acquisition's derived series; frame ${frame.tag} written under the replaced one was removed`,
        path: r.output.dir,
      });
      return false;
    });
    const report: DenoiseReport = { toolkit: toolkitIdentity(), series: kept, errors: errors.items, ...errors.counted(), ...errorsFileField, ...skippedField };
    if (folderReport) await folderReport.write(report);
    // The record is written (finished series, the one stopped, those not run); the caller learns it was stopped.
    if (options.signal?.aborted) throw new RunStopped(report, `denoise stopped: ${stopReason(options.signal)}`);
    return report;
  } finally {
    for (const denoiser of denoisers.values()) await denoiser.release();
    if (!finished) await finishAcquisitions().catch((error: unknown) => log(`releasing the frames' locks: ${toLowdoseError(error).message}`));
    await releaseAll(locks);
  }
}

/** The frames of each acquisition this run writes (and holds the locks of): output folder -> frame tags. */
function heldFrames(candidates: readonly Series[], outDir: string, folderOf: (s: Series) => string): Map<string, Set<string>> {
  const frames = new Map<string, Set<string>>();
  for (const s of candidates) {
    if (!s.petFrame) continue;
    const dir = path.join(outDir, folderOf(s));
    frames.set(dir, (frames.get(dir) ?? new Set()).add(frameTag(s.petFrame)));
  }
  return frames;
}

/** Whether `file` lies strictly below `dir`. */
function isInside(file: string, dir: string): boolean {
  return path.resolve(file) !== path.resolve(dir) && isPathWithin(file, dir);
}

/** Whether the output folder lies strictly inside one of the input folders. */
function outputInsideInput(paths: readonly string[], outDir: string): boolean {
  return paths.some((p) => isInside(outDir, path.resolve(p)));
}

function isAbort(error: unknown, signal?: AbortSignal): boolean {
  return Boolean(signal?.aborted) || (error instanceof Error && error.name === 'AbortError');
}

/** One plan per modality (the card read, the model files hashed: ./slice-denoiser.ts planSliceDenoiser). */
async function denoiserPlanFor(series: Series, options: DenoiseOptions, cache: Map<string, SliceDenoiserPlan>): Promise<SliceDenoiserPlan> {
  const modality = series.modality as 'CT' | 'PT';
  const cached = cache.get(modality);
  if (cached) return cached;
  const plan = await planSliceDenoiser(modality, options);
  cache.set(modality, plan);
  return plan;
}

/**
 * One denoiser per modality (a model session is expensive to open), loaded when a series is first
 * to be denoised; its model files are not hashed again where `plan` hashed them as they still are.
 */
async function denoiserFor(
  series: Series,
  plan: SliceDenoiserPlan,
  options: DenoiseOptions,
  cache: Map<string, SliceDenoiser>,
  log: (message: string) => void,
  limits: ReadonlyMap<string, number>,
): Promise<SliceDenoiser> {
  const modality = series.modality as 'CT' | 'PT';
  const cached = cache.get(modality);
  if (cached) return cached;
  const maxForwardPixels = limits.get(modality);
  const denoiser = await createSliceDenoiser(modality, options, log, maxForwardPixels === undefined ? {} : { maxForwardPixels }, plan);
  cache.set(modality, denoiser);
  return denoiser;
}

interface SeriesContext extends Omit<DenoiseOptions, 'reference' | 'overwriteRequest'> {
  readonly outDir: string;
  /** The series' folder in `outDir` (seriesFolderIn). */
  readonly folder: string;
  readonly seriesIndex: number;
  readonly seriesCount: number;
  readonly reference: ReferenceSet | null;
  readonly log: (message: string) => void;
  /** The memory plan the series was admitted with. */
  readonly memory: MemoryPlan | null;
  /** The run's --overwrite request, null without --overwrite. */
  readonly overwriteRequest: OverwriteRequest | null;
  /** For a frame of an acquisition: what the run holds of its folder. */
  readonly acquisition: AcquisitionContext;
  /** The lock of the series' output folder: checked before each file the series writes (null: none taken). */
  readonly lock: FolderLock | null;
}

/**
 * Denoises `series` into its folder, or hands back its finished output there when that was made as
 * `plan` says this run makes it: the model is loaded (`loadDenoiser`) only for a series to denoise.
 */
async function denoiseSeries(
  series: Series,
  plan: SliceDenoiserPlan,
  loadDenoiser: () => Promise<SliceDenoiser>,
  context: SeriesContext,
): Promise<SeriesReport> {
  const folder = context.folder;
  const dir = path.join(context.outDir, folder);
  const names = seriesOutputNames(series, folder);
  const markerPath = path.join(dir, names.marker);
  // A simulated series whose run stopped half way (no completion marker) reads as a reading warning.
  const incomplete = await simulationMarkerWarning(series);
  const seriesWarnings = [...series.warnings.map((w) => w.toJSON()), ...(incomplete ? [incomplete] : [])];
  /** Throws E_LOCKED once another run took the folder over (src/util/folder-lock.ts): nothing more is written. */
  const held = async () => {
    await context.lock?.assertHeld();
  };
  /** Cancelled, or the lock found lost by a heartbeat: stop before the next batch. */
  const stopIfAsked = () => {
    context.signal?.throwIfAborted?.();
    context.lock?.lost.throwIfAborted();
  };
  // Under this run's lock, a temporary of ours can only be what a killed run left.
  // The frames of an acquisition share the folder: only this frame's are ours.
  await held();
  const leftovers =
    (await removeTemporaries(dir, names.owns)) +
    (await removeTemporaries(path.join(dir, 'uncertainty'), names.owns)) +
    (await removeTemporaries(path.join(context.outDir, 'previews'), names.preview));
  if (leftovers > 0) context.log(`removed ${leftovers} temporary file(s) an interrupted run left in ${dir}`);
  // A frame finished under a series that another run's --overwrite replaced is not finished.
  const previous = !context.overwrite && existsSync(markerPath) ? await finishedMarker(markerPath, series.petFrame ? dir : null, context.log) : null;
  const paddingFill = context.paddingFill ?? DEFAULT_PADDING_FILL;
  if (previous) {
    // What the marker does not record (an older lowdose's) is not compared (./made-with.ts).
    const differs = madeWithDifference(madeWithOfReport(previous), madeWithOf(plan, paddingFill));
    if (differs !== '') {
      // Skipping would hand back another method's, setting's or model file's output as this run's result.
      throw new LowdoseError(
        'E_EXISTS',
        `${dir} holds this series finished with other settings (${previous.settings}); this run asks for ` +
          `${plan.method === 'diffusion' ? `(${plan.derivationDescription})` : plan.method} (${differs}): give another -o, or --overwrite to replace it`,
        { path: dir },
      );
    }
    // Skipping would hand back a series without the uncertainty series or map this run asks for
    // (./extra-outputs.ts): they come from the same samples, so only redoing it can add them.
    const lacks = missingExtraOutputs(extraOutputsOfReport(previous), extraOutputsOfDenoiser(plan, context), plan.uncertainty?.units ?? null);
    if (lacks !== '') {
      throw new LowdoseError(
        'E_EXISTS',
        `${dir} holds this series finished ${lacks}: skipping it would not give what this run asks for; use --overwrite to redo it, or give another -o`,
        { path: dir },
      );
    }
    // Skipping would hand back output made from other input (./input-content.ts).
    const otherInput = await inputDifference(previous, series, context.log);
    if (otherInput !== '') {
      throw new LowdoseError(
        'E_EXISTS',
        `${dir} holds this ${series.petFrame ? `time point or gate (${names.frameTag})` : 'series'} finished from other input than this run's (${otherInput}): ` +
          `skipping it would hand back output made from that input; use --overwrite to redo it from this input, or give another -o`,
        { path: dir },
      );
    }
    context.log(`${series.modality} series ${series.petFrame ? series.key : series.seriesInstanceUid}: already done in ${dir} (use --overwrite to redo)`);
    context.onProgress?.({
      seriesIndex: context.seriesIndex,
      seriesCount: context.seriesCount,
      seriesKey: series.key,
      slicesDone: series.slices.length,
      slicesTotal: series.slices.length,
    });
    // A marker from an older version has no warnings: the series as read now says what they are,
    // the marker what writing it repaired, and the settings' own (RUN_WARNING_CODES) those of the
    // run that made the output.
    const written = (previous.warnings ?? []).filter((w) => w.code.startsWith('W_') || RUN_WARNING_CODES.has(w.code));
    // The input is this run's: the files it read (a PACS pull's folder of the first run is gone, a
    // folder may have moved), with the content the marker recorded, which it has just matched.
    // Not the PACS address its marker names (./frame-output.ts ReportedInput.url): a PACS run names its own (./remote-denoise.ts withPacsInput).
    const { url: _markerUrl, ...recorded } = previous.input;
    const input = { ...recorded, ...reportedInput(series) };
    if (!context.reference) return { ...previous, input, warnings: [...seriesWarnings, ...written], skipped: true };
    // This run's --reference scores the finished files: the first run's scores were against
    // another reference, or none; so are the first run's warnings about its reference.
    const { metrics: _metrics, unscoredReference: _unscored, ...made } = previous;
    const { warnings: referenceWarnings, ...scored } = await scoreFinishedSeries(
      context.reference,
      series,
      previous.output?.files ?? [],
      context.log,
      partsOfReported(previous.output?.series ?? [], series),
    );
    const madeByWriting = written.filter((w) => !REFERENCE_MISMATCH_CODES.has(w.code));
    return { ...made, ...scored, input, warnings: [...seriesWarnings, ...madeByWriting, ...referenceWarnings], skipped: true };
  }
  const denoiser = await loadDenoiser();
  const warnings = [...seriesWarnings, ...denoiser.warnings, ...denoiser.seriesWarnings(series)];
  const madeWith = madeWithOf(denoiser, paddingFill);
  // What this run writes besides the denoised series (the conditions of the writers below).
  const extras = extraOutputsOfDenoiser(denoiser, context);
  // Redoing a finished series: until it is finished again, it is not (a run killed half way
  // through an --overwrite must not leave old and new slices under the old marker).
  await held();
  await rm(markerPath, { force: true });
  // A frame of an acquisition adds its files to the acquisition's derived series.
  const shared: AcquisitionUids | null = series.petFrame
    ? await acquisitionUids(dir, series.petFrame.acquisitionKey, madeWith, context.overwriteRequest, {
        ...context.acquisition,
        extras: { outputs: extras, units: denoiser.uncertainty?.units ?? null },
      })
    : null;
  await denoiser.prepare(series);
  const count = series.slices.length;
  context.log(
    `${series.modality} series "${series.seriesDescription || series.seriesInstanceUid}"${names.frameTag ? ` ${names.frameTag}` : ''}: ${count} slices ${series.columns}x${series.rows} -> ${dir}`,
  );
  // Files without a completion marker are our own interrupted output: replace them. All of them,
  // not only those this run writes over: a series with fewer slices now (a slice removed from the
  // input, a file the scan can no longer read) would keep the earlier run's last slices beside the
  // new ones, and a frame's earlier uncertainty series or hallucination map (and the map's overlay
  // PNGs, `slice-0001.png` / `t01-slice-0001.png`) beside a run that writes none or flags other slices.
  await held();
  const overlayPrefix = `${names.frameTag ? `${names.frameTag}-` : ''}slice-`;
  const removed = await replaceEarlierSeriesFiles(
    [
      { dir, prefix: names.filePrefix },
      { dir: path.join(dir, 'uncertainty'), prefix: names.filePrefix },
      { dir: path.join(dir, 'hallucination', 'map'), prefix: names.filePrefix },
      { dir: path.join(dir, 'hallucination', 'overlays'), prefix: overlayPrefix, extension: '.png' },
    ],
    series.slices.map((slice) => slice.file),
    true,
  );
  if (removed > 0) context.log(`removed ${removed} file(s) an earlier run of this series left in ${dir}`);
  const overwrite = true;
  // Each series' files name the marker that says its run finished it (./output-markers.ts), and the
  // writer adds how many files the series has: a folder copied alone or pulled from a PACS without
  // the marker is judged by that count, never read as a shorter finished result.
  const equipment = markedEquipment(denoiser.equipment, names.marker);
  const writer = createDerivedSeriesWriter(series, {
    outDir: dir,
    derivationDescription: denoiser.derivationDescription,
    equipment: equipment.denoised,
    seriesDescriptionSuffix: ` ${denoiser.descriptionSuffix}`,
    filePrefix: names.filePrefix,
    ...(shared ? { seriesInstanceUid: shared.denoised } : {}),
    overwrite,
  });
  // With --uncertainty the series holds the calibrated sigma, else the raw ensemble spread.
  const calibration = context.uncertainty ? denoiser.uncertainty : null;
  const uncertaintyWriter: DerivedSeriesWriter | null = denoiser.samples > 1
    ? createDerivedSeriesWriter(series, {
        outDir: path.join(dir, 'uncertainty'),
        derivationDescription: calibration
          ? `calibrated uncertainty (error SD) = sqrt(${calibration.spreadScale}^2 std^2 + ${calibration.noiseScale}^2 boxmean((input-output)^2, ${calibration.noiseWindowMm} mm)${
              calibration.noiseLevelScale ? ` + ${calibration.noiseLevelScale}^2 ${roundTo(denoiser.inputNoise ?? 0, 2)}^2 (the series' noise SD)` : ''
            }), std over ${denoiser.samples} samples; ${denoiser.derivationDescription}`
          : `per-pixel standard deviation over ${denoiser.samples} samples; ${denoiser.derivationDescription}`,
        equipment: equipment.uncertainty,
        seriesDescriptionSuffix: ` ${denoiser.descriptionSuffix} uncertainty`,
        // Its own window: the source's (a soft-tissue or lung window) shows σ of 5 to 125 HU nearly black.
        // One rule with the viewer's uncertainty pane and the server figure's (src/dicom/sigma-window.ts).
        window: (pixels, padding) => uncertaintySliceWindow(pixels, padding, calibration?.threshold ?? null, calibration?.units ?? series.units),
        filePrefix: names.filePrefix,
        ...(shared ? { seriesInstanceUid: shared.uncertainty } : {}),
        overwrite,
      })
    : null;
  const summary = calibration ? new UncertaintySummary(series, calibration.threshold, calibration.units) : null;
  const sfrcOptions = context.hallucination ? resolveSfrcOptions() : null;
  const hallucination =
    sfrcOptions && denoiser.uncertainty
      ? new HallucinationRecorder(series, {
          outDir: path.join(dir, 'hallucination'),
          sfrc: sfrcOptions,
          against: 'samples',
          equipment: equipment.hallucination,
          description: `one half of a ${denoiser.samples}-sample ensemble against the other, kept where the calibrated SD > ${denoiser.uncertainty.threshold} ${denoiser.uncertainty.units}; ${denoiser.derivationDescription}`,
          ...(shared && names.frameTag ? { shared: { seriesInstanceUid: shared.hallucination, frameTag: names.frameTag } } : {}),
        })
      : null;
  const referenceMatch = context.reference ? await ReferenceScorer.create(context.reference, series, context.log, writer.parts) : null;
  const scorer = referenceMatch?.scorer ?? null;
  const previewIndex = Math.floor((count - 1) / 2);
  const previews: string[] = [];

  const batchSize = Math.max(1, context.batch ?? 1);
  // Each slice's digests as read (./input-content.ts), recorded in the marker for a rerun to compare.
  const readings: SliceReading[] = [];
  const window = new SliceWindow(series, denoiser.neighbours, paddingFill, (index, read) => {
    readings[index] = sliceReading(series, index, read);
  });
  const batchIndices = (first: number) => Array.from({ length: Math.min(batchSize, count - first) }, (_, k) => first + k);
  /** The slices a batch reads: its own and, for 2.5D models, the neighbours at either end. */
  const reads = (indices: readonly number[]) =>
    denoiser.neighbours ? [...new Set(indices.flatMap((i) => [Math.max(0, i - 1), i, Math.min(count - 1, i + 1)]))] : indices;
  // Output arrays, one set per batch that can be alive at once, used in turn: one batch's are
  // written to disk while the next is in the network and the one after is being prepared.
  const outputSets = Array.from({ length: DENOISE_PIPELINE.batchesInFlight + 1 }, () =>
    Array.from({ length: batchSize }, () => new Float32Array(series.rows * series.columns)),
  );

  /** Writes one denoised batch (and its uncertainty, metrics, preview) and reports progress. */
  const finish = async (indices: readonly number[], inputs: readonly WindowSlice[], result: SliceBatchResult): Promise<void> => {
    for (const [k, index] of indices.entries()) {
      const { image: input, filled } = inputs[k]!;
      const { output, sigma, map: std } = sliceOutputs(result.denoised[k]!, result.std?.[k], input, filled, denoiser.uncertainty, calibration !== null, denoiser.inputNoise);
      await held();
      await writer.writeSlice(index, output, input.padding);
      if (uncertaintyWriter && std) await uncertaintyWriter.writeSlice(index, std, input.padding);
      // The summary counts sigma as the uncertainty series holds it (that series is sigma when
      // there is a summary): a pixel 0.01 HU above the threshold is stored on it, and read back
      // it is not above.
      if (summary && sigma) {
        summary.add(index, uncertaintyWriter ? uncertaintyWriter.asWritten(index, sigma) : sigma, input.data, input.padding ?? null);
      }
      const members = result.samples?.[k];
      if (hallucination && sfrcOptions && members && sigma && denoiser.uncertainty) {
        const halves = ensembleHalves(members);
        const found = sfrcSlice(
          { rows: series.rows, columns: series.columns, test: halves[0], reference: halves[1], pixelSpacing: input.pixelSpacing, units: series.units, padding: input.padding ?? null },
          sfrcOptions,
        );
        await hallucination.add(index, gateBySigma(found, sigma, input.padding, series.columns, sfrcOptions.patchSize, denoiser.uncertainty.threshold), [output, input.data]);
      }
      if (scorer) await scorer.add(index, input, output);
      if (index === previewIndex) {
        previews.push(
          await writePreview(path.join(context.outDir, 'previews', names.preview), series, input.data, output, std),
        );
      }
    }
    context.onProgress?.({
      seriesIndex: context.seriesIndex,
      seriesCount: context.seriesCount,
      seriesKey: series.key,
      slicesDone: indices[indices.length - 1]! + 1,
      slicesTotal: count,
    });
  };

  const started = performance.now();
  const forwardBefore = denoiser.forwardMs;
  // A progress display starts its clock at the series' first event: without this one it would
  // start after the first batch and count that batch's slices as taking no time (a one-batch
  // series showed 1000 slices/s).
  context.onProgress?.({ seriesIndex: context.seriesIndex, seriesCount: context.seriesCount, seriesKey: series.key, slicesDone: 0, slicesTotal: count });
  // Pipelined: the network runs on its own thread (src/runtime/worker-session.ts). While batch k is
  // in it, this thread has already mapped batch k + 1 into model space and drawn its noise (its
  // sampling run waits for the network at its first forward pass), maps batch k - 1 back and
  // writes its files, and libuv's thread pool reads the files of batch k + 2.
  type InFlight = { indices: number[]; inputs: WindowSlice[]; result: Promise<SliceBatchResult> };
  const inFlight: InFlight[] = [];
  let writing = null as Promise<void> | null;
  /** Waits for the oldest batch in flight and starts writing it once the one before is written. */
  const retireOldest = async (): Promise<void> => {
    const oldest = inFlight.shift()!;
    const result = await oldest.result;
    // Cancelled (or the lock lost) meanwhile: write nothing more (the files written so far are whole; no marker).
    stopIfAsked();
    // The previous batch must be written before this one starts (file order, progress order),
    // and before a later batch's denoising reuses its output arrays.
    await writing;
    writing = finish(oldest.indices, oldest.inputs, result);
    // Awaited next turn (or below); a failure meanwhile must not count as unhandled.
    writing.catch(() => undefined);
  };
  try {
    try {
      for (let first = 0, turn = 0; first < count; first += batchSize, turn++) {
        stopIfAsked();
        const indices = batchIndices(first);
        const inputs = await Promise.all(indices.map((i) => window.get(i)));
        const neighbours = denoiser.neighbours
          ? await Promise.all(indices.map(async (i) => [await window.get(Math.max(0, i - 1)), await window.get(Math.min(count - 1, i + 1))] as const))
          : null;
        if (first + batchSize < count) for (const i of reads(batchIndices(first + batchSize))) void window.get(i).catch(() => undefined);
        // The denoiser sees padding filled with tissue-neutral values; the outputs get the input's
        // padding back bit for bit (docs/dicom-writing.md, "Padding and out-of-field pixels").
        const result = denoiser.denoise(
          indices.map((index, k) => ({
            index,
            image: inputs[k]!.filled,
            padding: inputs[k]!.image.padding ?? null,
            below: neighbours?.[k]?.[0].filled ?? null,
            above: neighbours?.[k]?.[1].filled ?? null,
          })),
          outputSets[turn % outputSets.length]!.slice(0, indices.length),
        );
        // Awaited by retireOldest (or abandoned below); a failure meanwhile must not count as unhandled.
        result.catch(() => undefined);
        inFlight.push({ indices, inputs, result });
        window.release(first + indices.length - 1);
        if (inFlight.length >= DENOISE_PIPELINE.batchesInFlight) await retireOldest();
      }
      while (inFlight.length > 0) await retireOldest();
      await writing;
    } finally {
      // A failed or cancelled series lets the batches still in the sampler and the one being written
      // finish (or fail) before it is given up: nothing is left writing into the folder afterwards.
      await Promise.all(inFlight.map((batch) => batch.result.catch(() => undefined)));
      await writing?.catch(() => undefined);
    }
  } catch (error) {
    // Stopped (SIGINT, a cancelled job): the slices written so far are whole files, but without its
    // completion marker the series is not finished: report.json does not list it and a rerun into
    // the same -o removes them and redoes it.
    if (!context.signal?.aborted) throw error;
    const what = `${series.modality} series ${series.seriesInstanceUid}${names.frameTag ? ` ${names.frameTag}` : ''}`;
    throw new LowdoseError(
      'E_CANCELLED',
      `${what} was stopped after ${writer.files.length} of ${count} slices (${stopReason(context.signal)}): it is not finished (no completion marker in ${dir}); a rerun into the same -o redoes it`,
      { path: dir },
    );
  }
  const modelMs = denoiser.forwardMs - forwardBefore;
  const content = inputContentOf(series, readings);
  const elapsed = performance.now() - started;
  const report: SeriesReport = {
    input: { ...reportedInput(series), ...(content ? { content } : {}) },
    output: { seriesInstanceUid: writer.seriesInstanceUid, ...severalSeries(writer), ...reportedOutputSeries(writer, series), dir, files: writer.files },
    ...(uncertaintyWriter
      ? {
          uncertainty: {
            seriesInstanceUid: uncertaintyWriter.seriesInstanceUid,
            dir: uncertaintyWriter.dir,
            files: uncertaintyWriter.files,
            ...(calibration && summary
              ? {
                  calibrated: true,
                  calibration: { ...calibration, ...(denoiser.inputNoise !== null ? { inputNoise: roundTo(denoiser.inputNoise, 3) } : {}) },
                  summary: summary.seriesSummary(),
                  slices: summary.perSlice(),
                }
              : { calibrated: false }),
          },
        }
      : {}),
    ...(hallucination ? { hallucination: hallucination.summary() } : {}),
    extraOutputs: extras,
    previews,
    method: denoiser.method,
    model: denoiser.modelName,
    modelFingerprint: denoiser.modelFingerprint,
    paddingFill,
    toolkit: toolkitIdentity(),
    settings: denoiser.derivationDescription,
    device: denoiser.device,
    ...(denoiser.deviceReport ? { deviceReport: denoiser.deviceReport } : {}),
    steps: denoiser.steps,
    seed: denoiser.seed,
    samples: denoiser.samples,
    guidance: denoiser.guidance,
    orientations: denoiser.orientations,
    ...(denoiser.method === 'diffusion' ? { consistency: denoiser.consistency, lowBand: denoiser.lowBand } : {}),
    texture: denoiser.texture,
    msPerSlice: roundTo(elapsed / count, 2),
    ...(denoiser.method === 'diffusion' ? { modelMsPerSlice: roundTo(modelMs / count, 2) } : {}),
    ...(context.memory
      ? { memory: { estimateBytes: context.memory.bytes, budgetBytes: context.memory.budgetBytes, forwardBatch: context.memory.forwardBatch } }
      : {}),
    ...(scorer ? { metrics: scorer.result() } : {}),
    ...(referenceMatch?.unscored ? { unscoredReference: referenceMatch.unscored } : {}),
    // Reading warnings, then what writing repaired or dropped (the uncertainty series copies the same
    // sources), then a --reference of another reconstruction (kernel, slice thickness).
    warnings: [...warnings, ...writer.warnings.map((w) => w.toJSON()), ...(referenceMatch?.warnings ?? [])],
  };
  // A PACS run's input is named by its address: the pull folder's files are temporary.
  const pacsUrl = context.pacsInputUrl?.(series) ?? null;
  const marker: SeriesReport = pacsUrl === null ? report : { ...report, input: { ...report.input, files: [], url: pacsUrl } };
  const writeMarker = async () => {
    await held();
    await writeFileAtomic(markerPath, `${JSON.stringify(marker, null, 2)}\n`);
  };
  // A frame is marked finished only if the acquisition's series is still the one it was written under.
  if (shared) await commitFrame(dir, shared, writeMarker, context.acquisition);
  else await writeMarker();
  return report;
}

/**
 * The completion marker's report, or null when it does not count as finished: for a frame (`acquisitionDir`
 * given), when it names another series than the acquisition's recorded one.
 */
async function finishedMarker(markerPath: string, acquisitionDir: string | null, log: (message: string) => void): Promise<SeriesReport | null> {
  const previous = JSON.parse(await readFile(markerPath, 'utf8')) as SeriesReport;
  if (acquisitionDir === null) return previous;
  const recorded = await readAcquisitionUids(acquisitionDir);
  if (finishedUnder(previous, recorded)) return previous;
  log(`${path.basename(markerPath)}: written under series ${previous.output?.seriesInstanceUid}, not the acquisition's ${recorded?.denoised}: redoing the frame`);
  return null;
}

/**
 * How the input of a finished series (its completion marker's `input.content`) differs from the
 * series as it is now, for a message; empty when it is the same, or when the marker (an older
 * lowdose's) does not record it. The slice UIDs are compared first, without reading a pixel.
 */
async function inputDifference(previous: SeriesReport, series: Series, log: (message: string) => void): Promise<string> {
  const recorded = previous.input?.content;
  if (!isInputContent(recorded)) {
    log(`${series.key}: the completion marker does not record its input's content (an older lowdose wrote it): the input is not compared`);
    return '';
  }
  const bySet = sliceSetDifference(recorded, series);
  if (bySet !== '') return bySet;
  if (!recordsHeader(recorded)) {
    log(`${series.key}: the completion marker does not record its input's header attributes (an older lowdose wrote it): only the pixels are compared`);
  }
  return inputContentDifference(recorded, await readInputContent(series));
}

/** The means of the first and the second half of an ensemble's members: two independent estimates. */
function ensembleHalves(members: readonly Float32Array[]): [Float32Array, Float32Array] {
  const half = Math.floor(members.length / 2);
  const mean = (list: readonly Float32Array[]) => {
    const out = new Float32Array(list[0]!.length);
    for (const m of list) for (let i = 0; i < out.length; i++) out[i] = out[i]! + m[i]! / list.length;
    return out;
  };
  return [mean(members.slice(0, half)), mean(members.slice(half, 2 * half))];
}

/**
 * Keeps an sFRC flag only where the calibrated uncertainty agrees: the patch's mean sigma is above
 * the threshold. Sample disagreement on structure alone may be a small wobble the error budget
 * does not notice; a large sigma alone is noise, not invention.
 */
function gateBySigma(
  result: SfrcSliceResult,
  sigma: Float32Array,
  padding: Uint8Array | null | undefined,
  columns: number,
  size: number,
  threshold: number,
): SfrcSliceResult {
  const patches = result.patches.map((p) => {
    if (!p.flagged) return p;
    // The patch's mean sigma over its image pixels (padding is not image).
    let sum = 0;
    let count = 0;
    for (let y = p.row; y < p.row + size; y++) {
      for (let x = p.column; x < p.column + size; x++) {
        if (padding?.[y * columns + x]) continue;
        sum += sigma[y * columns + x]!;
        count++;
      }
    }
    return count > 0 && sum / count > threshold ? p : { ...p, flagged: false };
  });
  return { ...result, patches };
}

/** A slice as read (values and padding mask) and as the denoiser sees it (padding filled). */
interface WindowSlice {
  readonly image: Image2D;
  readonly filled: Float32Array;
}

/**
 * Slices read on demand and kept only while a batch (and its neighbours) needs them: memory stays
 * at a few slices whatever the series length.
 */
class SliceWindow {
  private readonly cache = new Map<number, Promise<WindowSlice>>();

  constructor(
    private readonly series: Series,
    private readonly neighbours: boolean,
    private readonly fill: PaddingFill,
    /** Told of each slice as read (with the file and stored values it was read from), before anything uses it. */
    private readonly onRead: (index: number, read: Awaited<ReturnType<typeof readSliceSource>>) => void,
  ) {}

  get(index: number): Promise<WindowSlice> {
    let pending = this.cache.get(index);
    if (!pending) {
      pending = readSliceSource(this.series, index).then((read) => {
        this.onRead(index, read);
        const { image } = read;
        return { image, filled: fillPadding(image.data, image.padding, image.rows, image.columns, this.fill) };
      });
      this.cache.set(index, pending);
    }
    return pending;
  }

  /** Forgets slices below `keepFrom` (the next batch may still need slice keepFrom as a neighbour). */
  release(lastUsed: number): void {
    const keepFrom = this.neighbours ? lastUsed : lastUsed + 1;
    for (const index of this.cache.keys()) if (index < keepFrom) this.cache.delete(index);
  }
}

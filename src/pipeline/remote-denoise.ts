/**
 * The flow both PACS routes share (pipeline/dicomweb.ts, pipeline/dimse.ts): choose the study's
 * series to denoise (seriesToDenoise), pull them into a temporary folder, denoise it there with
 * denoisePaths exactly as a folder would be, store the derived series (and any uncertainty
 * series) back, write `report.json`, and remove the pull folder only once everything succeeded,
 * so a rerun after a failure retrieves only what is missing and stores again what was not
 * finished; and not while another run of the same source still uses it (util/folder-claims.ts).
 * The protocols differ only in how they list, pull and store.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { DENOISED_MODALITIES, isOneOf } from '../choices.js';
import { getString, TAG } from '../dicom/attributes.js';
import { parseDicomBytes } from '../dicom/parse.js';
import type { Series } from '../dicom/index.js';
import { notDenoisedMessage } from './not-denoised.js';
import { LowdoseError, toLowdoseError } from '../errors.js';
import { CodeSample, type ErrorCounts } from '../util/code-sample.js';
import { ErrorListFile } from '../util/error-list-file.js';
import { claimFolder } from '../util/folder-claims.js';
import { suvNoteOfRead, type PulledSeries } from '../util/remote-series.js';
import { denoisePaths } from './denoise.js';
import { REPORT_FILE, writeReport as writeFolderReport } from './folder-report.js';
import { isCompletionMarker } from './frame-output.js';
import type { DenoiseOptions, DenoiseReport, SeriesReport } from './types.js';
import { RunStopped, stopReason } from './run-stopped.js';

type ReportError = DenoiseReport['errors'][number];

/** A folder run's options plus where the pulled instances wait. */
export interface RemoteDenoiseOptions extends DenoiseOptions {
  /** Where pulled instances are kept until the run succeeds (default: the OS temp folder, util/pull-cache.ts). */
  readonly pullDir?: string;
  /**
   * Denoise a series of which fewer instances came than the server says it holds, instead of
   * refusing the run (`--allow-incomplete`; the shortfall rule, checkSeriesShortfall in
   * util/remote-series.ts); the report's `pulled[].incomplete` records the counts.
   */
  readonly allowIncomplete?: boolean;
  /**
   * Awaited once the study is pulled, before it is denoised: a several-study run holds a study
   * pulled ahead here until the study before it has ended (./pacs-studies.ts). A rejection ends
   * the study as `signal` does.
   */
  readonly beforeDenoise?: () => Promise<void>;
  /**
   * `--skip-by-uid`: a study whose series are all finished in -o with exactly the PACS's SOP
   * Instance UIDs is not pulled (./finished-by-uid.ts: the slices' content is not compared).
   */
  readonly skipByUid?: boolean;
}

/** E_CANCELLED once `signal` is aborted (SIGINT, or a several-study run that stops): nothing more is pulled or denoised. */
export function throwIfCancelled(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new LowdoseError('E_CANCELLED', `${what}: the run was stopped`);
}

/**
 * The series of a study that `denoise <URL>` pulls: CT and PET only and, unless the URL names the
 * series, none that lowdose derived (a result stored back is not denoised again); each one left
 * out is logged. Throws E_NOT_FOUND when none is left, before anything is retrieved.
 */
export async function seriesToDenoise<S extends { readonly modality: string; readonly seriesInstanceUid: string }>(
  remote: readonly S[],
  source: string,
  options: { readonly named: boolean; readonly derived: (series: S) => Promise<boolean>; readonly log: (message: string) => void },
): Promise<S[]> {
  const wanted: S[] = [];
  for (const s of remote) {
    if (!isOneOf(DENOISED_MODALITIES, s.modality)) options.log(notDenoisedMessage(s));
    else if (!options.named && (await options.derived(s))) options.log(`skipping series ${s.seriesInstanceUid}: lowdose derived it`);
    else wanted.push(s);
  }
  if (wanted.length === 0) throw new LowdoseError('E_NOT_FOUND', `no CT or PET series in ${source}`);
  return wanted;
}

/** A derived series an earlier run wrote into -o: what it was made from and its UID. */
interface EarlierOutput {
  readonly source: string;
  readonly derived: string;
  readonly kind: 'denoised' | 'uncertainty';
}

/**
 * The derived series (denoised and uncertainty) earlier runs wrote into `outDir`, from the
 * completion markers of its series folders and from its report.json (which also names a series
 * an interrupted --overwrite run left without a marker). Unreadable files are passed over.
 */
async function earlierOutputs(outDir: string): Promise<EarlierOutput[]> {
  const reports = [path.join(outDir, REPORT_FILE)];
  const entries = await readdir(outDir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    // One marker per series folder; one per frame in the folder of a dynamic or gated PET acquisition.
    const names = await readdir(path.join(outDir, entry.name)).catch(() => [] as string[]);
    for (const name of names.filter(isCompletionMarker)) reports.push(path.join(outDir, entry.name, name));
  }
  const found = new Map<string, EarlierOutput>();
  for (const file of reports) {
    if (!existsSync(file)) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(file, 'utf8'));
    } catch {
      continue;
    }
    const record = parsed as Partial<DenoiseReport & DenoiseReport['series'][number]>;
    // report.json holds a run's series; a completion marker is one series' report.
    const series = Array.isArray(record.series) ? record.series : [record as DenoiseReport['series'][number]];
    for (const s of series) {
      const source = s?.input?.seriesInstanceUid;
      if (typeof source !== 'string') continue;
      for (const [kind, uid] of [['denoised', s.output?.seriesInstanceUid], ['uncertainty', s.uncertainty?.seriesInstanceUid]] as const) {
        if (typeof uid === 'string' && uid !== '' && !found.has(uid)) found.set(uid, { source, derived: uid, kind });
      }
    }
  }
  return [...found.values()];
}

/** Whether a series query finds the series: true when it answers, false when it says E_NOT_FOUND; other errors are thrown. */
export async function seriesFound(query: () => Promise<unknown>): Promise<boolean> {
  try {
    await query();
    return true;
  } catch (error) {
    if (error instanceof LowdoseError && error.code === 'E_NOT_FOUND') return false;
    throw error;
  }
}

/** The store destination as the --overwrite check asks it: does it hold this series of the study? */
export interface StoreHoldings {
  /** --stow / --store, as named in messages. */
  readonly option: string;
  readonly where: string;
  readonly holds: (seriesInstanceUid: string) => Promise<boolean>;
}

/**
 * `--overwrite` with `--stow` / `--store`: a series redone has new Series and SOP Instance UIDs
 * (DICOM gives new pixel data a new SOP Instance UID, and a PACS that is sent a UID it holds keeps
 * the first copy or replaces it as it is configured: Orthanc keeps it by default), and DICOMweb and
 * DIMSE have no way to delete a series. So when the destination still holds a derived series that
 * an earlier run into -o made from one of the series to denoise, storing the redone one would put a
 * second derived series of the same source next to it: the run stops before any work (E_EXISTS)
 * and says what to do. A destination that cannot answer the query (a C-STORE-only SCP) is logged
 * and the run goes on.
 */
export async function refuseOverwriteOfStoredOutput(
  outDir: string,
  sources: readonly { readonly seriesInstanceUid: string }[],
  destination: StoreHoldings,
  log: (message: string) => void,
): Promise<void> {
  const wanted = new Set(sources.map((s) => s.seriesInstanceUid));
  const earlier = (await earlierOutputs(path.resolve(outDir))).filter((o) => wanted.has(o.source));
  const held: EarlierOutput[] = [];
  for (const output of earlier) {
    try {
      if (await destination.holds(output.derived)) held.push(output);
    } catch (error) {
      log(
        `cannot tell whether ${destination.where} still holds ${output.kind} series ${output.derived} (made from series ${output.source} by an earlier run into ${outDir}): ` +
          `${toLowdoseError(error, 'E_IO').message}; if it does, it will hold a second derived series of that source`,
      );
    }
  }
  if (held.length === 0) return;
  const list = held.map((o) => `${o.kind} series ${o.derived} (from series ${o.source})`).join(', ');
  throw new LowdoseError(
    'E_EXISTS',
    `--overwrite with ${destination.option}: ${destination.where} still holds ${list}, stored from ${outDir} by an earlier run. The redone series get new UIDs and ` +
      `lowdose cannot delete a series from a PACS, so it would hold two derived series of the same source. Delete ${held.length === 1 ? 'that series' : 'those series'} on the PACS ` +
      `and run again; or run without --overwrite (the earlier result is stored again) or into another -o (a second derived series, on purpose); nothing was done`,
    { path: destination.where },
  );
}

/** One derived series to store back. */
export interface DerivedPart {
  readonly kind: 'denoised' | 'uncertainty';
  readonly seriesInstanceUid: string;
  /** Absolute paths of its files. */
  readonly files: string[];
}

/** What of one denoised series goes back to the PACS: the derived series and its uncertainty series, if any. */
export function derivedParts(series: DenoiseReport['series'][number]): DerivedPart[] {
  const files = series.output.files.map((f) => path.resolve(f));
  // Several series in one output (one per radiopharmaceutical of a multi-frame PET source): each
  // file's own SeriesInstanceUID says which it is, so that each series is stored and counted as itself.
  const denoised: DerivedPart[] =
    (series.output.seriesInstanceUids?.length ?? 0) > 1
      ? [...groupBySeries(files)].map(([seriesInstanceUid, own]) => ({ kind: 'denoised', seriesInstanceUid, files: own }))
      : [{ kind: 'denoised', seriesInstanceUid: series.output.seriesInstanceUid, files }];
  return [
    ...denoised,
    ...(series.uncertainty
      ? [{ kind: 'uncertainty' as const, seriesInstanceUid: series.uncertainty.seriesInstanceUid, files: series.uncertainty.files.map((f) => path.resolve(f)) }]
      : []),
  ];
}

/** `files` by the SeriesInstanceUID each holds, in the order given. */
function groupBySeries(files: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const file of files) {
    const uid = getString(parseDicomBytes(readFileSync(file), file).dataSet, TAG.SeriesInstanceUID) ?? '';
    out.set(uid, [...(out.get(uid) ?? []), file]);
  }
  return out;
}

/**
 * Every derived series of a run to store back, once each: the frames of a dynamic or gated PET
 * acquisition are one derived series (./frame-output.ts), stored as one with all their files.
 */
export function derivedSeriesToStore(series: DenoiseReport['series']): DerivedPart[] {
  const byUid = new Map<string, DerivedPart>();
  for (const part of series.flatMap(derivedParts)) {
    const earlier = byUid.get(part.seriesInstanceUid);
    byUid.set(part.seriesInstanceUid, earlier ? { ...earlier, files: [...earlier.files, ...part.files] } : part);
  }
  return [...byUid.values()];
}

/** A series pulled into the pull folder: where its files are and where it came from. */
export interface PulledFolder {
  readonly dir: string;
  /** The series' address on the server (DICOMweb URL or dimse:// address). */
  readonly url: string;
  readonly seriesInstanceUid?: string;
  /** Fewer instances came than the server says the series holds (`--allow-incomplete`). */
  readonly incomplete?: PulledSeries['incomplete'];
}

/**
 * The SUV note of each pulled series that came short of its instances and whose SUVbw depends on
 * which of its files were read (its W_SUV_PARTIAL_SERIES reading warning, src/dicom/suv.ts), by
 * SeriesInstanceUID.
 */
export function incompleteSuvNotes(pulled: readonly PulledFolder[], series: DenoiseReport['series']): Map<string, string> {
  const notes = new Map<string, string>();
  for (const p of pulled) {
    if (!p.incomplete || p.seriesInstanceUid === undefined) continue;
    const note = suvNoteOfRead(p.seriesInstanceUid, series);
    if (note !== undefined) notes.set(p.seriesInstanceUid, note);
  }
  return notes;
}

/** `pulled[]` with each incomplete series' SUV note (incompleteSuvNotes) added to its `incomplete`. */
export function withSuvNotes(pulled: readonly PulledSeries[], series: DenoiseReport['series']): PulledSeries[] {
  const notes = incompleteSuvNotes(pulled, series);
  return pulled.map((p) => {
    const suvNote = notes.get(p.seriesInstanceUid);
    return suvNote !== undefined && p.incomplete ? { ...p, incomplete: { ...p.incomplete, suvNote } } : p;
  });
}

/**
 * The folder pipeline names an unreadable file by its path, here a file named after its SOP
 * Instance UID in a hashed temporary folder: the message also names the instance and the series
 * address it came from, so the PACS's copy can be found (the file stays for inspection: a run with
 * errors keeps the pull folder).
 */
export function nameRemoteInstance(error: ReportError, pulled: readonly PulledFolder[]): ReportError {
  if (error.path === null) return error;
  const file = path.resolve(error.path);
  const series = pulled.find((p) => path.dirname(file) === path.resolve(p.dir));
  if (!series || !file.endsWith('.dcm')) return error;
  return { ...error, message: `instance ${path.basename(file, '.dcm')} of ${series.url}: ${error.message}` };
}

/** What a remote run's report has of a folder report: its series. */
type FolderRecordShape = { readonly series: DenoiseReport['series'] };

/**
 * A remote run's errors as its report.json and --json give them: the capped list, its exact
 * counts, and `errorsFile` (the whole list of unreadable instances) where the run wrote one.
 */
export interface RemoteErrors extends ErrorCounts {
  readonly errors: ReportError[];
  readonly errorsFile?: string;
}

export interface RemoteSteps<R extends FolderRecordShape> {
  /** The source, named by errors that carry no path of their own. */
  readonly source: string;
  readonly pullDir: string;
  /** Retrieves every wanted series; resolves to the folders they were pulled into. */
  readonly pull: () => Promise<PulledFolder[]>;
  /**
   * With --skip-by-uid: the study's series finished in -o as judged from the PACS's instance lists
   * without pulling (./finished-by-uid.ts), or null when it must be pulled. Absent: always pulled.
   */
  readonly finished?: () => Promise<SeriesReport[] | null>;
  /** Stores one derived series back (absent: nothing is stored); `where` names the target in errors. */
  readonly store?: { readonly where: string; readonly put: (part: DerivedPart) => Promise<void> };
  /** The report: the folder report's fields (`errors` with its counts) plus the protocol's own section. */
  readonly report: (series: DenoiseReport['series'], errors: RemoteErrors) => R;
}

export async function denoiseRemote<R extends FolderRecordShape>(options: RemoteDenoiseOptions, steps: RemoteSteps<R>): Promise<R> {
  const log = options.log ?? (() => {});
  // Another run of the same source pulls into the same folder: the last one to finish removes it.
  const claim = await claimFolder(steps.pullDir, { log });
  let succeeded = false;
  try {
    // Every unreadable instance, named as the report names it, in unreadable.tsv beside report.json
    // (src/util/error-list-file.ts); a several-study run (onUnreadable) keeps one list for all its studies.
    const unreadable = options.onUnreadable === undefined && options.writeReport !== false ? ErrorListFile.open() : null;
    try {
      const result = await pullDenoiseStore(options, steps, log, unreadable);
      succeeded = result.errors === 0;
      return result.report;
    } finally {
      await unreadable?.discard();
    }
  } finally {
    // A stopped run (SIGINT, a several-study run that ends early) leaves no pull folder behind
    // either: the pull has settled (each retrieve ends between instances), so nothing writes there any more.
    const stopped = options.signal?.aborted === true;
    const removed = await claim.release({ remove: succeeded || stopped });
    if ((succeeded || stopped) && !removed) log(`kept ${steps.pullDir} for another run of this source that is still using it`);
  }
}

async function pullDenoiseStore<R extends FolderRecordShape>(
  options: RemoteDenoiseOptions,
  steps: RemoteSteps<R>,
  log: (message: string) => void,
  unreadable: ErrorListFile | null,
): Promise<{ report: R; errors: number }> {
  // The folder's record: with the finished series earlier runs left there (./folder-report.ts).
  // A queue job (writeReport: false) leaves it to its batch, as a folder job does.
  const writeReport = async (result: R) => {
    if (options.writeReport !== false) await writeFolderReport(path.resolve(options.outDir), result);
  };
  // Published before report.json names it; a run with no unreadable instance removes an earlier run's list.
  const errorsFileField = async (): Promise<{ errorsFile?: string }> => {
    const file = unreadable ? await unreadable.publish(path.resolve(options.outDir)) : null;
    return file ? { errorsFile: file } : {};
  };
  /** Stopped before anything was denoised: the record says so (report.json, the thrown RunStopped). */
  const stopped = async (message: string): Promise<never> => {
    const errors = new CodeSample<ReportError>();
    errors.keep({ code: 'E_CANCELLED', message, path: steps.source });
    const result = steps.report([], { errors: errors.items, ...errors.counted(), ...(await errorsFileField()) });
    await writeReport(result);
    throw new RunStopped(result, message);
  };
  const finished = await steps.finished?.();
  if (finished) {
    // Not pulled: what a rerun does for finished series is still done (their derived series stored
    // again with --stow / --store), in the order the studies' stores go in.
    await options.beforeDenoise?.().catch((error: unknown) => {
      if (!options.signal?.aborted) throw error;
    });
    if (options.signal?.aborted) return stopped(`${steps.source} was found finished but not stored again: ${stopReason(options.signal)}`);
    const errors = new CodeSample<ReportError>();
    await storeDerived(steps, finished, errors, log, options.signal);
    const result = steps.report(finished, { errors: errors.items, ...errors.counted(), ...(await errorsFileField()) });
    await writeReport(result);
    return { report: result, errors: errors.total };
  }
  let pulled: PulledFolder[];
  try {
    pulled = await steps.pull();
  } catch (error) {
    // A server failing mid-retrieve: nothing is denoised or stored; the report says so and what
    // is on disk, and the instances retrieved so far stay for the rerun.
    const e = toLowdoseError(error, 'E_IO');
    if (options.signal?.aborted) return stopped(`${steps.source}: stopped while pulling (${stopReason(options.signal)}); nothing was denoised`);
    if (e.code === 'E_USAGE' || e.code === 'E_NOT_FOUND') throw e;
    log(e.message);
    const errors = new CodeSample<ReportError>();
    errors.keep({ ...e.toJSON(), path: e.path ?? steps.source });
    const result = steps.report([], { errors: errors.items, ...errors.counted(), ...(await errorsFileField()) });
    await writeReport(result);
    return { report: result, errors: errors.total };
  }
  await options.beforeDenoise?.().catch((error: unknown) => {
    if (!options.signal?.aborted) throw error;
  });
  if (options.signal?.aborted) return stopped(`${steps.source} was pulled but not denoised: ${stopReason(options.signal)}`);
  // seriesToDenoise chose what was pulled (a series the URL names is denoised even if lowdose derived it).
  const told = options.onUnreadable ?? (unreadable ? (entry: ReportError) => unreadable.add(entry) : undefined);
  const denoiseOptions = {
    ...options,
    includeDerived: true,
    ...(told ? { onUnreadable: (entry: ReportError) => told(nameRemoteInstance(entry, pulled)) } : {}),
    pacsInputUrl: (series: Series) => pulledFolderOf(pulled, series.seriesInstanceUid, series.slices.map((s) => s.file))?.url ?? null,
  };
  let report: DenoiseReport;
  try {
    report = await denoisePaths(
      pulled.map((p) => p.dir),
      denoiseOptions,
    );
  } catch (error) {
    // Stopped while the pulled folder was scanned (no series listed yet): as when stopped before denoising.
    if (!(error instanceof RunStopped) && options.signal?.aborted) return stopped(`${steps.source} was pulled but not denoised: ${stopReason(options.signal)}`);
    if (!(error instanceof RunStopped)) throw error;
    // Stopped while denoising: the series finished are recorded, nothing is stored back.
    const partial = error.report as DenoiseReport;
    const stoppedErrors = CodeSample.of(partial.errors.map((e) => nameRemoteInstance(e, pulled)), partial);
    // A stopped run removes its pull folder too (denoiseRemote).
    const result = steps.report(withPacsInput(partial.series, pulled, true), { errors: stoppedErrors.items, ...stoppedErrors.counted(), ...(await errorsFileField()) });
    await writeReport(result);
    throw new RunStopped(result, `${error.message}; nothing was stored`);
  }
  // The capped list as the folder run kept it, counted as it counted it (src/util/code-sample.ts).
  const errors = CodeSample.of(report.errors.map((e) => nameRemoteInstance(e, pulled)), report);
  for (const [uid, note] of incompleteSuvNotes(pulled, report.series)) {
    log(`warning: series ${uid} came short of its instances (--allow-incomplete) and its SUVbw depends on the files that came: ${note}`);
  }
  await storeDerived(steps, report.series, errors, log, options.signal);
  // The pull folder is removed once the run ends without an error (denoiseRemote): its files are then gone.
  const result = steps.report(withPacsInput(report.series, pulled, errors.total === 0), { errors: errors.items, ...errors.counted(), ...(await errorsFileField()) });
  await writeReport(result);
  return { report: result, errors: errors.total };
}

/**
 * Each pulled series' input as report.json and --json give it: `url`, its address on the PACS
 * (where a viewer or a later run finds it again), and, when the pull folder is to be removed
 * (`pullFolderRemoved`: the run ended without an error, or was stopped), `files` empty: the files
 * it names would be gone. A run that ends with an error keeps the pull folder, and `files` names
 * the files there, as read.
 */
export function withPacsInput(series: DenoiseReport['series'], pulled: readonly PulledFolder[], pullFolderRemoved: boolean): DenoiseReport['series'] {
  return series.map((s) => {
    const from = pulledFolderOf(pulled, s.input.seriesInstanceUid, s.input.files);
    if (!from && !pullFolderRemoved) return s;
    return { ...s, input: { ...s.input, ...(pullFolderRemoved ? { files: [] } : {}), ...(from ? { url: from.url } : {}) } };
  });
}

/** The pulled series a series read from the pull folder is: by SeriesInstanceUID, else by the folder its files lie in. */
function pulledFolderOf(pulled: readonly PulledFolder[], seriesInstanceUid: string, files: readonly string[]): PulledFolder | undefined {
  return pulled.find((p) => p.seriesInstanceUid === seriesInstanceUid) ?? pulled.find((p) => files.some((f) => !path.relative(p.dir, path.resolve(f)).startsWith('..')));
}

/**
 * Stores the derived series of `series` back (steps.store); each failure is kept in `errors` and
 * the next one is tried. `signal` (SIGINT / SIGTERM) stops the store in flight (the STOW-RS
 * request or C-STORE association aborted: E_CANCELLED saying how many instances were stored) and
 * each series after it is an E_CANCELLED "was not stored"; the series on disk stay finished, so a
 * rerun into the same -o stores them.
 */
async function storeDerived<R extends FolderRecordShape>(
  steps: RemoteSteps<R>,
  series: DenoiseReport['series'],
  errors: CodeSample<ReportError>,
  log: (message: string) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (!steps.store) return;
  for (const part of derivedSeriesToStore(series)) {
    if (signal?.aborted) {
      errors.keep({ code: 'E_CANCELLED', message: `${part.kind} series ${part.seriesInstanceUid} was not stored to ${steps.store.where}: ${stopReason(signal)}; a rerun into the same -o stores it`, path: steps.store.where });
      continue;
    }
    try {
      await steps.store.put(part);
    } catch (error) {
      const e = toLowdoseError(error, 'E_IO');
      log(e.message);
      errors.keep({ ...e.toJSON(), path: e.path ?? steps.store.where });
    }
  }
}

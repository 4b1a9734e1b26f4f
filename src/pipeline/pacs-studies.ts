/**
 * `lowdose denoise` over several PACS studies in one run: study and series addresses (DICOMweb or
 * dimse://, one PACS or several) and study queries (a PACS address narrowed by --patient-id /
 * --from / --to: C-FIND at STUDY level, or QIDO-RS for a DICOMweb base), denoised one study after
 * another into the same -o by the one-study routes (./dicomweb.ts, ./dimse.ts), the next study
 * listed and pulled while the current one is denoised (./one-ahead.ts).
 *
 * Every query is answered before any study is pulled; a query that fails, or whose answer the PACS
 * capped, stops the run (a cohort is never denoised in part without a word). A study that fails
 * (unreachable, not found, incomplete, a series that cannot be pulled) is reported under its
 * address and the run goes on with the next; its errors make the run exit 1, as an unreadable file
 * does in a folder run. A rerun of the same command skips the series already done (their
 * completion markers in -o). report.json is rewritten after each study, so it records the run so
 * far: its `series` and `errors` (every study's), `studies[]` (one entry per study, with the
 * one-study route's `dicomweb` or `dimse` section) and `queries[]`.
 */
import path from 'node:path';
import { DENOISED_MODALITIES, isOneOf } from '../choices.js';
import type { DicomwebClientOptions } from '../dicomweb/client.js';
import { DicomwebClient } from '../dicomweb/client.js';
import { checkStowDestination } from '../dicomweb/study.js';
import { parseDicomwebUrl } from '../dicomweb/url.js';
import { checkStoreDestination } from '../dimse/study.js';
import { isDimseUrl, parseDimseUrl } from '../dimse/url.js';
import { LowdoseError, toLowdoseError } from '../errors.js';
import { CodeSample, LISTED_PER_CODE, type ErrorCounts } from '../util/code-sample.js';
import { ErrorListFile } from '../util/error-list-file.js';
import { studyDateMatch, type StudyKeys } from '../util/remote-series.js';
import { toolkitIdentity } from '../util/toolkit.js';
import { denoiseDicomweb, type DicomwebDenoiseReport, type DicomwebReport } from './dicomweb.js';
import { denoiseDimse, type DimseDenoiseReport, type DimseOptions, type DimseReport } from './dimse.js';
import { writeReport } from './folder-report.js';
import type { RemoteDenoiseOptions } from './remote-denoise.js';
import type { StudyIdentifiers } from './studies-file.js';
import { describeKeys, isPacsQueryAddress, namesStudy, queryKeys, querySource, studiesOfQueries, unmatchedError } from './study-queries.js';
import type { RemoteStudy } from '../dimse/study.js';
import type { DenoiseReport, DenoiseOptions } from './types.js';
import { runOneAhead } from './one-ahead.js';
import { RunStopped } from './run-stopped.js';
import type { DimsePeer } from '../dimse/url.js';

export { isPacsQueryAddress, STUDY_QUERY_LIMIT, STUDY_UID_BATCH } from './study-queries.js';

type ReportError = DenoiseReport['errors'][number];

/** One PACS study (or series) of a run and what became of it. */
export interface PacsStudyReport {
  /** Its address: a DICOMweb study / series URL or a dimse:// study / series. */
  readonly source: string;
  readonly studyInstanceUid: string;
  /** The query (its entry's `source`) that listed it; absent for an address given on the command line. */
  readonly query?: string;
  /** `failed` when it has errors (they are in `errors` here and in the report's `errors`). */
  readonly outcome: 'done' | 'failed';
  /**
   * True when the study was not pulled: `--skip-by-uid` found every series it would denoise
   * finished in -o with exactly the PACS's SOP Instance UIDs (why: its `dicomweb` / `dimse`
   * section's `notPulled`). Absent when it was pulled.
   */
  readonly skipped?: true;
  /** SeriesInstanceUIDs of its input series in the report's `series` (denoised now or already done). */
  readonly series: string[];
  /** Its errors; of its unreadable instances the first 100 of each code (docs/contract.md "Capped lists"). */
  readonly errors: ReportError[];
  /** Every error of the study, listed in `errors` or not (absent in a batch record written before it). */
  readonly errorCount?: number;
  /** `errorCount` by code. */
  readonly errorsByCode?: Record<string, number>;
  /** As a one-study run reports it (absent when the study failed before its series were listed). */
  readonly dicomweb?: DicomwebReport;
  readonly dimse?: DimseReport;
}

/**
 * One study query of a run: the PACS address, its keys and the studies it listed. Each accession
 * number / StudyInstanceUID given is its own query (`accessionNumber` / `studyInstanceUid`, with
 * the other keys); one that lists no study has empty `studies` and an E_NOT_FOUND error in the
 * report's `errors`.
 */
export interface PacsQueryReport extends StudyKeys {
  /** The PACS address searched: a DICOMweb base or dimse://AET@host:port. */
  readonly source: string;
  /** StudyInstanceUIDs of the studies it listed that the run denoises. */
  readonly studies: string[];
  /** Studies it listed whose ModalitiesInStudy has no CT or PT: not pulled. */
  readonly notDenoised: Array<{ readonly studyInstanceUid: string; readonly modalities: string[] }>;
}

export interface PacsStudiesReport extends DenoiseReport {
  readonly studies: PacsStudyReport[];
  readonly queries: PacsQueryReport[];
}

export interface PacsStudiesOptions extends DenoiseOptions {
  readonly allowIncomplete?: boolean;
  /** Narrow every PACS address given without a study. */
  readonly keys: StudyKeys;
  /** Studies named one by one (--accession, --studies-from): one query each on every PACS address given without a study. */
  readonly identifiers?: StudyIdentifiers;
  readonly dicomweb?: DicomwebClientOptions;
  readonly dimse?: DimseOptions;
  /** DICOMweb base to store the derived series of the DICOMweb studies to. */
  readonly stow?: string;
  /** The SCP to store the derived series of the dimse:// studies to. */
  readonly store?: DimsePeer;
}

/** Whether a run over these addresses is a several-study run (several addresses, or a query). */
export function isPacsStudiesRun(addresses: readonly string[]): boolean {
  return addresses.length > 1 || addresses.some(isPacsQueryAddress);
}

function hasKeys(keys: StudyKeys, identifiers?: StudyIdentifiers): boolean {
  return Object.values(keys).some((v) => v !== undefined) || queryKeys({}, identifiers).some(namesStudy);
}

/**
 * The keys must narrow something: given with no PACS address among the inputs they are E_USAGE,
 * and a PACS address without any of them would pull the whole PACS, E_USAGE too.
 */
export function checkStudyQueries(addresses: readonly string[], keys: StudyKeys, identifiers?: StudyIdentifiers): void {
  studyDateMatch(keys);
  const queries = addresses.filter(isPacsQueryAddress);
  if (hasKeys(keys, identifiers) && queries.length === 0) {
    throw new LowdoseError('E_USAGE', '--patient-id, --from, --to, --accession and --studies-from narrow the study list of a PACS address (dimse://<AET>@host:port or a DICOMweb base URL): no input is one');
  }
  if (queries.length > 0 && !hasKeys(keys, identifiers)) {
    throw new LowdoseError(
      'E_USAGE',
      `${queries[0]} names no study: denoise would pull every study on the PACS. Narrow it with --patient-id, --from and / or --to, or name the studies with --accession / --studies-from (lowdose info lists what matches), or give study addresses`,
    );
  }
}

/**
 * A study as a study query answered it: ModalitiesInStudy, NumberOfStudyRelatedSeries and
 * NumberOfStudyRelatedInstances (null where the PACS did not give them). The whole study's:
 * series lowdose derived and series of other modalities count too.
 */
export interface QueriedStudy {
  readonly modalities: string[];
  readonly series: number | null;
  readonly instances: number | null;
}

/** One study (or series) address to run, and the query that listed it. */
export interface StudyToRun {
  readonly source: string;
  readonly query?: string;
  /** What that query answered for the study; absent for an address given. */
  readonly queried?: QueriedStudy;
}

/**
 * The studies a query lists, CT / PET ones (or of unknown modalities) to run, the others noted. A
 * query that names a study (an accession number, a StudyInstanceUID) and lists none has `error`.
 */
function answerQuery(address: string, keys: StudyKeys, found: readonly RemoteStudy[], log: (message: string) => void): { query: PacsQueryReport; studies: StudyToRun[]; error?: ReportError } {
  const source = querySource(address);
  const wanted = found.filter((s) => s.modalities.length === 0 || s.modalities.some((m) => isOneOf(DENOISED_MODALITIES, m)));
  const notDenoised = found.filter((s) => !wanted.includes(s)).map((s) => ({ studyInstanceUid: s.studyInstanceUid, modalities: s.modalities }));
  for (const s of notDenoised) log(`not pulling study ${s.studyInstanceUid}: its modalities (${s.modalities.join('/')}) include no CT or PT`);
  const named = namesStudy(keys) ? ` (${describeKeys(keys)})` : '';
  log(`${source}${named}: ${found.length} stud${found.length === 1 ? 'y matches' : 'ies match'}, ${wanted.length} with CT or PT${namesStudy(keys) && found.length > 1 ? `: ${found.map((s) => s.studyInstanceUid).join(', ')}, every one is denoised` : ''}`);
  const query: PacsQueryReport = { source, ...keys, studies: wanted.map((s) => s.studyInstanceUid), notDenoised };
  const studies = wanted.map((s) => ({ source: s.url, query: source, queried: { modalities: s.modalities, series: s.series, instances: s.instances } }));
  if (!namesStudy(keys) || found.length > 0) return { query, studies };
  const error = unmatchedError(source, keys);
  log(`warning: ${error.message}`);
  return { query, studies, error: error.toJSON() };
}

/** The accession numbers / StudyInstanceUIDs of the queries, each once, with the run's other keys. */
function describeQueries(queries: readonly PacsQueryReport[]): string {
  const named = [...new Set(queries.map((q) => describeKeys({ accessionNumber: q.accessionNumber, studyInstanceUid: q.studyInstanceUid })))];
  const first = queries[0]!;
  const others = describeKeys({ patientId: first.patientId, from: first.from, to: first.to });
  return `${named.join(', ')}${others ? ` with ${others}` : ''}`;
}

/** The StudyInstanceUID an address names (after checkStudyQueries, every run address names one). */
function studyOf(address: string): string {
  return isDimseUrl(address) ? (parseDimseUrl(address).studyInstanceUid ?? '') : parseDicomwebUrl(address).studyInstanceUid;
}

/** The options of one study's run: the run's, without the keys and the protocol-specific ones. */
function withoutKeys(options: PacsStudiesOptions): RemoteDenoiseOptions {
  const copy: Record<string, unknown> = { ...options };
  for (const key of ['keys', 'identifiers', 'dicomweb', 'dimse', 'stow', 'store']) delete copy[key];
  return copy as unknown as RemoteDenoiseOptions;
}

/** Runs one study through its one-study route; its failure is in the entry (`outcome: 'failed'`), never thrown. */
export async function runStudy(study: StudyToRun, options: PacsStudiesOptions & { readonly beforeDenoise?: () => Promise<void> }): Promise<{ series: DenoiseReport['series']; entry: PacsStudyReport }> {
  const base = { source: study.source, studyInstanceUid: studyOf(study.source), ...(study.query !== undefined ? { query: study.query } : {}) };
  const { dicomweb, dimse, stow, store } = options;
  const common: RemoteDenoiseOptions = withoutKeys(options);
  let report: DicomwebDenoiseReport | DimseDenoiseReport;
  try {
    report = isDimseUrl(study.source)
      ? await denoiseDimse(study.source, { ...common, dimse: dimse!, ...(store ? { store } : {}) })
      : await denoiseDicomweb(study.source, { ...common, ...(dicomweb ? { dicomweb } : {}), ...(stow !== undefined ? { stow } : {}) });
  } catch (error) {
    // Stopped (SIGINT): the study's record as it stands, with the series it finished and what was pulled.
    if (error instanceof RunStopped) return studyResult(base, error.report as DicomwebDenoiseReport | DimseDenoiseReport);
    const e = toLowdoseError(error, 'E_IO');
    options.log?.(`study ${study.source} failed: ${e.message}`);
    const errors = [{ ...e.toJSON(), path: e.path ?? study.source }];
    return { series: [], entry: { ...base, outcome: 'failed', series: [], errors, ...CodeSample.of(errors).counted() } };
  }
  return studyResult(base, report);
}

/** A study's series and its `studies[]` entry from its run's report. */
function studyResult(
  base: Pick<PacsStudyReport, 'source' | 'studyInstanceUid' | 'query'>,
  report: DicomwebDenoiseReport | DimseDenoiseReport,
): { series: DenoiseReport['series']; entry: PacsStudyReport } {
  const section = 'dimse' in report ? { dimse: report.dimse } : { dicomweb: report.dicomweb };
  const counts = CodeSample.of(report.errors, report).counted();
  const entry: PacsStudyReport = {
    ...base,
    outcome: counts.errorCount === 0 ? 'done' : 'failed',
    ...(section.dimse?.notPulled !== undefined || section.dicomweb?.notPulled !== undefined ? { skipped: true as const } : {}),
    series: [...new Set(report.series.map((s) => s.input.seriesInstanceUid))],
    errors: report.errors,
    ...counts,
    ...section,
  };
  return { series: report.series, entry };
}

/**
 * The studies a run over these addresses denoises, every query answered (`denoise` and `batch`
 * both resolve them so): throws (usage, a --stow / --store destination that is wrong, a query that
 * fails or is capped, no CT / PET study at all) before any study is pulled. `errors`: the queries
 * naming a study (an accession number, a StudyInstanceUID) that listed none.
 */
export async function resolvePacsStudies(
  addresses: readonly string[],
  options: PacsStudiesOptions,
): Promise<{ queries: PacsQueryReport[]; studies: StudyToRun[]; errors: ReportError[] }> {
  const log = options.log ?? (() => {});
  checkStudyQueries(addresses, options.keys, options.identifiers);
  // A wrong --stow / --store destination stops the run once, before any query or pull (each study checks it again).
  // SIGINT / SIGTERM stops the checks and queries here too: a DICOMweb request is aborted, a C-FIND cancelled (C-CANCEL).
  const stoppable = options.signal ? { signal: options.signal } : {};
  if (options.stow !== undefined) {
    const client = new DicomwebClient({ log, ...options.dicomweb, ...stoppable });
    try {
      await checkStowDestination(client, options.stow);
    } finally {
      await client.close();
    }
  }
  if (options.store && options.dimse) await checkStoreDestination(options.store, { ...options.dimse, ...stoppable });
  const queries: PacsQueryReport[] = [];
  const queryErrors: ReportError[] = [];
  const toRun: StudyToRun[] = [];
  for (const address of addresses) {
    if (isPacsQueryAddress(address)) {
      const all = queryKeys(options.keys, options.identifiers);
      // The named StudyInstanceUIDs asked STUDY_UID_BATCH to a query where the PACS matches UID lists.
      const clients = { dicomweb: { ...options.dicomweb, ...stoppable }, ...(options.dimse ? { dimse: { ...options.dimse, ...stoppable } } : {}), log, denoising: true };
      const found = await studiesOfQueries(address, all, clients).catch((error: unknown) => {
        if (!(options.signal?.aborted && error instanceof LowdoseError && error.code === 'E_CANCELLED')) throw error;
        throw new LowdoseError('E_CANCELLED', `the study query on ${querySource(address)} was stopped: ${error.message}; no study was pulled, nothing was denoised`, { path: querySource(address) });
      });
      for (const [index, keys] of all.entries()) {
        const answer = answerQuery(address, keys, found[index]!, log);
        queries.push(answer.query);
        toRun.push(...answer.studies);
        if (answer.error) queryErrors.push(answer.error);
      }
    } else {
      studyOf(address); // an address that does not parse is E_USAGE before any study is pulled
      toRun.push({ source: address });
    }
  }
  const seen = new Set<string>();
  const unique = toRun.filter((s) => !seen.has(s.source) && seen.add(s.source));
  if (unique.length === 0) {
    const sources = [...new Set(queries.map((q) => q.source))].join(', ');
    const what = queryKeys(options.keys, options.identifiers).some(namesStudy) ? describeQueries(queries) : describeKeys(options.keys);
    throw new LowdoseError('E_NOT_FOUND', `no study with CT or PET matches ${what} on ${sources}; nothing was done`);
  }
  return { queries, studies: unique, errors: queryErrors };
}

/**
 * Denoises every study the addresses name or their queries list into `options.outDir`, one after
 * another, the next study pulled while the current one is denoised (./one-ahead.ts: one study
 * ahead at most, so about two studies' pull folders on disk); see the module comment. Throws only
 * before any study is pulled (usage, a query that fails or is capped); a study's failure is in its
 * entry and the report's `errors`. `options.signal` (SIGINT) stops the run: the study being pulled
 * ahead stops between instances, the one being denoised between batches, both their pull folders
 * are removed, the studies not started are in `studies[]` as not run (E_CANCELLED), and the report
 * is returned. Nothing of the run is left running when this returns or throws.
 */
export async function denoisePacsStudies(addresses: readonly string[], options: PacsStudiesOptions): Promise<PacsStudiesReport> {
  const log = options.log ?? (() => {});
  const { queries, studies: unique, errors: queryErrors } = await resolvePacsStudies(addresses, options);
  const series: DenoiseReport['series'] = [];
  const studies: PacsStudyReport[] = [];
  // Per study, the keys of the unreadable instances its `errors` may list (the first
  // LISTED_PER_CODE of each code it met): the run's `errors` caps them over the run (runErrors).
  const listedUnreadable: Array<CodeSample<{ readonly code: string; readonly key: string }>> = unique.map(() => new CodeSample());
  const unreadableOf = (index: number): ReadonlySet<string> => new Set(listedUnreadable[index]?.items.map((e) => e.key));
  let report: PacsStudiesReport = { toolkit: toolkitIdentity(), series, ...runErrors(queryErrors, studies, unreadableOf), studies, queries };
  // Every study's unreadable instances, each named by its SOP Instance UID and series address, in
  // one unreadable.tsv beside report.json (src/util/error-list-file.ts): the studies are denoised
  // one at a time, so the list holds them study after study.
  const unreadable = ErrorListFile.open();
  // The run's own stop: the caller's signal, or this function ending early (a report that cannot be written).
  const stop = new AbortController();
  const outer = options.signal;
  const onOuter = () => stop.abort(outer?.reason);
  if (outer?.aborted) onOuter();
  else outer?.addEventListener('abort', onOuter, { once: true });
  const runs = runOneAhead(
    unique.length,
    (index, gate) => {
      const study = unique[index]!;
      log(`study ${index + 1} of ${unique.length}: ${study.source}${index > 0 ? ' (pulled while the study before it is denoised)' : ''}`);
      // report.json is this function's to write: a study pulled ahead must not replace the run's record with its own.
      return runStudy(study, { ...options, signal: stop.signal, writeReport: false, beforeDenoise: gate, onUnreadable: (entry) => {
        unreadable.add(entry);
        listedUnreadable[index]!.add({ code: entry.code, key: errorKey(entry) });
      } });
    },
    () => stop.signal.aborted,
  );
  try {
    for (const [index, run] of runs.entries()) {
      const done = await run;
      const study = unique[index]!;
      const entry = done?.entry ?? notRun(study, stop.signal.reason);
      if (done) series.push(...done.series);
      studies.push(entry);
      // report.json is the run's record so far, with the whole list of unreadable instances so far
      // (none: an earlier run's list is removed).
      const errorsFile = await unreadable.publish(path.resolve(options.outDir));
      report = { toolkit: toolkitIdentity(), series: [...series], ...runErrors(queryErrors, studies, unreadableOf), ...(errorsFile ? { errorsFile } : {}), studies: [...studies], queries };
      await writeReport(options.outDir, report);
    }
    return report;
  } finally {
    outer?.removeEventListener('abort', onOuter);
    if (studies.length < unique.length) {
      // Ended early (a report that could not be written): stop the study pulled ahead and wait for it.
      stop.abort(new LowdoseError('E_CANCELLED', 'the run ended early'));
      await Promise.allSettled(runs);
    }
    await unreadable.discard();
  }
}

/** An entry's identity in a study's `errors`: its path, code and message. */
export function errorKey(entry: ReportError): string {
  return `${entry.path ?? ''}\t${entry.code}\t${entry.message}`;
}

/**
 * The run's `errors`: the queries' errors and each study's own (a series that failed, a lock taken
 * over, a study not run or stopped) all listed, in study order; the studies' unreadable instances
 * (`unreadableOf(i)`: the keys, errorKey, of those study i's `errors` may list) at most
 * LISTED_PER_CODE of each code over the whole run, not per study, so that the list does not grow
 * with the number of studies. Counted exactly with every study's errors, listed or not.
 */
export function runErrors(
  queryErrors: readonly ReportError[],
  studies: readonly PacsStudyReport[],
  unreadableOf: (study: number) => ReadonlySet<string>,
): ErrorCounts & { errors: ReportError[] } {
  const counts = new CodeSample<ReportError>(0);
  const listed = new CodeSample<ReportError>(LISTED_PER_CODE);
  for (const e of queryErrors) {
    counts.add(e);
    listed.keep(e);
  }
  studies.forEach((study, index) => {
    counts.absorb([], study.errorCount !== undefined && study.errorsByCode ? { errorCount: study.errorCount, errorsByCode: study.errorsByCode } : CodeSample.of(study.errors).counted());
    const unreadable = unreadableOf(index);
    for (const e of study.errors) {
      if (unreadable.has(errorKey(e))) listed.add(e);
      else listed.keep(e);
    }
  });
  return { errors: listed.items, ...counts.counted() };
}

/** A study the run did not start because it was stopped first: in `studies[]` all the same, as not run. */
function notRun(study: StudyToRun, reason: unknown): PacsStudyReport {
  const why = reason instanceof Error ? reason.message : 'the run was stopped';
  const error = { code: 'E_CANCELLED', message: `study ${study.source} was not run: ${why}`, path: study.source };
  return { source: study.source, studyInstanceUid: studyOf(study.source), ...(study.query !== undefined ? { query: study.query } : {}), outcome: 'failed', series: [], errors: [error], ...CodeSample.of([error]).counted() };
}

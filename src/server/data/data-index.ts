/**
 * The server's view of its data folders: every series found under them (and the inputs their
 * denoise reports name), with ids, roles and comparisons. Built by scanning headers only; pixels
 * are read on demand. `refresh()` rescans every folder; `add(paths)` reads only new ones (an
 * upload, a finished job's output) and keeps the rest. Either swaps the new index in whole, so a
 * request never sees half an index.
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { realRoots, type PetFrameRef, type ScanResult, type Series } from '../../dicom/index.js';
import { sigmaSeriesKind } from '../../dicom/sigma-window.js';
import { LowdoseError } from '../../errors.js';
import { LISTED_PER_CODE } from '../../util/code-sample.js';
import { fileRevision } from '../../util/file-revision.js';
import { pairingGridMismatch, pairSlices, type SlicePairing } from '../../metrics/slice-pairing.js';
import { petFrameReport } from '../../pipeline/frame-output.js';
import { framesOfPart, referenceOfTestAgent } from '../../pipeline/agent-reference.js';
import type {
  ComparisonDetail,
  ComparisonSummary,
  PetFrame,
  SeriesDetail,
  SeriesRole,
  SeriesSummary,
  StudiesResponse,
  StudySummary,
} from '../api-types.js';
import { revisionOf, shortId } from '../ids.js';
import { scanKeepingHeaders, type IndexScanOptions, type ScanFunction } from './index-scan.js';
import { acquisitionIncomplete, seriesIncomplete, type AcquisitionIncomplete, type OutputIncomplete } from './output-completion.js';
import { comparisonPairingWarnings, pairSeries, type ComparisonDraft, type ComparisonPairingWarning, type IndexedSeries } from './pairing.js';
import { frameKey, readReportLinks, type OutputPart, type ReportLink } from './reports.js';
import { readSeriesFacts, type SeriesFacts } from './series-facts.js';

export interface IndexedComparison extends ComparisonDraft {
  readonly id: string;
  readonly alignment: ComparisonDetail['alignment'];
  /**
   * Why the reference is not scored pixel by pixel (pairingGridMismatch: the rule of `lowdose
   * metrics` and `denoise --reference`, so paired by order only the pixel spacing counts); null
   * when it is, or there is no reference.
   */
  readonly referenceGridMismatch: string | null;
  /** What makes its scored pairs suspect although they line up (comparisonPairingWarnings): another kernel, slice thickness, a gate against an ungated series. */
  readonly pairingWarnings: ComparisonPairingWarning[];
  /** The uncertainty series' calibrated σ threshold (uncertaintyThresholdOf), null for a raw spread or none. */
  readonly uncertaintyThreshold: number | null;
  /** The denoised series is not a finished run's output (./output-completion.ts); null when it is. */
  readonly incomplete: OutputIncomplete | null;
  /** The uncertainty series is not a finished run's output; null when it is, is not judged, or there is none. */
  readonly uncertaintyIncomplete: OutputIncomplete | null;
  /** The hallucination map is not a finished run's output; null when it is, is not judged, or there is none. */
  readonly hallucinationIncomplete: OutputIncomplete | null;
  /** The denoised series is a frame of an output acquisition that lacks whole frames its files declare; null otherwise. */
  readonly acquisitionIncomplete: AcquisitionIncomplete | null;
}

interface Snapshot {
  readonly series: Map<string, IndexedSeries>;
  /** One radiopharmaceutical's frames of a multi-agent PET source, by id (ownAgentView): a comparison's pane, not a listed series. */
  readonly agentViews: Map<string, IndexedSeries>;
  readonly roles: Map<string, SeriesRole>;
  readonly comparisons: Map<string, IndexedComparison>;
  readonly studies: StudySummary[];
  readonly unreadableFiles: number;
  /**
   * Denoised series (by id) whose report names a low-dose source on a PACS (`input.url`, a PACS
   * run whose pull folder is gone) that is not indexed: that address.
   */
  readonly pacsInputs: Map<string, string>;
}

/** What the folders hold, before ids and pairing: the series read and the reports' links. */
interface Contents {
  /** By series key. */
  readonly series: Map<string, Series>;
  /** By report path. */
  readonly reports: Map<string, ReportLink[]>;
  /** Files that could not be read. */
  unreadable: number;
}

export interface DataIndexLog {
  info(message: string): void;
  warn(message: string): void;
}

export type { IndexScanOptions, ScanFunction } from './index-scan.js';

const REPORT_NAME = 'report.json';

/** How the index reads a series' header facts: `readSeriesFacts`, or the same in a worker thread. */
export type FactsFunction = (series: Series) => Promise<SeriesFacts>;

const EMPTY: Snapshot = { series: new Map(), agentViews: new Map(), roles: new Map(), comparisons: new Map(), studies: [], unreadableFiles: 0, pacsInputs: new Map() };

export class DataIndex {
  private snapshot: Snapshot = EMPTY;
  private contents: Contents = { series: new Map(), reports: new Map(), unreadable: 0 };
  /**
   * Header facts and file revision per series, kept while the series object is unchanged, and
   * across a rescan while its files' revision (path, size, mtime, ctime and inode of each) is.
   */
  private indexed = new Map<string, IndexedSeries>();
  /**
   * What `referenceOfTestAgent` found for a source beside a denoised series, by both series' revisions:
   * a refresh with nothing changed reads no PET header for it, a rewritten file is read again.
   */
  private agentFramesKnown = new Map<string, Awaited<ReturnType<typeof referenceOfTestAgent>>>();
  private readonly roots: string[];
  /** Index updates run one at a time, in call order. */
  private tail: Promise<void> = Promise.resolve();
  private queuedRefresh: Promise<void> | null = null;

  constructor(
    roots: readonly string[],
    private readonly log: DataIndexLog = { info: () => {}, warn: () => {} },
    private readonly scan: ScanFunction = scanKeepingHeaders(),
    private readonly readFacts: FactsFunction = readSeriesFacts,
  ) {
    this.roots = [...new Set(roots.map((r) => path.resolve(r)))];
  }

  /**
   * Rescans every root (start-up, and POST /api/studies/refresh after files were copied in by
   * hand). Calls made while a scan runs share one follow-up scan, so the result always reflects
   * files written before the call.
   */
  refresh(): Promise<void> {
    if (this.queuedRefresh) return this.queuedRefresh;
    const run = this.tail.then(async () => {
      this.queuedRefresh = null;
      const started = performance.now();
      const contents: Contents = { series: new Map(), reports: new Map(), unreadable: 0 };
      await this.read(contents, this.roots.filter((r) => existsSync(r)), true);
      this.contents = contents;
      await this.publish(started);
    });
    this.queuedRefresh = run;
    this.tail = run.catch(() => {});
    return run;
  }

  /**
   * Adds what `paths` (new folders or files under the data folders: an upload, a job's output)
   * hold, reading only them: the rest of the index is kept as it is. A series that already had
   * files elsewhere is read again with all its files. Resolves to the keys of the series `paths`
   * hold, also those the index had before (an upload of files it already has).
   */
  add(paths: readonly string[]): Promise<string[]> {
    return this.addReading(paths).then((r) => r.keys);
  }

  /**
   * As `add`, also with the files under `paths` that could not be read (and so are in no series):
   * the first LISTED_PER_CODE of each code, and how many there are (`errorCount`, all counted).
   */
  addReading(paths: readonly string[]): Promise<{ keys: string[]; errors: LowdoseError[]; errorCount: number }> {
    const run = this.tail.then(async () => {
      const started = performance.now();
      const read = await this.read(this.contents, paths.filter((p) => existsSync(p)));
      await this.publish(started);
      return read;
    });
    this.tail = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  /** Slice count of every indexed series by key (`Series.key`). */
  sliceCounts(): Map<string, number> {
    return new Map([...this.indexed].map(([key, s]) => [key, s.series.slices.length]));
  }

  /** Summaries of the indexed series with these keys, in their order (keys not indexed are left out). */
  summariesOf(keys: readonly string[]): SeriesSummary[] {
    return keys.flatMap((key) => {
      const s = this.indexed.get(key);
      return s ? [summaryOf(s, this.snapshot.roles)] : [];
    });
  }

  /**
   * Reads `paths` into `contents`, with the inputs their reports name elsewhere in the data
   * folders; the keys of the series `paths` hold and the files of `paths` that could not be read.
   */
  private async read(contents: Contents, paths: readonly string[], wholeTree = false): Promise<{ keys: string[]; errors: LowdoseError[]; errorCount: number }> {
    if (paths.length === 0) return { keys: [], errors: [], errorCount: 0 };
    // Only what really lies in the data folders: a symlink in them that points elsewhere is not followed.
    // A folder of thousands of files that cannot be read costs a few entries per code, counted
    // exactly, in each scan's answer (and across the files thread), not one entry per file.
    const scanOptions: IndexScanOptions = { wholeTree: false, within: await realRoots(this.roots.filter((r) => existsSync(r))), listedPerCode: LISTED_PER_CODE, keepSkippedNamed: [REPORT_NAME] };
    let refused = 0;
    const merge = async (scan: ScanResult): Promise<void> => {
      contents.unreadable += scan.errorCount;
      refused += scan.outside;
      const grown: string[] = [];
      for (const s of scan.series) {
        const known = contents.series.get(s.key);
        if (known && known !== s) grown.push(...filesOf(known), ...filesOf(s));
        else contents.series.set(s.key, s);
      }
      if (grown.length > 0) {
        const again = await this.scan([...new Set(grown)], scanOptions);
        for (const s of again.series) contents.series.set(s.key, s);
      }
    };
    // A refresh scans every data folder: the headers kept of files it no longer finds are dropped.
    const scan = await this.scan(paths, { ...scanOptions, wholeTree });
    await merge(scan);
    const reportPaths = scan.skipped.filter((s) => path.basename(s.path) === REPORT_NAME).map((s) => s.path);
    for (const reportPath of reportPaths) contents.reports.set(reportPath, await readReportLinks(reportPath));

    // A report's input series in another of the data folders (or another place in this one) than the
    // report: add it. Inputs a report names outside the data folders are not served (give their
    // folder with --data to compare against them).
    const known = new Set([...contents.series.values()].map((s) => s.seriesInstanceUid));
    const links = reportPaths.flatMap((p) => contents.reports.get(p) ?? []);
    const outside = [...new Set(links.filter((l) => !known.has(l.inputUid)).flatMap((l) => l.inputFiles))].filter(existsSync);
    if (outside.length > 0) {
      const extra = await this.scan(outside, scanOptions);
      contents.unreadable += extra.errorCount;
      refused += extra.outside;
      for (const s of extra.series) if (!contents.series.has(s.key)) contents.series.set(s.key, s);
    }
    if (refused > 0) this.log.warn(`${refused} path(s) lead outside the data folders (symlinks, or report inputs elsewhere): not served`);
    return { keys: scan.series.map((s) => s.key), errors: scan.errors, errorCount: scan.errorCount };
  }

  /** Ids, roles, comparisons and studies of the current contents, swapped in whole. */
  private async publish(started: number): Promise<void> {
    const contents = this.contents;
    const indexed: IndexedSeries[] = [];
    let unreadable = contents.unreadable;
    for (const s of contents.series.values()) {
      const cached = this.indexed.get(s.key);
      if (cached && cached.series === s) {
        indexed.push(cached);
        continue;
      }
      try {
        // A rescan reads every series anew: its facts are the same while none of its files changed.
        const rev = await revisionOfFiles(s);
        indexed.push(
          cached && cached.rev === rev
            ? { ...cached, series: s }
            : { id: shortId('series', s.key), studyId: shortId('study', s.studyInstanceUid), series: s, facts: await this.readFacts(s), rev },
        );
      } catch (error) {
        unreadable += s.slices.length;
        this.log.warn(`series ${shortId('series', s.key)} skipped: ${(error as Error).message}`);
      }
    }
    this.indexed = new Map(indexed.map((s) => [s.series.key, s]));
    const links = [...contents.reports.values()].flat();
    const { roles, comparisons: paired } = pairSeries(indexed, links);
    // Each per-radiopharmaceutical series beside its own agent's frames of the source only, and of
    // its reference where that is a source of several agents too (a full-count acquisition of both).
    const agentViews = new Map<string, IndexedSeries>();
    const agentFramesFound: typeof this.agentFramesKnown = new Map();
    const drafts: ComparisonDraft[] = [];
    for (const draft of paired) {
      const lowDose =
        (draft.part && this.partView(draft.lowDose, draft.part, 'frames', agentViews, roles)) || (await this.ownAgentView(draft.lowDose, draft.denoised, agentViews, roles, agentFramesFound));
      const reference = draft.reference
        ? (draft.part && this.partView(draft.reference, draft.part, 'structure', agentViews, roles)) ||
          (await this.ownAgentView(draft.reference, draft.denoised, agentViews, roles, agentFramesFound))
        : null;
      drafts.push(lowDose === draft.lowDose && reference === draft.reference ? draft : { ...draft, lowDose, reference });
    }
    this.agentFramesKnown = agentFramesFound;
    // The frames read of each dynamic or gated acquisition (./output-completion.ts acquisitionIncomplete).
    const framesRead = new Map<string, Set<number>>();
    for (const s of indexed) {
      const ref = s.series.petFrame;
      if (ref) framesRead.set(ref.acquisitionKey, (framesRead.get(ref.acquisitionKey) ?? new Set()).add(ref.frame));
    }
    const framesOf = (s: IndexedSeries) => (s.series.petFrame ? (framesRead.get(s.series.petFrame.acquisitionKey) ?? new Set<number>()) : null);
    const comparisons = new Map<string, IndexedComparison>();
    for (const draft of drafts) {
      const id = shortId('comparison', draft.denoised.series.key);
      const alignment = alignPanes(draft);
      if (alignment) {
        const incomplete = await seriesIncomplete(draft.denoised, draft.lowDose, 'denoised');
        const uncertaintyIncomplete = draft.uncertainty ? await seriesIncomplete(draft.uncertainty, draft.lowDose, 'uncertainty') : null;
        const hallucinationIncomplete = draft.hallucination ? await seriesIncomplete(draft.hallucination, draft.lowDose, 'hallucination') : null;
        const denoisedFrames = framesOf(draft.denoised);
        const acquisition = denoisedFrames ? acquisitionIncomplete(draft.denoised, denoisedFrames, framesOf(draft.lowDose)) : null;
        comparisons.set(id, {
          ...draft,
          id,
          alignment,
          referenceGridMismatch: referenceGridMismatch(draft),
          pairingWarnings: comparisonPairingWarnings(draft),
          uncertaintyThreshold: uncertaintyThresholdOf(draft),
          incomplete,
          uncertaintyIncomplete,
          hallucinationIncomplete,
          acquisitionIncomplete: acquisition,
        });
      }
    }
    this.snapshot = {
      series: new Map(indexed.map((s) => [s.id, s])),
      agentViews,
      roles,
      comparisons,
      studies: studiesOf(indexed, roles, [...comparisons.values()]),
      unreadableFiles: unreadable,
      pacsInputs: pacsInputsOf(indexed, links, comparisons),
    };
    this.log.info(
      `indexed ${indexed.length} series in ${this.snapshot.studies.length} studies, ${comparisons.size} comparisons, ` +
        `${contents.reports.size} reports, ${unreadable} unreadable files (${Math.round(performance.now() - started)} ms)`,
    );
  }

  /** The PACS address of the low-dose source of denoised series `id` that is not indexed (its report's `input.url`); null when none. */
  pacsInputOf(id: string): string | null {
    return this.snapshot.pacsInputs.get(id) ?? null;
  }

  /** The id of the comparison whose denoised series is `id`; null when it is in none. */
  comparisonOfDenoised(id: string): string | null {
    for (const c of this.snapshot.comparisons.values()) if (c.denoised.id === id) return c.id;
    return null;
  }

  /**
   * `source` (a comparison's low-dose series or its reference) as the comparison of `denoised`
   * shows and scores it: where `source` is a multi-frame PET series whose frames name several
   * radiopharmaceuticals and `denoised` one of the per-agent series `denoise` writes of such a
   * source, that agent's frames only (src/pipeline/agent-reference.ts, the rule of `lowdose
   * metrics`), as a series of its own id (registered in `views`, its role the source's): the
   * low-dose and reference panes, their slice pairing and the PET range (the reference's maximum
   * where there is one) then hold no frame of the other tracer. Otherwise `source` itself. What
   * was found is kept in `found` by both series' revisions, and taken from the last publish's when
   * neither changed (the headers are not read again).
   */
  private async ownAgentView(
    source: IndexedSeries,
    denoised: IndexedSeries,
    views: Map<string, IndexedSeries>,
    roles: Map<string, SeriesRole>,
    found: Map<string, Awaited<ReturnType<typeof referenceOfTestAgent>>>,
  ): Promise<IndexedSeries> {
    let own: Awaited<ReturnType<typeof referenceOfTestAgent>>;
    const known = `${source.rev} ${denoised.rev}`;
    try {
      own = found.has(known) ? found.get(known)! : this.agentFramesKnown.has(known) ? this.agentFramesKnown.get(known)! : await referenceOfTestAgent(source.series, denoised.series);
      found.set(known, own);
    } catch (error) {
      this.log.warn(`series ${source.id}: the radiopharmaceutical of its frames could not be read (${(error as Error).message}); compared whole`);
      return source;
    }
    if (!own) return source;
    // One view per agent, and per gate where the denoised series is one gate of it.
    const key = `${source.series.key}#agent${own.agent}${own.gate ? `#${own.gate}` : ''}`;
    const id = shortId('series', key);
    const view = views.get(id) ?? { ...source, id, series: { ...own.series, key }, rev: revisionOf([source.rev, own.agent, ...(own.gate ? [own.gate] : [])]) };
    views.set(id, view);
    roles.set(id, roles.get(source.id) ?? 'original');
    return view;
  }

  /**
   * `source` as the comparison of one of the several series a multi-frame PET input was written as
   * (one per agent and respiratory gate) shows and scores it, from the report's record of that
   * series (`output.series`): the low-dose input by the frames it was made from (`frames`), a
   * reference by its frames of the same agent and gates where it is written as the same series
   * (`structure`; src/pipeline/agent-reference.ts framesOfPart, what `denoise --reference` scored
   * it against). A series of its own id (registered in `views`, its role the source's); null
   * when `source` has no such frames (the caller then falls back to its agent's frames).
   */
  private partView(source: IndexedSeries, part: OutputPart, by: 'frames' | 'structure', views: Map<string, IndexedSeries>, roles: Map<string, SeriesRole>): IndexedSeries | null {
    let slices: Series['slices'];
    try {
      slices = by === 'frames' ? source.series.slices.filter((s) => part.frames.has(frameKey(s.sopInstanceUid, s.frame))) : (framesOfPart(source.series, part)?.slices ?? []);
    } catch (error) {
      this.log.warn(`series ${source.id}: the agent and gate of its frames could not be read (${(error as Error).message}); compared by agent`);
      return null;
    }
    if (slices.length === 0 || slices.length === source.series.slices.length) return null;
    const words = `${part.agent ?? ''}${part.respiratoryGate ? `r${part.respiratoryGate.gate}` : ''}${part.cardiacGate ? `c${part.cardiacGate.gate}` : ''}`;
    const key = `${source.series.key}#part${words}`;
    const id = shortId('series', key);
    const view = views.get(id) ?? { ...source, id, series: { ...source.series, slices, key }, rev: revisionOf([source.rev, key, slices.length]) };
    views.set(id, view);
    roles.set(id, roles.get(source.id) ?? 'original');
    return view;
  }

  studies(): StudiesResponse {
    return { studies: this.snapshot.studies, unreadableFiles: this.snapshot.unreadableFiles };
  }

  series(id: string): IndexedSeries {
    const found = this.snapshot.series.get(id) ?? this.snapshot.agentViews.get(id);
    if (!found) throw new LowdoseError('E_NOT_FOUND', `no series with id ${id}`);
    return found;
  }

  comparison(id: string): IndexedComparison {
    const found = this.snapshot.comparisons.get(id);
    if (!found) throw new LowdoseError('E_NOT_FOUND', `no comparison with id ${id}`);
    return found;
  }

  seriesDetail(id: string): SeriesDetail {
    const s = this.series(id);
    return {
      ...summaryOf(s, this.snapshot.roles),
      rev: s.rev,
      spacing: s.series.spacing,
      derivation: s.facts.derivationDescription,
      window: s.facts.window,
      photometricInterpretation: s.series.photometricInterpretation ?? 'MONOCHROME2',
      locations: s.series.slices.map((slice) => slice.location),
      positions: s.series.slices.map((slice) => slice.position),
      frameOfReferenceUid: s.series.frameOfReferenceUid ?? null,
      transferSyntaxes: s.series.transferSyntaxes,
      warnings: s.series.warnings.map((w) => ({ code: w.code, message: w.message })),
      orientation: s.series.orientation,
      sliceThickness: s.facts.sliceThickness,
      studyDate: s.facts.studyDate,
      studyDescription: s.facts.studyDescription,
      patientName: s.facts.patientName,
      patientId: s.facts.patientId,
    };
  }

  comparisonDetail(id: string): ComparisonDetail {
    const c = this.comparison(id);
    return {
      ...comparisonSummary(c),
      alignment: c.alignment,
      report: c.report,
      unscoredReason: c.referenceGridMismatch,
      uncertaintyThreshold: c.uncertaintyThreshold,
      pairingWarnings: c.pairingWarnings.map((w) => ({ ...w })),
    };
  }

  /** Series with a file under `dir` (what an upload into `dir` produced). */
  seriesUnder(dir: string): SeriesSummary[] {
    const prefix = path.resolve(dir) + path.sep;
    return [...this.snapshot.series.values()]
      .filter((s) => s.series.slices.some((slice) => slice.file.startsWith(prefix)))
      .map((s) => summaryOf(s, this.snapshot.roles));
  }

  /** Comparisons whose denoised series has the given SeriesInstanceUID. */
  comparisonsForOutputs(seriesInstanceUids: readonly string[]): string[] {
    return this.outputsOf(seriesInstanceUids).map((c) => c.id);
  }

  /** The comparisons of denoised series, with the ids of their uncertainty and hallucination series (a job's result). */
  outputsOf(seriesInstanceUids: readonly string[]): Array<{ id: string; uncertainty: string | null; hallucination: string | null }> {
    const wanted = new Set(seriesInstanceUids);
    return [...this.snapshot.comparisons.values()]
      .filter((c) => wanted.has(c.denoised.series.seriesInstanceUid))
      .map((c) => ({ id: c.id, uncertainty: c.uncertainty?.id ?? null, hallucination: c.hallucination?.id ?? null }));
  }
}

function filesOf(series: Series): string[] {
  return [...new Set(series.slices.map((slice) => slice.file))];
}

/** The series' key and each of its files' revision (path, size, mtime, ctime, inode: src/util/file-revision.ts). */
async function revisionOfFiles(series: Series): Promise<string> {
  const parts: Array<string | number> = [series.key];
  for (const file of new Set(series.slices.map((s) => s.file))) parts.push(file, fileRevision(await stat(file)));
  return revisionOf(parts);
}

/** Slice matching of every pane against the low-dose series, and how each was matched; null when the denoised one cannot be matched. */
function alignPanes(draft: ComparisonDraft): IndexedComparison['alignment'] | null {
  const align = (other: IndexedSeries | null): SlicePairing | null => {
    if (!other) return null;
    try {
      return pairSlices(draft.lowDose.series, other.series);
    } catch {
      return null;
    }
  };
  const denoised = align(draft.denoised);
  if (!denoised) return null;
  const [reference, uncertainty, hallucination] = [align(draft.reference), align(draft.uncertainty), align(draft.hallucination)];
  const indices = (p: SlicePairing | null) => p?.pairs.map(([, t]) => t) ?? null;
  return {
    denoised: indices(denoised)!,
    reference: indices(reference),
    uncertainty: indices(uncertainty),
    hallucination: indices(hallucination),
    matchedBy: { denoised: denoised.matchedBy, reference: reference?.matchedBy ?? null, uncertainty: uncertainty?.matchedBy ?? null, hallucination: hallucination?.matchedBy ?? null },
  };
}

/**
 * The calibrated σ threshold of the comparison's uncertainty series, as the series itself says
 * (its own window, sigmaSeriesKind: `SIGMA 0-40 HU` is σ with threshold 10, `SD … (SLICE P99)` a raw
 * spread), so a folder without its report.json shows calibrated σ as calibrated; the report's
 * only for a series whose window says neither (written without its own window).
 */
function uncertaintyThresholdOf(draft: ComparisonDraft): number | null {
  if (!draft.uncertainty) return null;
  const kind = sigmaSeriesKind(draft.uncertainty.facts.windowExplanation);
  if (kind) return kind.calibrated ? kind.threshold : null;
  return draft.report?.uncertaintyThreshold ?? null;
}

/** The reference's grid check as the CLI makes it: the reference paired against the low-dose series (pairSlices), then pairingGridMismatch. */
function referenceGridMismatch(draft: ComparisonDraft): string | null {
  if (!draft.reference) return null;
  try {
    return pairingGridMismatch(draft.reference.series, draft.lowDose.series, pairSlices(draft.reference.series, draft.lowDose.series));
  } catch (error) {
    return (error as Error).message;
  }
}

/** Denoised series whose report's low-dose input came from a PACS (`input.url`) and is in no comparison: by id, that address. */
function pacsInputsOf(indexed: readonly IndexedSeries[], links: readonly ReportLink[], comparisons: ReadonlyMap<string, IndexedComparison>): Map<string, string> {
  const paired = new Set([...comparisons.values()].map((c) => c.denoised.id));
  const byUid = new Map<string, IndexedSeries[]>();
  for (const s of indexed) byUid.set(s.series.seriesInstanceUid, [...(byUid.get(s.series.seriesInstanceUid) ?? []), s]);
  const found = new Map<string, string>();
  for (const link of links) {
    if (link.inputUrl === null) continue;
    for (const s of byUid.get(link.outputUid) ?? []) if (!paired.has(s.id) && !found.has(s.id)) found.set(s.id, link.inputUrl);
  }
  return found;
}

function summaryOf(s: IndexedSeries, roles: ReadonlyMap<string, SeriesRole>): SeriesSummary {
  return {
    id: s.id,
    studyId: s.studyId,
    modality: s.series.modality,
    description: s.series.seriesDescription,
    seriesNumber: s.facts.seriesNumber,
    role: roles.get(s.id) ?? 'original',
    rows: s.series.rows,
    columns: s.series.columns,
    slices: s.series.slices.length,
    units: s.series.units,
    provenance: s.facts.provenance,
    ...(s.series.petFrame ? { petFrame: apiPetFrame(s.series.petFrame) } : {}),
  };
}

/** A frame as the API names it: `info --json`'s petFrame without its acquisitionKey. */
function apiPetFrame(ref: PetFrameRef): PetFrame {
  const { kind, frame, frames, tag, timing, gating } = petFrameReport(ref);
  return { kind, frame, frames, tag, ...(timing ? { timing } : {}), ...(gating ? { gating } : {}) };
}

function comparisonSummary(c: IndexedComparison): ComparisonSummary {
  return {
    id: c.id,
    studyId: c.lowDose.studyId,
    modality: c.lowDose.series.modality,
    description: c.denoised.series.seriesDescription || c.lowDose.series.seriesDescription,
    lowDose: c.lowDose.id,
    denoised: c.denoised.id,
    reference: c.reference?.id ?? null,
    uncertainty: c.uncertainty?.id ?? null,
    hallucination: c.hallucination?.id ?? null,
    pairedBy: c.pairedBy,
    incomplete: c.incomplete,
    uncertaintyIncomplete: c.uncertaintyIncomplete,
    hallucinationIncomplete: c.hallucinationIncomplete,
    acquisitionIncomplete: c.acquisitionIncomplete ? { ...c.acquisitionIncomplete, missing: [...c.acquisitionIncomplete.missing] } : null,
  };
}

function studiesOf(
  series: readonly IndexedSeries[],
  roles: ReadonlyMap<string, SeriesRole>,
  comparisons: readonly IndexedComparison[],
): StudySummary[] {
  const byStudy = new Map<string, IndexedSeries[]>();
  for (const s of series) byStudy.set(s.studyId, [...(byStudy.get(s.studyId) ?? []), s]);
  const studies: StudySummary[] = [];
  for (const [id, members] of byStudy) {
    members.sort(
      (a, b) => (a.facts.seriesNumber ?? 1e9) - (b.facts.seriesNumber ?? 1e9) || a.series.seriesDescription.localeCompare(b.series.seriesDescription),
    );
    const first = members[0]!;
    studies.push({
      id,
      description: first.facts.studyDescription,
      date: first.facts.studyDate,
      modalities: [...new Set(members.map((s) => s.series.modality))],
      series: members.map((s) => summaryOf(s, roles)),
      comparisons: comparisons.filter((c) => c.lowDose.studyId === id).map(comparisonSummary),
    });
  }
  return studies.sort((a, b) => b.date.localeCompare(a.date) || a.description.localeCompare(b.description) || a.id.localeCompare(b.id));
}

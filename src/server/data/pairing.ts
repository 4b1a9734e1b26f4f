/**
 * Which series is what, and which go side by side: pure logic over indexed series and report
 * links. A denoise report names its pairs exactly; without one, DICOM derivation headers do
 * (ImageType DERIVED, DerivationDescription, SourceImageSequence pointing at the source's SOP
 * instances). A reference is the series the report's metrics used, else the normal-dose series a
 * simulated low-dose series was made from (its matched full-dose reconstruction when there is one).
 */
import { sameFrame, type Series } from '../../dicom/index.js';
import { pairingWarnings } from '../../metrics/pairing-warnings.js';
import type { PairingWarning, ReportFacts, SeriesRole } from '../api-types.js';
import type { OutputPart, ReportLink } from './reports.js';
import type { SeriesFacts } from './series-facts.js';

export interface IndexedSeries {
  readonly id: string;
  readonly studyId: string;
  readonly series: Series;
  readonly facts: SeriesFacts;
  readonly rev: string;
}

export interface ComparisonDraft {
  readonly lowDose: IndexedSeries;
  readonly denoised: IndexedSeries;
  readonly reference: IndexedSeries | null;
  readonly uncertainty: IndexedSeries | null;
  readonly hallucination: IndexedSeries | null;
  readonly pairedBy: 'report' | 'headers';
  readonly report: ReportFacts | null;
  /** The report's record of what the denoised series was made from, when the input was written as several series (`output.series`). */
  readonly part?: OutputPart;
}

export interface Pairing {
  readonly roles: Map<string, SeriesRole>;
  readonly comparisons: ComparisonDraft[];
}

/**
 * A pairing warning of a comparison (pairingWarnings) and the pane whose scores it makes suspect:
 * the low-dose's against the reference, or the denoised's against the reference (else its
 * low-dose source). The API's type (./schemas.ts pairingWarning), so the viewer's pane text can
 * take it without importing this server module.
 */
export type ComparisonPairingWarning = PairingWarning;

/**
 * What makes the comparison's pairs suspect although they line up (another kernel, slice thickness,
 * a gate against an ungated series: `pairingWarnings`, the function `lowdose metrics` and `denoise
 * --reference` warn with), for each pair the viewer scores: the low-dose and the denoised series
 * against the reference when there is one, else the denoised against its low-dose source. From
 * the series' own headers, however the comparison was paired (report.json or headers).
 */
export function comparisonPairingWarnings(draft: Pick<ComparisonDraft, 'lowDose' | 'denoised' | 'reference'>): ComparisonPairingWarning[] {
  const scored = (against: IndexedSeries, test: IndexedSeries, scores: ComparisonPairingWarning['scores']) =>
    pairingWarnings(against.series, test.series, scores === 'lowDose' ? 'low-dose' : 'denoised').map(({ code, message }) => ({ code, message, scores }));
  if (!draft.reference) return scored(draft.lowDose, draft.denoised, 'denoised');
  return [...scored(draft.reference, draft.lowDose, 'lowDose'), ...scored(draft.reference, draft.denoised, 'denoised')];
}

/** A series' role from its own headers (reports may override it). */
export function roleFromHeaders(facts: SeriesFacts): SeriesRole {
  if (facts.imageType[0] !== 'DERIVED') return 'original';
  const how = facts.derivationDescription.toLowerCase();
  // "lowdose sFRC hallucination map: ..." (before the denoised rule: it starts with "lowdose" too).
  if (how.includes('hallucination map')) return 'hallucination';
  if (how.includes('simulate')) return how.includes('full-dose') || how.includes('full dose') ? 'full-dose' : 'low-dose';
  if (how.includes('uncertainty') || how.includes('standard deviation')) return 'uncertainty';
  // `lowdose denoise` writes "lowdose diffusion model ...", "lowdose gaussian filter: ...".
  if (how.startsWith('lowdose') || how.includes('denois')) return 'denoised';
  return 'derived';
}

/** Same modality and units: one quantity, so the panes share a window and ROI readouts compare. */
export function sameQuantity(a: Series, b: Series): boolean {
  return a.modality === b.modality && a.units === b.units;
}

/** Same modality, grid and units: the panes can be compared pixel for pixel. */
export function comparable(a: Series, b: Series): boolean {
  return a.modality === b.modality && a.rows === b.rows && a.columns === b.columns && a.units === b.units;
}

export function pairSeries(all: readonly IndexedSeries[], links: readonly ReportLink[]): Pairing {
  const roles = new Map<string, SeriesRole>(all.map((s) => [s.id, roleFromHeaders(s.facts)]));
  const byUid = new Map<string, IndexedSeries>();
  // One UID reads as several series for a dynamic or gated PET acquisition (one per frame, keys
  // `#t<n>` / `#g<n>`), the source and its derived series alike.
  const allByUid = new Map<string, IndexedSeries[]>();
  const bySop = new Map<string, IndexedSeries>();
  for (const s of all) {
    if (!byUid.has(s.series.seriesInstanceUid)) byUid.set(s.series.seriesInstanceUid, s);
    allByUid.set(s.series.seriesInstanceUid, [...(allByUid.get(s.series.seriesInstanceUid) ?? []), s]);
    for (const slice of s.series.slices) bySop.set(slice.sopInstanceUid, s);
  }
  const sourceOf = (s: IndexedSeries): IndexedSeries | null => {
    for (const uid of s.facts.sourceSopInstanceUids) {
      const found = bySop.get(uid);
      if (found && found !== s) return found;
    }
    return null;
  };

  const comparisons: ComparisonDraft[] = [];
  const paired = new Set<string>();
  /** The series of `uid` made from `source` (its SourceImageSequence), else the first of that UID. */
  const madeFrom = (uid: string | null, source: IndexedSeries): IndexedSeries | undefined => {
    const candidates = uid === null ? [] : (allByUid.get(uid) ?? []);
    return candidates.find((s) => sourceOf(s) === source) ?? candidates[0];
  };
  for (const link of links) {
    // The report's input files name the frame of a split acquisition.
    const inputFiles = new Set(link.inputFiles);
    const lowDose = (allByUid.get(link.inputUid) ?? []).find((s) => s.series.slices.some((slice) => inputFiles.has(slice.file))) ?? byUid.get(link.inputUid);
    const denoised = lowDose ? madeFrom(link.outputUid, lowDose) : undefined;
    if (!lowDose || !denoised || paired.has(denoised.id) || !comparable(lowDose.series, denoised.series)) continue;
    const uncertaintyCandidate = madeFrom(link.uncertaintyUid, lowDose);
    const uncertainty = uncertaintyCandidate && sameGrid(uncertaintyCandidate.series, lowDose.series) ? uncertaintyCandidate : null;
    const mapCandidate = madeFrom(link.hallucinationUid, lowDose);
    const hallucination = mapCandidate && sameGrid(mapCandidate.series, lowDose.series) ? mapCandidate : null;
    // The report names the reference by UID, which a dynamic or gated reference shares over its
    // frames: the frame scored was the input's own (sameFrame, the rule denoise --reference used).
    const named = link.referenceUid === null ? undefined : (allByUid.get(link.referenceUid) ?? []).find((s) => sameFrame(s.series, lowDose.series));
    // A report's reference may lie on another matrix (a cropped field of view, linked as
    // unscoredReference): the viewer shows it and places ROIs through patient coordinates.
    const reference =
      named && named !== lowDose && sameQuantity(named.series, lowDose.series) ? named : referenceFor(lowDose, all, roles, sourceOf);
    roles.set(denoised.id, 'denoised');
    if (uncertainty) roles.set(uncertainty.id, 'uncertainty');
    if (hallucination) roles.set(hallucination.id, 'hallucination');
    paired.add(denoised.id);
    comparisons.push({
      lowDose,
      denoised,
      reference,
      uncertainty,
      hallucination: hallucination ?? mapOf(denoised, lowDose, all, roles, sourceOf),
      pairedBy: 'report',
      report: link.facts,
      ...(link.part ? { part: link.part } : {}),
    });
  }

  for (const denoised of all) {
    if (roles.get(denoised.id) !== 'denoised' || paired.has(denoised.id)) continue;
    const lowDose = sourceOf(denoised);
    if (!lowDose || !comparable(lowDose.series, denoised.series)) continue;
    const siblings = all.filter((s) => roles.get(s.id) === 'denoised' && sourceOf(s) === lowDose);
    const uncertainty =
      all.find((u) => roles.get(u.id) === 'uncertainty' && sourceOf(u) === denoised && sameGrid(u.series, lowDose.series)) ??
      (siblings.length === 1
        ? all.find((u) => roles.get(u.id) === 'uncertainty' && sourceOf(u) === lowDose && sameGrid(u.series, lowDose.series))
        : undefined) ??
      null;
    paired.add(denoised.id);
    comparisons.push({
      lowDose,
      denoised,
      reference: referenceFor(lowDose, all, roles, sourceOf),
      uncertainty,
      hallucination: mapOf(denoised, lowDose, all, roles, sourceOf, siblings.length === 1),
      pairedBy: 'headers',
      report: null,
    });
  }
  return { roles, comparisons };
}

/**
 * A hallucination map for a denoised series from headers: one derived from the denoised series
 * itself (`metrics --hallucination --test <denoised>`), else, when the low-dose series has only
 * this one denoised version, one derived from the low-dose series (`denoise --hallucination`).
 */
function mapOf(
  denoised: IndexedSeries,
  lowDose: IndexedSeries,
  all: readonly IndexedSeries[],
  roles: ReadonlyMap<string, SeriesRole>,
  sourceOf: (s: IndexedSeries) => IndexedSeries | null,
  onlyDenoised = false,
): IndexedSeries | null {
  const maps = all.filter((m) => roles.get(m.id) === 'hallucination' && sameGrid(m.series, lowDose.series));
  return maps.find((m) => sourceOf(m) === denoised) ?? (onlyDenoised ? maps.find((m) => sourceOf(m) === lowDose) : undefined) ?? null;
}

function sameGrid(a: Series, b: Series): boolean {
  return a.rows === b.rows && a.columns === b.columns;
}

/** The normal-dose series behind a simulated low-dose one: its matched full-dose twin, else its source. */
function referenceFor(
  lowDose: IndexedSeries,
  all: readonly IndexedSeries[],
  roles: ReadonlyMap<string, SeriesRole>,
  sourceOf: (s: IndexedSeries) => IndexedSeries | null,
): IndexedSeries | null {
  if (roles.get(lowDose.id) !== 'low-dose') return null;
  const original = sourceOf(lowDose);
  if (!original) return null;
  const twin = all.find(
    (s) => roles.get(s.id) === 'full-dose' && sourceOf(s) === original && comparable(s.series, lowDose.series),
  );
  if (twin) return twin;
  return comparable(original.series, lowDose.series) ? original : null;
}

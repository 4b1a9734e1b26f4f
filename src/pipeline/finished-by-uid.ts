/**
 * `--skip-by-uid`: a rerun of a PACS study judges it finished from the PACS's answers alone, without
 * pulling it. Each series the run would denoise (listed with QIDO-RS / C-FIND SERIES level, its
 * instances with QIDO-RS / C-FIND IMAGE level) must be finished in -o: the completion markers
 * whose `input.seriesInstanceUid` is the series (one per series folder, one per frame of a dynamic
 * or gated PET acquisition) record, together, exactly the SOP Instance UIDs the PACS lists (none
 * missing, none extra), each with its `input.content` (a marker an older lowdose wrote has none),
 * the derived files they list are there, a frame was finished under its acquisition's recorded
 * series, and the series was made with this run's method, model, settings and model files and
 * holds the extra outputs this run asks for (./made-with.ts, ./extra-outputs.ts, as the pulled
 * rerun checks them). Anything else, an instance list that may lack instances, `--overwrite` or
 * `--reference`: the study is pulled and checked as without the option.
 *
 * What it does not check: the content hashes the marker records of each slice (its pixels and the
 * header attributes its derived slice carries, ./input-content.ts) need the instances themselves.
 * An instance corrected on the PACS under the same SOP Instance UID (a PatientName, PatientWeight
 * or injected dose reconciled, a RescaleSlope fixed) is judged finished and its output, made from
 * the old instance, is kept. That is why it is an option: without it every study is pulled and
 * compared slice by slice (./denoise.ts).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_PADDING_FILL } from '../padding.js';
import { finishedUnder, readAcquisitionUids } from './acquisition-series.js';
import { extraOutputsOfDenoiser, extraOutputsOfReport, missingExtraOutputs } from './extra-outputs.js';
import { isCompletionMarker } from './frame-output.js';
import { isInputContent } from './input-content.js';
import { madeWithDifference, madeWithOf, madeWithOfReport } from './made-with.js';
import { planSliceDenoiser } from './slice-denoiser.js';
import type { DenoiseOptions, SeriesReport } from './types.js';

/** What `SeriesReport.skippedBy` says of a series judged finished this way. */
export const SKIPPED_BY_UID = 'sop-instance-uids' as const;

/** The `notPulled` of a study's dicomweb / dimse section when it was judged finished this way. */
export const NOT_PULLED =
  'every series the run would denoise is finished in -o with exactly the SOP Instance UIDs the PACS lists (--skip-by-uid): judged by UIDs without pulling; the instances\' content was not compared';

/** One series of the study as the PACS lists it. */
export interface ListedSeriesUids {
  readonly seriesInstanceUid: string;
  readonly modality: string;
  /** Its address on the PACS (DICOMweb series URL or dimse:// address): `input.url` of a series judged finished. */
  readonly url: string;
  /** Its instances' SOP Instance UIDs; null when the list may lack some (capped, not paged, short). */
  readonly sopInstanceUids: readonly string[] | null;
}

/** A completion marker found in -o and the series folder it lies in. */
interface FoundMarker {
  readonly dir: string;
  readonly report: SeriesReport;
}

/** Every readable completion marker under `outDir` (one level of series folders). */
async function markersIn(outDir: string): Promise<FoundMarker[]> {
  const found: FoundMarker[] = [];
  const folders = await readdir(outDir, { withFileTypes: true }).catch(() => []);
  for (const folder of folders.filter((f) => f.isDirectory())) {
    const dir = path.join(outDir, folder.name);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.filter(isCompletionMarker)) {
      try {
        const report = JSON.parse(await readFile(path.join(dir, name), 'utf8')) as SeriesReport;
        if (typeof report?.input?.seriesInstanceUid === 'string' && report.output?.dir) found.push({ dir, report });
      } catch {
        // Being replaced or damaged: it marks nothing finished.
      }
    }
  }
  return found;
}

/** Why the markers of one series do not make it finished with exactly these UIDs; '' when they do. */
async function uidMismatch(series: ListedSeriesUids, markers: readonly FoundMarker[]): Promise<string> {
  if (series.sopInstanceUids === null) return `the PACS's instance list of series ${series.seriesInstanceUid} may lack instances`;
  if (markers.length === 0) return `series ${series.seriesInstanceUid} is not finished in -o`;
  const recorded = new Set<string>();
  for (const { dir, report } of markers) {
    const content = report.input.content;
    if (!isInputContent(content)) return `a completion marker of series ${series.seriesInstanceUid} in ${dir} records no instance UIDs (an older lowdose wrote it)`;
    for (const slice of content.slices) recorded.add(slice.sopInstanceUid);
    const files = [...report.output.files, ...(report.uncertainty?.files ?? [])];
    if (files.some((f) => !existsSync(f))) return `a derived file of series ${series.seriesInstanceUid} listed by its completion marker in ${dir} is missing`;
    if (report.input.petFrame && !finishedUnder(report, await readAcquisitionUids(dir))) return `a frame of series ${series.seriesInstanceUid} in ${dir} was finished under a replaced acquisition series`;
  }
  const listed = new Set(series.sopInstanceUids);
  const missing = [...listed].filter((uid) => !recorded.has(uid)).length;
  const extra = [...recorded].filter((uid) => !listed.has(uid)).length;
  if (missing > 0 || extra > 0) return `series ${series.seriesInstanceUid}: the PACS lists ${listed.size} instance(s), ${missing} of them not in the finished output, which has ${extra} the PACS does not list`;
  return '';
}

/**
 * The finished series of the study (each marker's report, `skipped: true`, `skippedBy`), when
 * every listed series is finished with exactly the PACS's SOP Instance UIDs and was made as this
 * run would make it (see the module comment); null, with the reason logged, when the study must be
 * pulled. What the run's denoiser makes is known from the model card, the settings and the model
 * files' hashes (planSliceDenoiser): no model is loaded and no pixel is read, so a rerun whose
 * studies are all finished never loads the model.
 */
export async function finishedByUid(
  outDir: string,
  listed: readonly ListedSeriesUids[],
  options: DenoiseOptions,
  log: (message: string) => void,
): Promise<SeriesReport[] | null> {
  const pull = (why: string): null => {
    log(`--skip-by-uid: pulling the study: ${why}`);
    return null;
  };
  if (options.overwrite) return pull('--overwrite redoes its series');
  if (options.reference?.length) return pull('--reference scores the finished files against the reference, which needs the study');
  const markers = await markersIn(path.resolve(outDir));
  const bySeries = new Map<string, FoundMarker[]>();
  for (const s of listed) bySeries.set(s.seriesInstanceUid, markers.filter((m) => m.report.input.seriesInstanceUid === s.seriesInstanceUid));
  for (const s of listed) {
    const why = await uidMismatch(s, bySeries.get(s.seriesInstanceUid)!);
    if (why !== '') return pull(why);
  }
  // Made as this run makes it, with the extras it asks for: else the pulled rerun says what differs (E_EXISTS).
  const paddingFill = options.paddingFill ?? DEFAULT_PADDING_FILL;
  for (const modality of new Set(listed.map((s) => s.modality))) {
    // What the run would make, from the card and the settings: no model is loaded for a study not pulled.
    const denoiser = await planSliceDenoiser(modality as 'CT' | 'PT', options);
    const madeWith = madeWithOf(denoiser, paddingFill);
    const extras = extraOutputsOfDenoiser(denoiser, options);
    for (const s of listed.filter((l) => l.modality === modality)) {
      for (const { dir, report } of bySeries.get(s.seriesInstanceUid)!) {
        const differs = madeWithDifference(madeWithOfReport(report), madeWith);
        if (differs !== '') return pull(`${dir} was made otherwise (${differs})`);
        const lacks = missingExtraOutputs(extraOutputsOfReport(report), extras, denoiser.uncertainty?.units ?? null);
        if (lacks !== '') return pull(`${dir} holds its series finished ${lacks}`);
      }
    }
  }
  // Its input as this run had it: no file read (the marker's files were the first run's pull
  // folder, removed once it succeeded), the series' PACS address it was judged by.
  const reports = listed.flatMap((s) =>
    bySeries.get(s.seriesInstanceUid)!.map(({ report }) => ({ ...report, input: { ...report.input, files: [], url: s.url }, skipped: true, skippedBy: SKIPPED_BY_UID })),
  );
  for (const r of reports) log(`${r.input.modality ?? ''} series ${r.input.seriesInstanceUid}${r.input.petFrame ? ` ${r.input.petFrame.tag}` : ''}: already done in ${r.output.dir}, judged by its SOP Instance UIDs without pulling (--skip-by-uid)`.trim());
  return reports;
}

/**
 * `report.json` as the record of an output folder. A run writes its own report (its series, errors
 * and skipped input series) and, after its series, the finished series that earlier runs into the
 * same folder left there and this run did not report (`earlierRun: true`): a rerun that failed
 * on every series (E_EXISTS: other settings) or a run over other input into the same `-o` no longer
 * hides the series the folder holds.
 *
 * A series counts as finished when its completion marker is there (one per series folder, one per
 * frame of a dynamic or gated PET acquisition, ./frame-output.ts). It is listed as the earlier
 * report.json listed it when that entry names the same output series (a skipped rerun's scores
 * against its --reference are kept), else as its marker records it (so too for an entry of a
 * `--skip-by-uid` rerun that did not pull it: its `input` names that run's input, no file), its
 * `input.files` and `input.url` still those the entry gave for a PACS input (the marker names the
 * input by its PACS address and no file; an older lowdose's marker names the pull folder's files,
 * removed once the run succeeded, and no address). A series without its marker
 * (an interrupted or failed run's, one an --overwrite is redoing) is not listed.
 *
 * Such an entry describes the finished series, not how the run that recorded it treated it: the
 * `skipped: true` (and `skippedBy`) of a rerun that found it done is not kept (that rerun's report said so; this
 * run did not skip it, nor make it: `earlierRun: true`).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileRevision } from '../util/file-revision.js';
import { writeFileAtomic } from '../util/fs.js';
import { isCompletionMarker } from './frame-output.js';
import type { SeriesReport } from './types.js';

export const REPORT_FILE = 'report.json';

/** A series' place in the folder: its series folder's name and, for a frame, the frame's tag. */
function placeOf(series: Pick<SeriesReport, 'input' | 'output'>): string {
  return `${path.basename(series.output?.dir ?? '')}#${series.input?.petFrame?.tag ?? ''}`;
}

interface MarkerEntry {
  /** The marker file's revision when it was read (src/util/file-revision.ts). */
  readonly revision: string;
  readonly series: SeriesReport | null;
}

/** The report.json writer of one output folder; it reads each completion marker once per change. */
export class FolderReport {
  private earlier: Map<string, SeriesReport> | null = null;
  private readonly markers = new Map<string, MarkerEntry>();

  constructor(readonly outDir: string) {}

  /** Writes `report` as report.json, the earlier runs' finished series added after its own. */
  async write<T extends { readonly series: readonly SeriesReport[] }>(report: T): Promise<void> {
    const kept = await this.earlierSeries(report.series);
    const written = kept.length > 0 ? { ...report, series: [...report.series, ...kept] } : report;
    await writeFileAtomic(path.join(this.outDir, REPORT_FILE), `${JSON.stringify(written, null, 2)}\n`);
  }

  /** The finished series in the folder that `reported` does not list, in folder order. */
  async earlierSeries(reported: readonly SeriesReport[]): Promise<SeriesReport[]> {
    // The report.json before this run's first write: later ones are this run's own.
    this.earlier ??= await this.readEarlierReport();
    const own = new Set(reported.map(placeOf));
    const kept: SeriesReport[] = [];
    const folders = await readdir(this.outDir, { withFileTypes: true }).catch(() => []);
    for (const folder of folders.filter((f) => f.isDirectory()).map((f) => f.name).sort()) {
      const names = await readdir(path.join(this.outDir, folder)).catch(() => [] as string[]);
      for (const name of names.filter(isCompletionMarker).sort()) {
        const marker = await this.readMarker(path.join(this.outDir, folder, name));
        // Its place by the folder it lies in (the marker names the folder it was written in).
        const place = `${folder}#${marker?.input?.petFrame?.tag ?? ''}`;
        if (!marker || own.has(place)) continue;
        const listed = this.earlier.get(place);
        // A --skip-by-uid rerun's entry names its own input (no file read, the PACS address): the marker names what it was made from.
        const fromListed = listed && listed.skippedBy === undefined && listed.output?.seriesInstanceUid === marker.output?.seriesInstanceUid;
        const { skipped: _skipped, skippedBy: _skippedBy, ...series } = fromListed ? listed : marker;
        // A series of a PACS input keeps the files and PACS address its entry gave (the marker's
        // files were the pull folder's, removed once that run succeeded).
        const pacsUrl = !fromListed && listed?.output?.seriesInstanceUid === marker.output?.seriesInstanceUid ? listed?.input?.url : undefined;
        kept.push({ ...series, ...(listed && pacsUrl !== undefined ? { input: { ...series.input, files: listed.input.files, url: pacsUrl } } : {}), earlierRun: true });
      }
    }
    return kept;
  }

  private async readEarlierReport(): Promise<Map<string, SeriesReport>> {
    const file = path.join(this.outDir, REPORT_FILE);
    const listed = new Map<string, SeriesReport>();
    if (!existsSync(file)) return listed;
    try {
      const report = JSON.parse(await readFile(file, 'utf8')) as { series?: unknown };
      if (!Array.isArray(report.series)) return listed;
      for (const s of report.series as SeriesReport[]) if (s?.output?.dir) listed.set(placeOf(s), s);
    } catch {
      // An unreadable report.json records nothing: the markers still do.
    }
    return listed;
  }

  /** A completion marker's series report; null when it cannot be read (being replaced, or damaged). */
  private async readMarker(file: string): Promise<SeriesReport | null> {
    const info = await stat(file).catch(() => null);
    if (!info) return null;
    const revision = fileRevision(info);
    const cached = this.markers.get(file);
    // Not size and mtime alone: a marker another run renamed over this one (--overwrite) can have both.
    if (cached?.revision === revision) return cached.series;
    let series: SeriesReport | null = null;
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as SeriesReport;
      series = parsed?.output?.dir ? parsed : null;
    } catch {
      series = null;
    }
    this.markers.set(file, { revision, series });
    return series;
  }
}

/** Writes report.json in `outDir` (./folder-report.ts: with the earlier runs' finished series). */
export async function writeReport<T extends { readonly series: readonly SeriesReport[] }>(outDir: string, report: T): Promise<void> {
  await new FolderReport(outDir).write(report);
}

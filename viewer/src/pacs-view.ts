/**
 * The PACS browser (`lowdose serve --dicomweb <url>` or `--dimse dimse://AET@host:port`): a dialog that searches the PACS's
 * studies by patient ID and study date range (GET /api/pacs/studies), lists a study's
 * series (GET /api/pacs/studies/:study/series) and opens one (POST .../open: the server pulls it
 * with WADO-RS, or C-GET / C-MOVE, and indexes it), after which it is shown as any local series. The browser talks
 * only to the lowdose server; a DICOMweb server's credentials never reach it.
 */
import { api, type JobView, type PacsSeries, type PacsStudy, type PacsStudyQuery } from './api.js';

export interface PacsViewHooks {
  /** A series was retrieved and indexed: open it (its id in the lowdose API). */
  opened(seriesId: string): Promise<void>;
  toast(message: string, kind?: 'info' | 'error'): void;
}

/** DICOM DA (YYYYMMDD) as YYYY-MM-DD; '' when it is not a date. */
export function displayDate(da: string): string {
  return /^\d{8}$/.test(da) ? `${da.slice(0, 4)}-${da.slice(4, 6)}-${da.slice(6, 8)}` : '';
}

/** A DICOM person name (`Family^Given^Middle^Prefix^Suffix`) as "Family, Given Middle". */
export function displayName(pn: string): string {
  const [family = '', given = '', middle = ''] = pn.split('=')[0]!.split('^');
  const rest = [given, middle].filter(Boolean).join(' ');
  return rest ? `${family}, ${rest}` : family;
}

/** The search form's values as the API's query (dates from `<input type="date">`, YYYY-MM-DD, to DA). */
export function studyQuery(patientId: string, from: string, to: string, accessionNumber = ''): PacsStudyQuery {
  const da = (value: string) => value.replaceAll('-', '');
  return {
    ...(patientId.trim() ? { patientId: patientId.trim() } : {}),
    ...(accessionNumber.trim() ? { accessionNumber: accessionNumber.trim() } : {}),
    ...(from ? { from: da(from) } : {}),
    ...(to ? { to: da(to) } : {}),
  };
}

/**
 * The status bar's warning for a series the PACS gave short of its instances (the server's
 * `incomplete`: NumberOfSeriesRelatedInstances and what came), so a partial series is not read as whole.
 */
export function incompleteSeriesText(incomplete: { readonly expected: number; readonly received: number }): string {
  return `Incomplete series: ${incomplete.received} of the ${incomplete.expected} images the PACS holds (${incomplete.expected - incomplete.received} missing).`;
}

/**
 * Why a job on such a series was refused (its error's `incomplete`; E_IO, as `denoise <url>`
 * refuses it), with the dialog's choice that denoises it all the same.
 */
export function incompleteRefusalText(incomplete: { readonly expected: number; readonly received: number }): string {
  return (
    `the PACS sent ${incomplete.received} of the ${incomplete.expected} images of this series, so the denoised series would lack ${incomplete.expected - incomplete.received}; ` +
    `nothing was denoised. Tick "Denoise the incomplete series as it came" in the Denoise dialog to denoise the ${incomplete.received} that came`
  );
}

/**
 * What a finished job left out (its result's `errors`: input files that could not be read, a
 * reference's, series the run could not denoise), so "Denoising finished" is not read as "all of
 * it": the count and the first in the server's words; '' when nothing was left out.
 */
export function resultErrorsText(job: JobView): string {
  const errors = job.result?.errors ?? [];
  if (errors.length === 0) return '';
  const first = errors[0]!;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more: the job's result lists them)` : '';
  return `; ${errors.length === 1 ? 'one problem' : `${errors.length} problems`}: ${first.role === 'reference' ? 'reference: ' : ''}${first.message} [${first.code}]${more}`;
}

/**
 * What a finished job says of its input series that came short of their instances (its result's
 * `incomplete`), with the SUV note of a PET series whose SUVbw depends on the files that came; '' when none did.
 */
export function incompleteResultText(job: JobView): string {
  const short = job.result?.incomplete ?? [];
  return short
    .map((s) => `; incomplete input: ${s.received} of the ${s.expected} images, the denoised series lacks ${s.expected - s.received}${s.suvNote ? ` (${s.suvNote})` : ''}`)
    .join('');
}

/**
 * The study search's status line: how many studies, and, when the server's answer says more may
 * match (`truncation`), that the list is not all of them and why, so no one takes a missing prior
 * study for one that does not exist. A full page without `truncation` is all there is (the server
 * asked for one study more than `limit` to know).
 */
export function studiesMessage(count: number, truncation: string | null): string {
  if (count === 0 && truncation === null) return 'No study matches.';
  const studies = `${count} ${count === 1 ? 'study' : 'studies'}`;
  return truncation === null ? `${studies}. Click one for its series.` : `${studies}; not every match is listed: ${truncation}. Click one for its series.`;
}

/** What a store-back job stored, in words ("stored 1 series (3 images) in the PACS"). */
export function storedMessage(job: JobView): string {
  const stored = job.result?.stored ?? [];
  const images = stored.reduce((sum, s) => sum + s.instances, 0);
  return `stored ${stored.length} series (${images} image${images === 1 ? '' : 's'}) in the PACS`;
}

export class PacsView {
  private readonly dialog = byId<HTMLDialogElement>('pacs-dialog');
  private readonly studiesBody = byId('pacs-studies').querySelector('tbody')!;
  private readonly seriesTable = byId<HTMLTableElement>('pacs-series');
  private readonly seriesBody = this.seriesTable.querySelector('tbody')!;
  private readonly error = byId('pacs-error');
  private readonly status = byId('pacs-status');
  private server: string | null = null;
  /** Answers that arrive after a newer request are dropped. */
  private generation = 0;

  constructor(private readonly hooks: PacsViewHooks) {
    byId('pacs-button').addEventListener('click', () => void this.show());
    byId('pacs-close').addEventListener('click', () => this.dialog.close());
    byId<HTMLFormElement>('pacs-search').addEventListener('submit', (event) => {
      event.preventDefault();
      void this.search();
    });
  }

  /** Asks the server whether it has a PACS (DICOMweb or DIMSE); shows the PACS button when it has. */
  async init(): Promise<boolean> {
    try {
      this.server = (await api.pacs()).server;
    } catch {
      this.server = null;
    }
    byId('pacs-button').hidden = this.server === null;
    byId('pacs-server').textContent = this.server ?? '';
    return this.server !== null;
  }

  async show(): Promise<void> {
    if (!this.dialog.open) this.dialog.showModal();
    if (this.studiesBody.childElementCount === 0) await this.search();
  }

  private async search(): Promise<void> {
    const value = (id: string) => byId<HTMLInputElement>(id).value;
    const query = studyQuery(value('pacs-patient'), value('pacs-from'), value('pacs-to'), value('pacs-accession'));
    const generation = ++this.generation;
    this.busy('Searching…');
    this.seriesTable.hidden = true;
    try {
      const { studies, truncation } = await api.pacsStudies(query);
      if (generation !== this.generation) return;
      this.renderStudies(studies);
      this.done(studiesMessage(studies.length, truncation));
    } catch (error) {
      if (generation === this.generation) this.fail(error);
    }
  }

  private renderStudies(studies: readonly PacsStudy[]): void {
    this.studiesBody.replaceChildren(
      ...studies.map((study) => {
        const row = rowOf([displayName(study.patientName), study.patientId, displayDate(study.date), study.accessionNumber, study.description, study.modalities.join(', '), study.series === null ? '' : String(study.series)]);
        row.dataset.study = study.studyInstanceUid;
        row.tabIndex = 0;
        row.title = 'Show the series of this study';
        const choose = () => void this.showSeries(study, row);
        row.addEventListener('click', choose);
        row.addEventListener('keydown', (event) => {
          if (event.key === 'Enter') choose();
        });
        return row;
      }),
    );
  }

  private async showSeries(study: PacsStudy, row: HTMLTableRowElement): Promise<void> {
    this.studiesBody.querySelectorAll('tr').forEach((other) => other.removeAttribute('aria-selected'));
    row.setAttribute('aria-selected', 'true');
    const generation = ++this.generation;
    this.busy('Listing the series…');
    try {
      const { series, truncation } = await api.pacsSeries(study.studyInstanceUid);
      if (generation !== this.generation) return;
      this.renderSeries(study, series);
      this.seriesTable.hidden = false;
      // A list that may lack series says so where the user reads the count (truncation is absent from an older server's answer).
      const incomplete = truncation ? ` The list may be incomplete: ${truncation}.` : '';
      this.done(`${displayName(study.patientName) || study.patientId} · ${displayDate(study.date)}: ${series.length} series.${incomplete} Open one to view and denoise it.`);
    } catch (error) {
      if (generation === this.generation) this.fail(error);
    }
  }

  private renderSeries(study: PacsStudy, series: readonly PacsSeries[]): void {
    const ordered = [...series].sort((a, b) => (a.seriesNumber ?? Infinity) - (b.seriesNumber ?? Infinity));
    this.seriesBody.replaceChildren(
      ...ordered.map((s) => {
        const row = rowOf([s.seriesNumber === null ? '' : String(s.seriesNumber), s.modality, s.description, s.instances === null ? '' : String(s.instances)]);
        row.dataset.series = s.seriesInstanceUid;
        const cell = document.createElement('td');
        const open = document.createElement('button');
        open.type = 'button';
        open.textContent = 'Open';
        open.dataset.open = s.seriesInstanceUid;
        open.title = s.denoisable ? 'Retrieve this series and show it' : `Retrieve and show it (${s.modality}: only CT and PET are denoised)`;
        open.addEventListener('click', () => void this.open(study, s));
        cell.append(open);
        row.append(cell);
        return row;
      }),
    );
  }

  private async open(study: PacsStudy, series: PacsSeries): Promise<void> {
    const generation = ++this.generation;
    this.busy(`Retrieving ${series.instances ?? ''} image(s) of ${series.modality} series ${series.description || series.seriesNumber || ''}…`.replace(/ {2,}/g, ' '));
    this.setButtons(true);
    try {
      const opened = await api.pacsOpen(study.studyInstanceUid, series.seriesInstanceUid);
      if (generation !== this.generation) return;
      const first = opened.series[0];
      if (!first) throw new Error('the series has no image to show');
      this.done(`Retrieved ${opened.retrieved} of ${opened.instances} image(s) (the rest were here already).${opened.incomplete ? ` ${incompleteSeriesText(opened.incomplete)}` : ''}`);
      this.dialog.close();
      await this.hooks.opened(first.id);
      // Instances lowdose cannot read are left out of the series: say which (by SOP Instance UID).
      if (opened.unreadable.length > 0) {
        this.hooks.toast(`${opened.unreadable.length} of ${opened.instances} image(s) could not be read and are left out: ${opened.unreadable.map((e) => e.message).join('; ')}`, 'error');
      }
    } catch (error) {
      if (generation === this.generation) this.fail(error);
    } finally {
      this.setButtons(false);
    }
  }

  private setButtons(disabled: boolean): void {
    this.seriesBody.querySelectorAll('button').forEach((button) => (button.disabled = disabled));
  }

  private busy(message: string): void {
    this.error.hidden = true;
    this.status.textContent = message;
    this.dialog.dataset.busy = 'true';
  }

  private done(message: string): void {
    this.status.textContent = message;
    delete this.dialog.dataset.busy;
  }

  /** Errors stay in the dialog (where the user is looking) with the server's code. */
  private fail(error: unknown): void {
    const e = error as Error & { code?: string };
    this.error.textContent = `${e.message}${e.code ? ` [${e.code}]` : ''}`;
    this.error.hidden = false;
    this.status.textContent = '';
    delete this.dialog.dataset.busy;
  }
}

function rowOf(cells: readonly string[]): HTMLTableRowElement {
  const row = document.createElement('tr');
  for (const text of cells) {
    const cell = document.createElement('td');
    cell.textContent = text;
    row.append(cell);
  }
  return row;
}

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} missing from the page`);
  return element as T;
}

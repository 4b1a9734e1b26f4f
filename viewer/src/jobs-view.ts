/**
 * Upload and denoise from the page: files or a folder go to POST /api/uploads (with an upload
 * progress bar), a denoise job with the CLI's options goes to POST /api/jobs, and its progress
 * arrives as server-sent events; when it is done the new comparison opens.
 */
import { DENOISE_METHODS, DEVICE_REQUESTS, TEXTURES, type DenoiseMethod } from '../../src/choices.js';
import { api, type JobOptions, type JobView, type UploadResponse } from './api.js';
import { incompleteRefusalText, incompleteResultText, resultErrorsText, storedMessage } from './pacs-view.js';

/** The method menu's labels; the menus list exactly the CLI's choices (src/choices.ts). */
const METHOD_LABELS: Record<DenoiseMethod, string> = {
  diffusion: 'Diffusion model',
  gaussian: 'Gaussian filter',
  bilateral: 'Bilateral filter',
  nlm: 'Non-local means',
};

/** Checkboxes for `denoise --uncertainty` / `--hallucination` (diffusion only). */
const CALIBRATED_OPTIONS = ['denoise-uncertainty', 'denoise-hallucination'];

export interface JobsViewHooks {
  /**
   * The series a new job denoises (the low-dose series on screen); `pacs`: opened from the PACS
   * (DICOMweb or DIMSE); `incomplete`: it came short of its instances (the series' `incomplete`); `frame`: the
   * label of its time point or gate of a dynamic or gated PET acquisition (the job denoises that one).
   */
  currentSeries(): { id: string; modality: string; description: string; pacs: boolean; incomplete: boolean; frame?: string } | null;
  uploaded(response: UploadResponse): Promise<void>;
  finished(comparisonId: string): Promise<void>;
  toast(message: string, kind?: 'info' | 'error'): void;
}

export class JobsView {
  private readonly bar = byId('job-bar');
  private readonly label = byId('job-label');
  private readonly progress = byId<HTMLProgressElement>('job-progress');
  private readonly cancelButton = byId<HTMLButtonElement>('job-cancel');
  private readonly dialog = byId<HTMLDialogElement>('denoise-dialog');
  private readonly form = byId<HTMLFormElement>('denoise-form');
  private job: JobView | null = null;
  private stopWatching: (() => void) | null = null;

  constructor(private readonly hooks: JobsViewHooks) {
    const files = byId<HTMLInputElement>('upload-files');
    const folder = byId<HTMLInputElement>('upload-folder');
    byId('upload-button').addEventListener('click', () => files.click());
    byId('upload-folder-button').addEventListener('click', () => folder.click());
    for (const input of [files, folder]) {
      input.addEventListener('change', () => {
        const chosen = [...(input.files ?? [])];
        input.value = '';
        if (chosen.length > 0) void this.upload(chosen);
      });
    }
    byId('denoise-button').addEventListener('click', () => void this.openDialog());
    this.cancelButton.addEventListener('click', () => void this.cancel());
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.dialog.close();
      void this.start(this.readOptions(), byId<HTMLInputElement>('denoise-store').checked, byId<HTMLInputElement>('denoise-allow-incomplete').checked);
    });
    byId('denoise-close').addEventListener('click', () => this.dialog.close());
    const methods = byId<HTMLSelectElement>('denoise-method');
    methods.replaceChildren(...DENOISE_METHODS.map((method) => new Option(METHOD_LABELS[method], method)));
    methods.addEventListener('change', () => this.syncFields());
    byId<HTMLSelectElement>('denoise-device').replaceChildren(...DEVICE_REQUESTS.map((device) => new Option(device, device)));
    byId<HTMLSelectElement>('denoise-texture').replaceChildren(...TEXTURES.map((texture) => new Option(texture, texture)));
    for (const id of CALIBRATED_OPTIONS) {
      // The calibration is per ensemble size: with either box ticked, samples default to the card's K.
      byId<HTMLInputElement>(id).addEventListener('change', (event) => {
        const samples = byId<HTMLInputElement>('denoise-samples');
        if ((event.target as HTMLInputElement).checked && samples.value === '1') samples.value = '';
      });
    }
  }

  get busy(): boolean {
    return this.job !== null;
  }

  async upload(files: File[]): Promise<void> {
    this.showBar(`Uploading ${files.length} file(s)…`, 0, false);
    try {
      const response = await api.upload(files, (fraction) => this.showBar(`Uploading ${files.length} file(s)…`, fraction, false));
      this.hideBar();
      this.hooks.toast(uploadMessage(response));
      await this.hooks.uploaded(response);
    } catch (error) {
      this.hideBar();
      this.hooks.toast(`Upload failed: ${(error as Error).message}`, 'error');
    }
  }

  async openDialog(): Promise<void> {
    const series = this.hooks.currentSeries();
    if (!series) {
      this.hooks.toast('Open a series first', 'error');
      return;
    }
    byId('denoise-target').textContent = [series.modality, series.description || 'series', ...(series.frame ? [series.frame] : [])].join(' · ');
    // Store-back is offered for a series that came from the PACS only (the server refuses others).
    byId('denoise-store-label').hidden = !series.pacs;
    if (!series.pacs) byId<HTMLInputElement>('denoise-store').checked = false;
    // Denoising a series the PACS gave short of its instances is a choice made for that series (the server refuses it otherwise).
    byId('denoise-allow-incomplete-label').hidden = !series.incomplete;
    byId<HTMLInputElement>('denoise-allow-incomplete').checked = false;
    const modelSelect = byId<HTMLSelectElement>('denoise-model');
    try {
      const { models } = await api.models();
      const suitable = models.filter((m) => m.modalities.includes(series.modality));
      modelSelect.replaceChildren(
        new Option('default for the modality', ''),
        ...suitable.map((m) => new Option(m.description ? `${m.name} — ${m.description.slice(0, 50)}` : m.name, m.name)),
      );
    } catch {
      modelSelect.replaceChildren(new Option('default for the modality', ''));
    }
    this.syncFields();
    this.dialog.showModal();
  }

  private syncFields(): void {
    const diffusion = byId<HTMLSelectElement>('denoise-method').value === 'diffusion';
    for (const id of ['denoise-model', 'denoise-steps', 'denoise-samples', 'denoise-device', 'denoise-texture', 'denoise-dose', ...CALIBRATED_OPTIONS]) {
      byId<HTMLInputElement>(id).disabled = !diffusion;
    }
  }

  private readOptions(): JobOptions {
    const value = (id: string) => byId<HTMLInputElement | HTMLSelectElement>(id).value.trim();
    const int = (id: string) => (value(id) === '' ? undefined : Number.parseInt(value(id), 10));
    const method = value('denoise-method') as NonNullable<JobOptions['method']>;
    const options: Record<string, unknown> = { method, seed: int('denoise-seed') };
    if (method === 'diffusion') {
      Object.assign(options, {
        model: value('denoise-model') || undefined,
        steps: int('denoise-steps'),
        samples: int('denoise-samples'),
        device: value('denoise-device') || undefined,
        texture: value('denoise-texture') || undefined,
        dose: value('denoise-dose') === '' ? undefined : Number(value('denoise-dose')),
        uncertainty: byId<HTMLInputElement>('denoise-uncertainty').checked || undefined,
        hallucination: byId<HTMLInputElement>('denoise-hallucination').checked || undefined,
      });
    }
    return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined && !Number.isNaN(v)));
  }

  async start(options: JobOptions, store = false, allowIncomplete = false): Promise<void> {
    const series = this.hooks.currentSeries();
    if (!series) return;
    try {
      const job = await api.startJob([series.id], options, { store: store && series.pacs, allowIncomplete: allowIncomplete && series.incomplete });
      this.follow(job);
    } catch (error) {
      this.hooks.toast(`Could not start the job: ${(error as Error).message}`, 'error');
    }
  }

  private follow(job: JobView): void {
    this.job = job;
    this.update(job);
    this.stopWatching?.();
    this.stopWatching = api.watchJob(job.id, (update) => this.update(update));
  }

  private update(job: JobView): void {
    this.job = job;
    const method = job.options.method ?? 'diffusion';
    if (job.status === 'queued') {
      this.showBar(`Denoise (${method}) queued on ${job.device}${job.queuePosition ? `, ${job.queuePosition} ahead` : ''}…`, 0, true);
    } else if (job.status === 'running' && job.progress?.stage === 'store') {
      this.showBar(`Storing the ${method} result in the PACS…`, 1, false);
    } else if (job.status === 'running') {
      const p = job.progress;
      const text = p ? `slice ${p.slicesDone} / ${p.slicesTotal}${p.seriesCount > 1 ? ` of series ${p.seriesIndex + 1} / ${p.seriesCount}` : ''}` : 'starting';
      this.showBar(`Denoising (${method}, ${job.device}): ${text}`, p?.fraction ?? 0, true);
    } else {
      this.job = null;
      this.stopWatching?.();
      this.stopWatching = null;
      this.hideBar();
      const comparison = job.result?.comparisons[0];
      if (job.status === 'done') {
        this.hooks.toast(`${job.store ? `Denoising finished; ${storedMessage(job)}` : 'Denoising finished'}${incompleteResultText(job)}${resultErrorsText(job)}`);
        if (comparison) void this.hooks.finished(comparison);
      } else if (job.status === 'cancelled') {
        this.hooks.toast('Denoising cancelled');
      } else if (job.error?.incomplete) {
        this.hooks.toast(`Denoising refused: ${incompleteRefusalText(job.error.incomplete)} [${job.error.code}]`, 'error');
      } else {
        // A failed store-back leaves the denoised series here: it opens, and the error says what the PACS did.
        if (comparison) void this.hooks.finished(comparison);
        this.hooks.toast(`${job.store && comparison ? 'Denoised, but storing in the PACS failed' : 'Denoising failed'}: ${job.error?.message ?? 'unknown error'} [${job.error?.code ?? ''}]`, 'error');
      }
    }
  }

  private async cancel(): Promise<void> {
    if (!this.job) return;
    try {
      await api.cancelJob(this.job.id);
    } catch (error) {
      this.hooks.toast(`Cancel failed: ${(error as Error).message}`, 'error');
    }
  }

  private showBar(text: string, fraction: number, cancellable: boolean): void {
    this.bar.hidden = false;
    this.label.textContent = text;
    this.progress.value = fraction;
    this.progress.dataset.fraction = fraction.toFixed(3);
    this.cancelButton.hidden = !cancellable;
  }

  private hideBar(): void {
    this.bar.hidden = true;
  }
}

/** What an upload did, in words: new series, series the server already had (opened all the same), refusals. */
export function uploadMessage(response: UploadResponse): string {
  const known = new Set(response.alreadyLoaded);
  const fresh = response.series.filter((s) => !known.has(s.id)).length;
  const refused = response.rejected.length > 0 ? `; ${response.rejected.length} refused (${response.rejected.map((r) => r.name).slice(0, 3).join(', ')}${response.rejected.length > 3 ? ', …' : ''})` : '';
  if (fresh === 0 && known.size > 0) {
    const names = response.series.map((s) => s.description || s.modality).slice(0, 3).join(', ');
    return `Already loaded: ${names}${known.size > 3 ? ', …' : ''} (${known.size} series, opened)${refused}`;
  }
  return `Uploaded ${response.files} file(s): ${fresh} new series${known.size > 0 ? `, ${known.size} already loaded` : ''}${refused}`;
}

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} missing from the page`);
  return element as T;
}

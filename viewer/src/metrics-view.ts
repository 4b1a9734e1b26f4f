/**
 * Image-quality numbers on the page: per-slice PSNR / SSIM beside the low-dose and denoised panes,
 * series means in the header. Per-slice numbers are fetched for the slice on screen (cached);
 * the series means are computed once by the server in the background.
 */
import { api, type ComparisonDetail, type ComparisonMetrics, type Scores, type SliceMetrics } from './api.js';
import type { ComparisonViewer } from './viewer.js';

export class MetricsView {
  private comparison: ComparisonDetail | null = null;
  private units = '';
  private readonly slices = new Map<number, SliceMetrics>();
  private pending: number | null = null;
  private timer: number | undefined;
  private generation = 0;

  constructor(
    private readonly viewer: ComparisonViewer,
    private readonly header: HTMLElement,
  ) {}

  /** Forgets the open comparison: nothing in flight for it may paint on the panes that come next. */
  close(): void {
    this.generation++;
    this.comparison = null;
    this.slices.clear();
    this.pending = null;
    window.clearTimeout(this.timer);
  }

  open(comparison: ComparisonDetail | null, units: string): void {
    this.close();
    this.comparison = comparison;
    this.units = units === 'SUVbw' ? 'SUV' : units;
    this.header.replaceChildren();
    if (!comparison) {
      this.header.textContent = 'Single series: denoise it to compare';
      return;
    }
    const report = comparison.report;
    const method = report?.method === 'diffusion' ? `${report.model ?? 'diffusion'}${report.steps ? `, ${report.steps} steps` : ''}${report.samples && report.samples > 1 ? `, ${report.samples} samples` : ''}` : (report?.method ?? 'denoised');
    this.header.innerHTML = `<span class="muted">Series means (${comparison.reference ? 'vs reference' : 'vs low-dose'}, ${escape(method)}):</span> <span id="series-metrics" class="muted">computing…</span>`;
    const generation = this.generation;
    // The series means take the server a while (SSIM of every slice): ask once the slices are in.
    this.viewer
      .whenPrefetched()
      .then(() => (generation === this.generation ? api.metrics(comparison.id) : null))
      .then(
        (metrics) => {
          if (!metrics || generation !== this.generation) return;
          for (const slice of metrics.slices) this.slices.set(slice.index, slice);
          this.renderSeries(metrics);
          this.showSlice(this.viewer.currentIndex);
        },
        (error: Error) => {
          if (generation !== this.generation) return;
          const target = this.header.querySelector('#series-metrics');
          if (target) target.textContent = `metrics unavailable: ${error.message}`;
        },
      );
    this.showSlice(this.viewer.currentIndex);
  }

  /** Called on every slice change; fetches lazily so fast scrolling does not queue requests. */
  showSlice(index: number): void {
    if (!this.comparison) return;
    // The slice on screen, also when it is cached: a fetch still in flight for the slice before
    // must not paint its numbers over this one's when it lands.
    this.pending = index;
    window.clearTimeout(this.timer);
    const known = this.slices.get(index);
    if (known) {
      this.render(known);
      return;
    }
    this.viewer.setPaneMetrics('denoised', '…');
    this.viewer.setPaneMetrics('lowDose', '…');
    const generation = this.generation;
    const id = this.comparison.id;
    this.timer = window.setTimeout(() => {
      api.sliceMetrics(id, index).then(
        (metrics) => {
          if (generation !== this.generation) return;
          this.slices.set(index, metrics);
          if (this.pending === index) this.render(metrics);
        },
        () => {
          if (generation === this.generation && this.pending === index) this.viewer.setPaneMetrics('denoised', 'metrics unavailable');
        },
      );
    }, 60);
  }

  private render(metrics: SliceMetrics): void {
    const withReference = this.comparison?.reference !== null;
    const noise = (v: number | null) => (v === null ? '' : `noise σ ${formatValue(v)} ${this.units}`);
    this.viewer.setPaneMetrics(
      'denoised',
      scoresText(metrics.denoised) + (withReference ? '' : '  (vs low-dose)'),
      `${withReference ? 'Denoised vs reference' : 'Denoised vs low-dose'}; RMSE ${metrics.denoised ? formatValue(metrics.denoised.rmse) : '–'} ${this.units}; ${noise(metrics.noise.denoised)}`,
    );
    if (withReference) {
      this.viewer.setPaneMetrics('lowDose', scoresText(metrics.lowDose), `Low-dose vs reference; ${noise(metrics.noise.lowDose)}`);
    } else {
      this.viewer.setPaneMetrics('lowDose', noise(metrics.noise.lowDose), 'No-reference noise estimate');
    }
  }

  private renderSeries(metrics: ComparisonMetrics): void {
    const target = this.header.querySelector<HTMLElement>('#series-metrics');
    if (!target) return;
    target.className = '';
    const part = (label: string, scores: Scores | null, testid: string) =>
      scores
        ? `<span class="series-part" data-testid="${testid}"><b>${label}</b> PSNR <span data-testid="${testid}-psnr">${scores.psnr === null ? '∞' : scores.psnr.toFixed(2)}</span> dB · SSIM <span data-testid="${testid}-ssim">${scores.ssim.toFixed(3)}</span> · RMSE ${formatValue(scores.rmse)} ${escape(this.units)}</span>`
        : '';
    const noise = metrics.mean.noise;
    target.innerHTML = [
      part('Denoised', metrics.mean.denoised, 'mean-denoised'),
      part('Low-dose', metrics.mean.lowDose, 'mean-low-dose'),
      noise.lowDose !== null && noise.denoised !== null
        ? `<span class="series-part"><b>Noise σ</b> ${formatValue(noise.lowDose)} → ${formatValue(noise.denoised)} ${escape(this.units)}</span>`
        : '',
    ].join('');
  }
}

export function scoresText(scores: Scores | null): string {
  if (!scores) return '–';
  return `PSNR ${scores.psnr === null ? '∞' : scores.psnr.toFixed(1)} dB · SSIM ${scores.ssim.toFixed(3)}`;
}

/** Values in modality units at a sensible precision: 61.6 HU, 3.04 HU, 0.052 SUV. */
export function formatValue(value: number): string {
  const a = Math.abs(value);
  if (a >= 100) return value.toFixed(0);
  if (a >= 10) return value.toFixed(1);
  if (a >= 1) return value.toFixed(2);
  return a === 0 ? '0' : value.toPrecision(2);
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

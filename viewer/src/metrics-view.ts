/**
 * Image-quality numbers on the page: per-slice PSNR / SSIM beside the low-dose pane and every
 * method's pane, series means in the header. Per-slice numbers are fetched for the slice on
 * screen (cached); the series' numbers of every slice are computed once by the server in the
 * background and then also feed the per-slice plot (./metrics-plot.ts).
 */
import { api, type ComparisonDetail, type ComparisonMetrics, type Scores, type SliceMetrics } from './api.js';
import { methodLabel, type PaneKey } from './pane-titles.js';
import { formatValue, scoresLine, unscoredText, WIDEST_PSNR, widestValue } from '../../src/server/pane-text.js';
import type { ComparisonViewer } from './viewer.js';
import { pairingCaveat } from './pairing-caveat.js';

/** One method of the open view: its pane and comparison. */
export interface MethodMetricsSource {
  readonly key: PaneKey;
  readonly comparison: ComparisonDetail;
}

/**
 * Numbers as wide as the widest the pane lines and the series means write for a series in `units`
 * (a three-figure PSNR, a negative three-decimal SSIM, widestValue for the noise σ and RMSE), for the room
 * they take before the numbers arrive: numbers that come in later never add a line under an image
 * already drawn.
 */
function sampleNumbers(units: string): { scores: Scores; slice: SliceMetrics; value: number } {
  const value = widestValue(units);
  const scores: Scores = { psnr: WIDEST_PSNR, ssim: -0.888, rmse: value };
  return { scores, value, slice: { index: 0, denoised: scores, lowDose: scores, noise: { lowDose: value, denoised: value, reference: value } } };
}

export class MetricsView {
  private methods: MethodMetricsSource[] = [];
  private units = '';
  /** The source pane's title ("Low-dose", "Original"): its scores' label, and lower-case what a method without a reference is scored against. */
  private sourceTitle = 'Low-dose';
  private source = 'low-dose';
  /** By comparison id, then low-dose slice. */
  private readonly slices = new Map<string, Map<number, SliceMetrics>>();
  private pending: number | null = null;
  private timer: number | undefined;
  private generation = 0;

  constructor(
    private readonly viewer: ComparisonViewer,
    private readonly header: HTMLElement,
    /** Every method's series metrics, once all are in (the plot draws them). */
    private readonly onSeries: (series: ReadonlyArray<{ source: MethodMetricsSource; metrics: ComparisonMetrics }>) => void = () => {},
  ) {}

  /** Forgets the open view: nothing in flight for it may paint on the panes that come next. */
  close(): void {
    this.generation++;
    this.methods = [];
    this.slices.clear();
    this.pending = null;
    window.clearTimeout(this.timer);
  }

  /**
   * `methods`: the first is the view's own comparison; empty for a single series. `sourceTitle`:
   * the source pane's title ("Low-dose", "Original"), which labels its scores and names what a
   * method without a reference is scored against.
   */
  open(methods: readonly MethodMetricsSource[], units: string, sourceTitle = 'Low-dose'): void {
    this.close();
    this.methods = [...methods];
    this.units = units === 'SUVbw' ? 'SUV' : units;
    this.sourceTitle = sourceTitle;
    this.source = sourceTitle.toLowerCase();
    this.header.replaceChildren();
    this.header.style.minHeight = '';
    const first = methods[0];
    if (!first) {
      this.header.textContent = 'Single series: denoise it to compare';
      return;
    }
    for (const m of methods) this.slices.set(m.comparison.id, new Map());
    // Room for the lines to come, before the first slice's numbers arrive: the panes' title bars
    // then take their second line (if they need one) now, not under an image already drawn.
    const sample = sampleNumbers(this.units);
    this.viewer.reserveMetrics(new Map(methods.flatMap((m, k) => this.paneLines(m, k, sample.slice).map((line) => [line.key, line.text] as const))));
    const what = methods.length > 1 ? `${methods.length} methods` : methodLabel(first.comparison.report);
    // Beside the numbers, not only in the warning bar: scores against another kernel, thickness or gate read as the denoiser's.
    const caveat = pairingCaveat(methods.map((m) => m.comparison), this.source);
    this.header.innerHTML =
      `<span class="series-lead muted">Series means (${first.comparison.reference ? 'vs reference' : `vs ${escape(this.source)}`}, ${escape(what)}):</span> ` +
      (caveat ? `<span class="pairing-caveat" data-testid="pairing-caveat" title="The whole warnings are in the bar above">⚠ ${escape(caveat)}</span> ` : '') +
      `<span class="series-computing muted">computing…</span><span id="series-metrics" class="series-pending"></span>`;
    // The means' parts laid out now, unseen, with numbers as wide as they can be: the header
    // takes the lines it will need before the first slice is drawn, not under the images later.
    const means: Pick<ComparisonMetrics, 'mean'> = {
      mean: {
        denoised: sample.scores,
        lowDose: first.comparison.reference ? sample.scores : null,
        noise: { lowDose: sample.value, denoised: sample.value, ...(first.comparison.reference ? { reference: sample.value } : {}) },
      },
    };
    this.renderSeries(methods.map(() => means));
    for (const e of this.header.querySelectorAll('#series-metrics [data-testid]')) e.removeAttribute('data-testid');
    // Held at those lines while the view is open: means that take fewer lines than the sample (no
    // noise estimate, shorter numbers) must not shrink the header and move the images up under a
    // reader's cursor or ROI either.
    this.header.style.minHeight = `${this.header.offsetHeight}px`;
    const generation = this.generation;
    // The series numbers take the server a while (SSIM of every slice of every method): ask once the slices are in.
    this.viewer
      .whenPrefetched()
      .then(() => (generation === this.generation ? Promise.all(methods.map((m) => api.metrics(m.comparison.id))) : null))
      .then(
        (all) => {
          if (!all || generation !== this.generation) return;
          this.header.querySelector('.series-computing')?.remove();
          for (const [k, metrics] of all.entries()) {
            const cache = this.slices.get(methods[k]!.comparison.id)!;
            for (const slice of metrics.slices) cache.set(slice.index, slice);
          }
          this.renderSeries(all);
          this.showSlice(this.viewer.currentIndex);
          this.onSeries(all.map((metrics, k) => ({ source: methods[k]!, metrics })));
        },
        (error: Error) => {
          if (generation !== this.generation) return;
          const target = this.header.querySelector('#series-metrics');
          this.header.querySelector('.series-computing')?.remove();
          if (target) {
            target.className = 'muted';
            target.textContent = `metrics unavailable: ${error.message}`;
          }
        },
      );
    this.showSlice(this.viewer.currentIndex);
  }

  /** Called on every slice change; fetches lazily so fast scrolling does not queue requests. */
  showSlice(index: number): void {
    if (this.methods.length === 0) return;
    // The slice on screen, also when it is cached: a fetch still in flight for the slice before
    // must not paint its numbers over this one's when it lands.
    this.pending = index;
    window.clearTimeout(this.timer);
    const missing = this.methods.filter((m) => !this.slices.get(m.comparison.id)?.has(index));
    for (const [k, m] of this.methods.entries()) {
      const known = this.slices.get(m.comparison.id)?.get(index);
      if (known) this.render(m, k, known);
      else {
        this.viewer.setPaneMetrics(m.key, '…');
        if (k === 0) this.viewer.setPaneMetrics('lowDose', '…');
      }
    }
    if (missing.length === 0) return;
    const generation = this.generation;
    this.timer = window.setTimeout(() => {
      for (const m of missing) {
        const k = this.methods.indexOf(m);
        api.sliceMetrics(m.comparison.id, index).then(
          (metrics) => {
            if (generation !== this.generation) return;
            this.slices.get(m.comparison.id)?.set(index, metrics);
            if (this.pending === index) this.render(m, k, metrics);
          },
          () => {
            if (generation === this.generation && this.pending === index) this.viewer.setPaneMetrics(m.key, 'metrics unavailable');
          },
        );
      }
    }, 60);
  }

  /** A method's pane line; the first method's slice also gives the low-dose pane its line. */
  private render(source: MethodMetricsSource, k: number, metrics: SliceMetrics): void {
    for (const line of this.paneLines(source, k, metrics)) this.viewer.setPaneMetrics(line.key, line.text, line.title);
  }

  /** The lines `render` writes for `metrics`: each pane's text and its tooltip. */
  private paneLines(source: MethodMetricsSource, k: number, metrics: SliceMetrics): Array<{ key: PaneKey; text: string; title: string }> {
    const withReference = source.comparison.reference !== null;
    const noise = (v: number | null) => (v === null ? '' : `noise σ ${formatValue(v)} ${this.units}`);
    // A reference shown but not scored: the line says so, its title why (the server's words, as the difference pane's footer).
    const unscored = withReference ? unscoredText(source.comparison) : null;
    const lines = [{
      key: source.key,
      text: unscored ? 'not scored' : scoresText(metrics.denoised) + (withReference ? '' : `  (vs ${this.source})`),
      title: `${unscored ?? (withReference ? 'Denoised vs reference' : `Denoised vs ${this.source}`)}; RMSE ${metrics.denoised ? formatValue(metrics.denoised.rmse) : '–'} ${this.units}; ${noise(metrics.noise.denoised)}`,
    }];
    if (k !== 0) return lines;
    if (withReference) {
      lines.push({ key: 'lowDose', text: unscored ? 'not scored' : scoresText(metrics.lowDose), title: `${unscored ?? `${this.sourceTitle} vs reference`}; ${noise(metrics.noise.lowDose)}` });
      // The full-dose noise the denoised pane's is to be read against (a smoother output reads lower).
      lines.push({ key: 'reference', text: noise(metrics.noise.reference ?? null), title: 'No-reference noise estimate of the reference slice scored against' });
    } else {
      lines.push({ key: 'lowDose', text: noise(metrics.noise.lowDose), title: 'No-reference noise estimate' });
    }
    return lines;
  }

  /** The series means in the header; until they are in (the placeholder `open` lays out), unseen. */
  private renderSeries(all: ReadonlyArray<Pick<ComparisonMetrics, 'mean'>>): void {
    const target = this.header.querySelector<HTMLElement>('#series-metrics');
    if (!target) return;
    if (!this.header.querySelector('.series-computing')) target.className = '';
    const part = (label: string, scores: Scores | null, testid: string) =>
      scores
        ? `<span class="series-part" data-testid="${testid}"><b>${escape(label)}</b> PSNR <span data-testid="${testid}-psnr">${scores.psnr === null ? '∞' : scores.psnr.toFixed(2)}</span> dB · SSIM <span data-testid="${testid}-ssim">${scores.ssim.toFixed(3)}</span> · RMSE ${formatValue(scores.rmse)} ${escape(this.units)}</span>`
        : '';
    const first = all[0]!;
    const several = all.length > 1;
    const noise = first.mean.noise;
    const unscored = this.methods[0]!.comparison.reference !== null ? unscoredText(this.methods[0]!.comparison) : null;
    target.innerHTML = [
      unscored ? `<span class="series-part" data-testid="unscored-reason">${escape(unscored)}</span>` : '',
      ...all.map((metrics, k) => {
        const key = this.methods[k]!.key;
        return part(several ? this.viewer.paneTitle(key) ?? 'Denoised' : 'Denoised', metrics.mean.denoised, key === 'denoised' ? 'mean-denoised' : `mean-${key}`);
      }),
      part(this.sourceTitle, first.mean.lowDose, 'mean-low-dose'),
      noise.lowDose !== null && noise.denoised !== null && !several
        ? `<span class="series-part" data-testid="mean-noise" title="No-reference noise estimate, mean over the slices: low-dose → denoised${noise.reference != null ? ', and the reference (full dose) scored against' : ''}"><b>Noise σ</b> ${formatValue(noise.lowDose)} → ${formatValue(noise.denoised)} ${escape(this.units)}${noise.reference != null ? ` (reference ${formatValue(noise.reference)} ${escape(this.units)})` : ''}</span>`
        : '',
    ].join('');
  }
}

/** The server figure's line (src/server/pane-text.ts), '–' when there are no scores. */
export function scoresText(scores: Scores | null): string {
  return scoresLine(scores) || '–';
}


function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The per-slice metrics plot under the panes: PSNR, SSIM or the no-reference noise σ of every
 * method (and the low-dose series) along the slices, the slice on screen marked; a click goes to
 * the slice under it. Its CSV button downloads the same numbers from the API (`/api/metrics.csv`).
 * The lines come from ./plot-lines.ts.
 */
import type { ComparisonMetrics } from './api.js';
import { PLOT_METRICS, plotLines, sliceAtX, sliceX, valueRange, type PlotLine, type PlotMetric } from './plot-lines.js';

const SVG = 'http://www.w3.org/2000/svg';
/** Line colours: low-dose grey, then the methods (distinguishable for the common colour blindnesses). */
const LOW_DOSE_COLOUR = '#8794a4';
const METHOD_COLOURS = ['#4fb3ff', '#ffd54a', '#ff7f50', '#7bd88f', '#d68fff', '#ff6b9a', '#9ad0ff', '#c5a880'];
const METRIC_LABELS: Record<PlotMetric, string> = { psnr: 'PSNR (dB)', ssim: 'SSIM', noise: 'Noise σ' };
/** Margins of the plot area inside the SVG, px. */
const MARGIN = { left: 52, right: 12, top: 8, bottom: 20 };

export interface PlotMethod {
  readonly key: string;
  readonly label: string;
  readonly metrics: ComparisonMetrics;
}

export class MetricsPlot {
  private methods: PlotMethod[] = [];
  private count = 0;
  private index = 0;
  private metric: PlotMetric = 'psnr';
  private units = '';
  private sourceTitle = 'Low-dose';
  private readonly svg: SVGSVGElement;
  private readonly legend: HTMLElement;
  private readonly csv: HTMLAnchorElement;
  private readonly note: HTMLElement;

  constructor(
    private readonly panel: HTMLElement,
    /** Goes to a low-dose slice. */
    private readonly onPick: (index: number) => void,
    /** The plot was shown or hidden (the panes' box changes). */
    private readonly onToggle: (shown: boolean) => void = () => {},
  ) {
    const bar = document.createElement('div');
    bar.className = 'plot-bar';
    const choose = document.createElement('span');
    choose.className = 'plot-metrics';
    for (const metric of PLOT_METRICS) {
      const button = document.createElement('button');
      button.type = 'button';
      button.dataset.metric = metric;
      button.textContent = METRIC_LABELS[metric];
      button.title =
        metric === 'noise'
          ? 'No-reference noise σ per slice: the mode of the 7×7 local SD over flat tissue (CT: local mean −150 to 250 HU)'
          : `${METRIC_LABELS[metric]} of each slice against the reference (the low-dose source when there is none)`;
      button.addEventListener('click', () => this.setMetric(metric));
      choose.append(button);
    }
    this.legend = document.createElement('span');
    this.legend.className = 'plot-legend';
    this.note = document.createElement('span');
    this.note.className = 'muted plot-note';
    this.csv = document.createElement('a');
    this.csv.id = 'metrics-csv';
    this.csv.className = 'button';
    this.csv.textContent = 'CSV';
    this.csv.title = 'Download every slice’s PSNR, SSIM, RMSE and noise σ of every method as CSV';
    this.csv.download = 'lowdose-metrics.csv';
    bar.append(choose, this.legend, this.note, this.csv);
    this.svg = document.createElementNS(SVG, 'svg');
    this.svg.id = 'metrics-plot-svg';
    this.svg.setAttribute('role', 'img');
    this.svg.addEventListener('click', (event) => {
      if (this.count === 0) return;
      const box = this.svg.getBoundingClientRect();
      this.onPick(sliceAtX(event.clientX - box.left, this.count, MARGIN.left, box.width - MARGIN.right));
    });
    new ResizeObserver(() => this.draw()).observe(this.svg);
    panel.replaceChildren(bar, this.svg);
    this.setMetric('psnr');
  }

  get shown(): boolean {
    return !this.panel.hidden;
  }

  toggle(show = !this.shown): void {
    this.panel.hidden = !show;
    document.body.dataset.plot = show ? 'shown' : 'hidden';
    this.onToggle(show);
    this.draw();
  }

  /**
   * A new view: nothing to plot until its metrics are in. `comparisonIds` for the CSV link; none
   * for a single series. `sourceTitle`: the source pane's title, the label of its line.
   */
  open(comparisonIds: readonly string[], count: number, units: string, sourceTitle = 'Low-dose'): void {
    this.methods = [];
    this.sourceTitle = sourceTitle;
    this.count = count;
    this.units = units === 'SUVbw' ? 'SUV' : units;
    this.csv.hidden = comparisonIds.length === 0;
    this.csv.href = comparisonIds.length > 0 ? `/api/metrics.csv?comparisons=${comparisonIds.join(',')}` : '';
    this.note.textContent = comparisonIds.length > 0 ? 'computing…' : 'a single series: nothing to compare';
    this.draw();
  }

  /** The metrics of every method, once the server has them all. */
  setMethods(methods: readonly PlotMethod[]): void {
    this.methods = [...methods];
    this.note.textContent = '';
    this.draw();
  }

  setIndex(index: number): void {
    this.index = index;
    const cursor = this.svg.querySelector<SVGLineElement>('.plot-cursor');
    if (!cursor) return;
    const width = this.svg.getBoundingClientRect().width;
    const x = String(sliceX(index, this.count, MARGIN.left, width - MARGIN.right));
    cursor.setAttribute('x1', x);
    cursor.setAttribute('x2', x);
  }

  setMetric(metric: PlotMetric): void {
    this.metric = metric;
    this.panel.dataset.metric = metric;
    for (const button of this.panel.querySelectorAll<HTMLButtonElement>('[data-metric]')) button.setAttribute('aria-pressed', String(button.dataset.metric === metric));
    this.draw();
  }

  private draw(): void {
    if (this.panel.hidden) return;
    const { width, height } = this.svg.getBoundingClientRect();
    const lines = plotLines(this.methods, this.metric, this.count, this.sourceTitle);
    const colour = (line: PlotLine, k: number) => (line.key === 'lowDose' ? LOW_DOSE_COLOUR : METHOD_COLOURS[k % METHOD_COLOURS.length]!);
    const methodLines = lines.filter((l) => l.key !== 'lowDose');
    this.legend.replaceChildren(
      ...lines.map((line) => {
        const item = document.createElement('span');
        item.className = 'plot-key';
        item.dataset.line = line.key;
        item.style.setProperty('--colour', colour(line, methodLines.indexOf(line)));
        item.textContent = line.label;
        return item;
      }),
    );
    this.svg.replaceChildren();
    if (width <= MARGIN.left + MARGIN.right || height <= MARGIN.top + MARGIN.bottom || this.count === 0) return;
    const left = MARGIN.left;
    const right = width - MARGIN.right;
    const top = MARGIN.top;
    const bottom = height - MARGIN.bottom;
    const [lo, hi] = valueRange(lines);
    const y = (v: number) => bottom - ((v - lo) / (hi - lo)) * (bottom - top);
    const add = (tag: string, attributes: Record<string, string | number>, text?: string) => {
      const element = document.createElementNS(SVG, tag);
      for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
      if (text !== undefined) element.textContent = text;
      this.svg.append(element);
      return element;
    };
    // Axes: three y ticks, the first and last slice (1-based, as the overlay counts them).
    for (const v of [lo, (lo + hi) / 2, hi]) {
      add('line', { x1: left, x2: right, y1: y(v), y2: y(v), class: 'plot-grid' });
      add('text', { x: left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'plot-tick' }, tick(v, this.metric));
    }
    add('text', { x: left, y: height - 5, class: 'plot-tick' }, '1');
    add('text', { x: right, y: height - 5, 'text-anchor': 'end', class: 'plot-tick' }, `${this.count} slices`);
    add('text', { x: 4, y: top + 10, class: 'plot-tick' }, this.metric === 'noise' ? this.units : '');
    for (const [k, line] of lines.entries()) {
      const points: string[] = [];
      const runs: string[][] = [points];
      line.values.forEach((v, i) => {
        // A slice without a value breaks the line instead of bridging it.
        if (v === null) runs.push([]);
        else runs[runs.length - 1]!.push(`${sliceX(i, this.count, left, right).toFixed(1)},${y(v).toFixed(1)}`);
      });
      const stroke = colour(line, methodLines.indexOf(line));
      for (const run of runs.filter((r) => r.length > 0)) {
        if (run.length === 1) {
          const [cx, cy] = run[0]!.split(',');
          add('circle', { cx: cx!, cy: cy!, r: 2.5, fill: stroke, 'data-line': line.key });
        } else {
          add('polyline', { points: run.join(' '), fill: 'none', stroke, 'stroke-width': 1.6, 'stroke-dasharray': line.key === 'lowDose' ? '4 3' : 'none', 'data-line': line.key, 'data-order': k });
        }
      }
    }
    add('line', { x1: 0, x2: 0, y1: top, y2: bottom, class: 'plot-cursor' });
    this.svg.dataset.left = String(left);
    this.svg.dataset.right = String(right);
    this.svg.dataset.count = String(this.count);
    this.setIndex(this.index);
  }
}

function tick(v: number, metric: PlotMetric): string {
  if (metric === 'ssim') return v.toFixed(3);
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/**
 * Figures for the experiment write-ups (docs/experiments/): line plots and labelled image grids as
 * small PNGs, drawn with the toolkit's own canvas and bitmap font (src/trace), so no plotting
 * library or browser is needed.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { windowToGray, type DisplayWindow } from '../../src/pipeline/preview.js';
import { COLORS, downsample, RgbCanvas, type Rgb } from '../../src/trace/canvas.js';
import { LINE_HEIGHT, textWidth } from '../../src/trace/font.js';
import { makeDirectoriesSync } from '../../src/util/fs.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const FIGURES = path.join(ROOT, 'docs/experiments');

/** Distinguishable on the dark background. */
export const PALETTE: readonly Rgb[] = [
  [102, 194, 255],
  [255, 170, 60],
  [120, 220, 120],
  [240, 100, 140],
  [200, 160, 255],
  [230, 230, 90],
  [160, 160, 160],
];

export interface Series {
  readonly name: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
  readonly color?: Rgb;
  /** Dim lines (e.g. the spread around a mean) are drawn thin and without a legend entry. */
  readonly dim?: boolean;
  /** Markers only, no connecting line. */
  readonly markers?: boolean;
}

export interface PlotOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly width?: number;
  readonly height?: number;
  readonly xRange?: readonly [number, number];
  readonly yRange?: readonly [number, number];
  /** log10 x axis (positive x only). */
  readonly xLog?: boolean;
  readonly hLines?: ReadonlyArray<{ y: number; label: string }>;
  readonly vLines?: ReadonlyArray<{ x: number; label: string }>;
}

export function linePlot(options: PlotOptions): Buffer {
  const width = options.width ?? 560;
  const height = options.height ?? 340;
  const canvas = new RgbCanvas(width, height);
  const left = 56;
  const right = width - 12;
  const top = 34;
  const bottom = height - 36;
  const all = options.series.flatMap((s) => s.points);
  const tx = (x: number) => (options.xLog ? Math.log10(x) : x);
  const [x0, x1] = options.xRange ?? [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  const ys = [...all.map((p) => p[1]), ...(options.hLines ?? []).map((h) => h.y)].filter(Number.isFinite);
  const [y0, y1] = options.yRange ?? niceRange(Math.min(...ys), Math.max(...ys));
  const px = (x: number) => left + ((tx(x) - tx(x0)) / (tx(x1) - tx(x0) || 1)) * (right - left);
  const py = (y: number) => bottom - ((y - y0) / (y1 - y0 || 1)) * (bottom - top);

  canvas.drawText(options.title, 6, 6, COLORS.title, { maxWidth: width - 12 });
  const grid: Rgb = [55, 55, 55];
  for (const y of ticks(y0, y1)) {
    canvas.drawLine(left, py(y), right, py(y), grid);
    const label = tickLabel(y);
    canvas.drawText(label, left - 4 - textWidth(label), py(y) - 3, COLORS.dim);
  }
  const xTicks = options.xLog ? logTicks(x0, x1) : ticks(x0, x1);
  for (const x of xTicks) {
    canvas.drawLine(px(x), top, px(x), bottom, grid);
    const label = tickLabel(x);
    canvas.drawText(label, px(x) - textWidth(label) / 2, bottom + 5, COLORS.dim);
  }
  canvas.drawLine(left, bottom, right, bottom, COLORS.dim);
  canvas.drawLine(left, top, left, bottom, COLORS.dim);
  canvas.drawText(options.xLabel, (left + right) / 2 - textWidth(options.xLabel) / 2, bottom + 18, COLORS.text);
  canvas.drawText(options.yLabel, 6, 19, COLORS.text, { maxWidth: width - 12 });
  for (const h of options.hLines ?? []) {
    dashed(canvas, left, py(h.y), right, py(h.y), COLORS.white);
    canvas.drawText(h.label, right - textWidth(h.label) - 2, py(h.y) - 11, COLORS.white);
  }
  for (const v of options.vLines ?? []) {
    dashed(canvas, px(v.x), top, px(v.x), bottom, COLORS.white);
    canvas.drawText(v.label, px(v.x) + 3, top + 2, COLORS.white);
  }
  let legendY = top + 4;
  let colorIndex = 0;
  for (const s of options.series) {
    const color = s.color ?? PALETTE[colorIndex++ % PALETTE.length]!;
    const pts = s.points.filter((p) => Number.isFinite(p[1]) && (!options.xLog || p[0] > 0));
    for (let i = 1; i < pts.length && !s.markers; i++) {
      canvas.drawLine(px(pts[i - 1]![0]), py(clamp(pts[i - 1]![1], y0, y1)), px(pts[i]![0]), py(clamp(pts[i]![1], y0, y1)), color, s.dim ? 1 : 2);
    }
    if (!s.dim) {
      const m = s.markers ? 4 : 2;
      if (pts.length <= 12 || s.markers) for (const p of pts) canvas.fillRect(px(p[0]) - m, py(clamp(p[1], y0, y1)) - m, 2 * m + 1, 2 * m + 1, color);
      const lx = right - 200;
      canvas.fillRect(lx, legendY + 2, 12, 4, color);
      canvas.drawText(s.name, lx + 16, legendY, COLORS.text, { maxWidth: 184 });
      legendY += LINE_HEIGHT;
    }
  }
  return canvas.encodePng();
}

export interface GridCell {
  readonly image: Float32Array;
  readonly rows: number;
  readonly columns: number;
  readonly label: readonly string[];
}

/** Rows of labelled image panels, each row with a title; images shrunk to at most `panel` px. */
export function imageGrid(rows: ReadonlyArray<{ title: string; cells: readonly GridCell[] }>, window: DisplayWindow, panel = 160, title?: string): Buffer {
  const margin = 6;
  const gap = 4;
  const labelLines = Math.max(1, ...rows.flatMap((r) => r.cells.map((c) => c.label.length)));
  const first = rows[0]!.cells[0]!;
  const factor = Math.max(1, Math.ceil(Math.max(first.rows, first.columns) / panel));
  const pr = Math.ceil(first.rows / factor);
  const pc = Math.ceil(first.columns / factor);
  const columns = Math.max(...rows.map((r) => r.cells.length));
  const cell = LINE_HEIGHT + pr + 2 + labelLines * LINE_HEIGHT;
  const width = 2 * margin + columns * pc + (columns - 1) * gap;
  const height = 2 * margin + (title ? LINE_HEIGHT + 4 : 0) + rows.length * (cell + gap);
  const canvas = new RgbCanvas(width, height);
  let y = margin;
  if (title) {
    canvas.drawText(title, margin, y, COLORS.text, { maxWidth: width - 2 * margin });
    y += LINE_HEIGHT + 4;
  }
  for (const row of rows) {
    canvas.drawText(row.title, margin, y, COLORS.title, { maxWidth: width - 2 * margin });
    const top = y + LINE_HEIGHT;
    row.cells.forEach((c, i) => {
      const x = margin + i * (pc + gap);
      const small = downsample(c.image, c.rows, c.columns, factor);
      canvas.drawGray(windowToGray(small.data, window), small.rows, small.columns, x, top);
      c.label.forEach((line, k) => canvas.drawText(line, x, top + pr + 2 + k * LINE_HEIGHT, k === 0 ? COLORS.text : COLORS.dim, { maxWidth: pc }));
    });
    y += cell + gap;
  }
  return canvas.encodePng({ gray: true });
}

/** `name` may name a subfolder of docs/experiments (e.g. lowband/texture-water-c1.json). */
export function saveFigure(name: string, png: Buffer): string {
  const file = path.join(FIGURES, name);
  makeDirectoriesSync(path.dirname(file));
  writeFileSync(file, png);
  console.error(`wrote ${path.relative(ROOT, file)} (${(png.length / 1024).toFixed(0)} KB)`);
  return file;
}

export function saveJson(name: string, value: unknown): void {
  makeDirectoriesSync(path.dirname(path.join(FIGURES, name)));
  writeFileSync(path.join(FIGURES, name), `${JSON.stringify(value, null, 2)}\n`);
  console.error(`wrote docs/experiments/${name}`);
}

function dashed(canvas: RgbCanvas, x0: number, y0: number, x1: number, y1: number, color: Rgb): void {
  const n = Math.max(1, Math.round(Math.hypot(x1 - x0, y1 - y0) / 6));
  for (let i = 0; i < n; i += 2) {
    const a = i / n;
    const b = Math.min(1, (i + 1) / n);
    canvas.drawLine(x0 + (x1 - x0) * a, y0 + (y1 - y0) * a, x0 + (x1 - x0) * b, y0 + (y1 - y0) * b, color);
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

function niceRange(lo: number, hi: number): [number, number] {
  if (lo === hi) return [lo - 1, hi + 1];
  const step = niceStep((hi - lo) / 5);
  return [Math.floor(lo / step) * step, Math.ceil(hi / step) * step];
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

function ticks(lo: number, hi: number): number[] {
  const step = niceStep((hi - lo) / 5);
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Math.round(v / step) * step);
  return out;
}

function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
    }
  }
  return out;
}

function tickLabel(v: number): string {
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 1000 || abs < 0.01) return v.toExponential(0);
  return String(Number(v.toPrecision(3)));
}

/**
 * A small line-plot renderer for the QA report: axes with round ticks, a legend, optional
 * reference lines, as one inline <svg> string (no scripts, no external assets).
 */

export interface PlotLine {
  readonly label: string;
  readonly color: string;
  /** SVG stroke-dasharray, e.g. "6 4". */
  readonly dash?: string;
  readonly x: readonly number[];
  readonly y: readonly number[];
}

export interface PlotOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly lines: readonly PlotLine[];
  readonly width?: number;
  readonly height?: number;
  readonly xMax?: number;
  readonly yMin?: number;
  readonly yMax?: number;
  /** Horizontal reference lines, e.g. MTF = 0.5. */
  readonly hLines?: readonly { readonly y: number; readonly label: string }[];
}

const MARGIN = { left: 64, right: 16, top: 30, bottom: 44 };

export function linePlot(options: PlotOptions): string {
  const width = options.width ?? 460;
  const height = options.height ?? 300;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const xs = options.lines.flatMap((l) => l.x.filter(Number.isFinite));
  const ys = options.lines.flatMap((l) => l.y.filter(Number.isFinite));
  const x0 = 0;
  const x1 = options.xMax ?? (xs.length ? Math.max(...xs) : 1);
  const y0 = options.yMin ?? Math.min(0, ...ys);
  const y1 = options.yMax ?? (ys.length ? Math.max(...ys) * 1.05 : 1);
  const xTicks = ticks(x0, x1 > x0 ? x1 : x0 + 1);
  const yTicks = ticks(y0, y1 > y0 ? y1 : y0 + 1);
  const xSpan = (xTicks.at(-1)! - xTicks[0]!) || 1;
  const ySpan = (yTicks.at(-1)! - yTicks[0]!) || 1;
  const px = (x: number) => MARGIN.left + ((x - xTicks[0]!) / xSpan) * plotW;
  const py = (y: number) => MARGIN.top + plotH - ((y - yTicks[0]!) / ySpan) * plotH;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(options.title)}" font-family="sans-serif" font-size="11">`,
  );
  parts.push(`<text x="${width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(options.title)}</text>`);
  for (const t of xTicks) {
    parts.push(`<line x1="${r(px(t))}" y1="${MARGIN.top}" x2="${r(px(t))}" y2="${MARGIN.top + plotH}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${r(px(t))}" y="${MARGIN.top + plotH + 14}" text-anchor="middle">${tickLabel(t)}</text>`);
  }
  for (const t of yTicks) {
    parts.push(`<line x1="${MARGIN.left}" y1="${r(py(t))}" x2="${MARGIN.left + plotW}" y2="${r(py(t))}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${r(py(t) + 4)}" text-anchor="end">${tickLabel(t)}</text>`);
  }
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`);
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${height - 8}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  parts.push(
    `<text x="14" y="${MARGIN.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 14 ${MARGIN.top + plotH / 2})">${escapeXml(options.yLabel)}</text>`,
  );
  for (const h of options.hLines ?? []) {
    parts.push(`<line x1="${MARGIN.left}" y1="${r(py(h.y))}" x2="${MARGIN.left + plotW}" y2="${r(py(h.y))}" stroke="#999" stroke-dasharray="2 3"/>`);
    parts.push(`<text x="${MARGIN.left + plotW - 4}" y="${r(py(h.y) - 4)}" text-anchor="end" fill="#666">${escapeXml(h.label)}</text>`);
  }
  const clipId = `clip${Math.abs(hashCode(options.title))}`;
  parts.push(`<clipPath id="${clipId}"><rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}"/></clipPath>`);
  for (const line of options.lines) {
    const points: string[] = [];
    for (let i = 0; i < Math.min(line.x.length, line.y.length); i++) {
      if (!Number.isFinite(line.x[i]!) || !Number.isFinite(line.y[i]!)) continue;
      points.push(`${r(px(line.x[i]!))},${r(py(line.y[i]!))}`);
    }
    if (points.length === 0) continue;
    parts.push(
      `<polyline clip-path="url(#${clipId})" fill="none" stroke="${line.color}" stroke-width="1.8"${line.dash ? ` stroke-dasharray="${line.dash}"` : ''} points="${points.join(' ')}"/>`,
    );
  }
  const legendX = MARGIN.left + plotW - 150;
  if (options.lines.length > 0) {
    parts.push(`<rect x="${legendX - 6}" y="${MARGIN.top + 2}" width="152" height="${options.lines.length * 15 + 4}" fill="#fff" fill-opacity="0.85"/>`);
  }
  options.lines.forEach((line, i) => {
    const y = MARGIN.top + 12 + i * 15;
    const x = legendX;
    parts.push(`<line x1="${x}" y1="${y - 4}" x2="${x + 22}" y2="${y - 4}" stroke="${line.color}" stroke-width="2"${line.dash ? ` stroke-dasharray="${line.dash}"` : ''}/>`);
    parts.push(`<text x="${x + 28}" y="${y}">${escapeXml(line.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Round tick positions covering [lo, hi]: steps of 1, 2 or 5 times a power of ten. */
export function ticks(lo: number, hi: number, target = 6): number[] {
  const raw = (hi - lo) / target;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const out: number[] = [];
  // Integer multiples, rounded to 12 digits: 3 * 0.1 is 0.30000000000000004 otherwise.
  for (let k = first; k <= last; k++) out.push(Number((k * step).toPrecision(12)));
  return out;
}

function tickLabel(value: number): string {
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e5 || abs < 1e-3) return value.toExponential(1);
  return String(Number(value.toPrecision(4)));
}

function r(v: number): string {
  return v.toFixed(1);
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function hashCode(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0;
  return h;
}

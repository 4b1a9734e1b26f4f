/**
 * Regions and lengths drawn on a slice, as plain arithmetic shared by the viewer's measurement
 * table and the API's (`POST /api/measurements.csv`): which pixels an ellipse, rectangle or
 * freehand outline holds (pixel centres inside), their mean, SD, min, max and area in mm², a length
 * in mm, the CNR between two ROIs (as ./contrast.ts defines it: |mean(a) − mean(b)| / SD(b)), and
 * the table as CSV.
 */

/** A slice's values in modality units, row-major. */
export interface PixelValues {
  readonly rows: number;
  readonly columns: number;
  /** Value of pixel `index` (row-major) in modality units. */
  readonly value: (index: number) => number;
  /** [row spacing, column spacing], mm. */
  readonly pixelSpacing: readonly [number, number];
  /**
   * Nonzero where the pixel is not image (outside the scanned field, `Pixels.padding`): left out
   * of every statistic, as src/metrics leaves it out, so an ROI over the field's edge does not
   * average in the padding value (-3024 HU, say).
   */
  readonly padding?: ArrayLike<number> | null;
}

export interface Ellipse {
  /** Centre and semi-axes in image pixels (x = column, y = row; (0, 0) is the first pixel's corner). */
  readonly cx: number;
  readonly cy: number;
  readonly rx: number;
  readonly ry: number;
}

/** The pixels whose centres lie inside the ellipse, as row-major indices. */
export function ellipsePixels(rows: number, columns: number, roi: Ellipse): number[] {
  if (roi.rx < 0.5 || roi.ry < 0.5) return [];
  const out: number[] = [];
  const x0 = Math.max(0, Math.floor(roi.cx - roi.rx));
  const x1 = Math.min(columns - 1, Math.ceil(roi.cx + roi.rx));
  const y0 = Math.max(0, Math.floor(roi.cy - roi.ry));
  const y1 = Math.min(rows - 1, Math.ceil(roi.cy + roi.ry));
  for (let y = y0; y <= y1; y++) {
    const dy = (y + 0.5 - roi.cy) / roi.ry;
    for (let x = x0; x <= x1; x++) {
      const dx = (x + 0.5 - roi.cx) / roi.rx;
      if (dx * dx + dy * dy <= 1) out.push(y * columns + x);
    }
  }
  return out;
}

export interface Point {
  readonly x: number;
  readonly y: number;
}

/** In image pixels (x = column, y = row; (0, 0) is the first pixel's corner). */
export type Shape =
  | { readonly kind: 'ellipse'; readonly ellipse: Ellipse }
  | { readonly kind: 'rectangle'; readonly from: Point; readonly to: Point }
  | { readonly kind: 'freehand'; readonly points: readonly Point[] }
  | { readonly kind: 'length'; readonly from: Point; readonly to: Point };

export interface RegionStats {
  readonly mean: number;
  /** Sample standard deviation. */
  readonly sd: number;
  readonly min: number;
  readonly max: number;
  readonly pixels: number;
  readonly areaMm2: number;
}

/** Row-major indices of the pixels whose centres lie inside the shape (none for a length). */
export function shapePixels(rows: number, columns: number, shape: Shape): number[] {
  if (shape.kind === 'ellipse') return ellipsePixels(rows, columns, shape.ellipse);
  if (shape.kind === 'length') return [];
  const points = shape.kind === 'rectangle' ? corners(shape.from, shape.to) : shape.points;
  if (points.length < 3) return [];
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const x0 = Math.max(0, Math.floor(Math.min(...xs)));
  const x1 = Math.min(columns - 1, Math.ceil(Math.max(...xs)));
  const y0 = Math.max(0, Math.floor(Math.min(...ys)));
  const y1 = Math.min(rows - 1, Math.ceil(Math.max(...ys)));
  const out: number[] = [];
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) if (inside(points, x + 0.5, y + 0.5)) out.push(y * columns + x);
  return out;
}

function corners(a: Point, b: Point): Point[] {
  return [a, { x: b.x, y: a.y }, b, { x: a.x, y: b.y }];
}

/** Even-odd rule. */
function inside(polygon: readonly Point[], x: number, y: number): boolean {
  let result = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[i]!;
    const b = polygon[j]!;
    if (a.y > y !== b.y > y && x < ((b.x - a.x) * (y - a.y)) / (b.y - a.y) + a.x) result = !result;
  }
  return result;
}

/** Mean, sample SD, min, max, count and area in mm² of the image pixels (not padding) whose centres lie in the shape; null when none. */
export function regionStats(slice: PixelValues, shape: Shape): RegionStats | null {
  const pixels = imagePixels(shapePixels(slice.rows, slice.columns, shape), slice.padding);
  if (pixels.length === 0) return null;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const i of pixels) {
    const v = slice.value(i);
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const n = pixels.length;
  const mean = sum / n;
  let squares = 0;
  for (const i of pixels) squares += (slice.value(i) - mean) ** 2;
  const sd = n > 1 ? Math.sqrt(squares / (n - 1)) : 0;
  return { mean, sd, min, max, pixels: n, areaMm2: n * slice.pixelSpacing[0] * slice.pixelSpacing[1] };
}

/** `pixels` less those that `padding` marks. */
export function imagePixels(pixels: number[], padding: ArrayLike<number> | null | undefined): number[] {
  return padding ? pixels.filter((i) => !padding[i]) : pixels;
}

/** Length of a line in mm, from the pixel spacing ([row, column] mm). */
export function lengthMm(from: Point, to: Point, pixelSpacing: readonly [number, number]): number {
  return Math.hypot((to.x - from.x) * pixelSpacing[1], (to.y - from.y) * pixelSpacing[0]);
}

/** CNR of region `a` against region `b` (the background): |mean(a) − mean(b)| / SD(b); null when SD(b) is 0. */
export function contrastToNoise(a: RegionStats, b: RegionStats): number | null {
  return b.sd > 0 ? Math.abs(a.mean - b.mean) / b.sd : null;
}

export interface TableRow {
  readonly measurement: string;
  readonly kind: Shape['kind'];
  readonly pane: string;
  readonly slice: number;
  readonly units: string;
  readonly stats: RegionStats | null;
  readonly lengthMm: number | null;
  /**
   * Why the region has no numbers in this pane although it has a slice: its series lies on a grid
   * the shape cannot be placed on (`TablePane.place`); null otherwise.
   */
  readonly note?: string | null;
}

/** `note` came last, after the others (columns are only ever added at the end). */
export const CSV_COLUMNS = ['measurement', 'kind', 'pane', 'slice', 'units', 'mean', 'sd', 'min', 'max', 'pixels', 'area_mm2', 'length_mm', 'note'] as const;

/** The table as CSV (RFC 4180 quoting), numbers at full precision so a spreadsheet recomputes what the page shows. */
export function tableCsv(rows: readonly TableRow[], cnr: ReadonlyArray<{ pane: string; a: string; b: string; value: number | null }>): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of rows) {
    const s = r.stats;
    lines.push(
      [r.measurement, r.kind, r.pane, r.slice, r.units, s?.mean, s?.sd, s?.min, s?.max, s?.pixels, s?.areaMm2, r.lengthMm ?? undefined, r.note ?? undefined].map(csvCell).join(','),
    );
  }
  if (cnr.length > 0) {
    lines.push('', 'cnr_of,against,pane,cnr');
    for (const c of cnr) lines.push([c.a, c.b, c.pane, c.value ?? undefined].map(csvCell).join(','));
  }
  return `${lines.join('\n')}\n`;
}

export function csvCell(value: string | number | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A pane of a hanging: its key, the slice number shown (1-based) and its values there (null: no slice). */
export interface TablePane {
  readonly key: string;
  readonly slice: number;
  readonly units: string;
  readonly values: PixelValues | null;
  /**
   * Where this pane measures a shape drawn in the first pane's pixels: on its own grid through
   * patient coordinates (./grid-mapping.ts, so a reference of another pixel spacing or field of
   * view is measured over the same anatomy), or null with the reason it cannot. Absent: the same
   * image pixels.
   */
  readonly place?: (shape: Shape) => { readonly shape: Shape; readonly note: null } | { readonly shape: null; readonly note: string };
}

export interface CnrRow {
  readonly pane: string;
  readonly a: string;
  readonly b: string;
  readonly value: number | null;
}

/**
 * The measurement table: a row per region and pane (a pane without a slice is left out), a length
 * once (the same in every pane, from the first pane's pixel spacing), and the CNR of the first
 * region against the second in each pane that has both. Each pane with `place` measures the shapes
 * where that puts them, or says why it cannot (`note`).
 */
export function measurementTable(panes: readonly TablePane[], measurements: ReadonlyArray<{ name: string; shape: Shape }>): { rows: TableRow[]; cnr: CnrRow[] } {
  const rows: TableRow[] = [];
  const shown = panes.filter((p): p is TablePane & { values: PixelValues } => p.values !== null);
  for (const m of measurements) {
    for (const pane of shown) {
      const shape = m.shape;
      if (shape.kind === 'length') {
        rows.push({ measurement: m.name, kind: 'length', pane: pane.key, slice: pane.slice, units: 'mm', stats: null, lengthMm: lengthMm(shape.from, shape.to, pane.values.pixelSpacing) });
        break;
      }
      const placed = pane.place ? pane.place(shape) : { shape, note: null };
      rows.push({
        measurement: m.name,
        kind: shape.kind,
        pane: pane.key,
        slice: pane.slice,
        units: pane.units,
        stats: placed.shape ? regionStats(pane.values, placed.shape) : null,
        lengthMm: null,
        note: placed.note,
      });
    }
  }
  const regions = [...new Set(rows.filter((r) => r.stats).map((r) => r.measurement))];
  const cnr: CnrRow[] = [];
  if (regions.length >= 2) {
    const [a, b] = regions as [string, string];
    for (const pane of shown) {
      const ra = rows.find((r) => r.measurement === a && r.pane === pane.key)?.stats;
      const rb = rows.find((r) => r.measurement === b && r.pane === pane.key)?.stats;
      if (ra && rb) cnr.push({ pane: pane.key, a, b, value: contrastToNoise(ra, rb) });
    }
  }
  return { rows, cnr };
}

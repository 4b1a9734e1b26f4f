/**
 * The pixel work of the viewer's exports, as plain functions of data that crosses threads: the
 * figure (panes derived, drawn and PNG-encoded: ./figure-render.ts) and the measurement table of
 * ROIs and lengths (src/metrics/roi-shapes.ts). The server runs them in its figures thread
 * (./worker-tasks.ts), never on its event loop: a figure near the pixel limit is seconds of drawing
 * and deflating, which every other request would otherwise wait for. The routes only read slices
 * and decide what goes where (./routes/exports.ts).
 */
import { LowdoseError } from '../errors.js';
import type { Image2D } from '../image.js';
import { placeWithNote, type SliceGrid } from '../metrics/grid-mapping.js';
import { measurementTable, type CnrRow, type Shape, type TablePane, type TableRow } from '../metrics/roi-shapes.js';
import { differencePixels } from './difference-pane.js';
import { renderFigure, type FigureOptions, type FigurePane } from './figure-render.js';
import { paneOnFrame } from './pane-on-frame.js';

/**
 * A pane's image as the route hands it over: a slice as read, or what to derive it from, so the
 * derivation (a pass over every pixel) runs in the figures thread too.
 */
export type PaneImage =
  | Image2D
  | null
  /** The denoised slice minus the slice it is scored against (`what`: "reference" or "source"). */
  | { readonly kind: 'difference'; readonly denoised: Image2D; readonly against: Image2D; readonly what: string }
  /** `image` (slice `grid`) drawn on slice `frame`'s grid (paneOnFrame). */
  | { readonly kind: 'onFrame'; readonly image: Image2D; readonly frame: SliceGrid; readonly grid: SliceGrid };

export type FigurePaneSource = Omit<FigurePane, 'image'> & { readonly image: PaneImage };

/**
 * The matrix a pane's image is drawn at, known before it is derived (what the figure's layout
 * needs): a slice's own, the denoised slice's for a difference, and for a slice drawn on another
 * grid the larger of its own and that grid's (paneOnFrame keeps it as it is where it does not move).
 */
export function paneMatrix(source: PaneImage): { rows: number; columns: number } | null {
  if (source === null) return null;
  if (!('kind' in source)) return { rows: source.rows, columns: source.columns };
  if (source.kind === 'difference') return { rows: source.denoised.rows, columns: source.denoised.columns };
  return { rows: Math.max(source.image.rows, source.frame.rows), columns: Math.max(source.image.columns, source.frame.columns) };
}

export interface FigureTaskInput {
  readonly panes: readonly FigurePaneSource[];
  readonly options: FigureOptions;
}

/** The figure's PNG bytes. */
export function drawFigure(input: FigureTaskInput): Uint8Array {
  return renderFigure(input.panes.map((pane) => ({ ...pane, image: paneImage(pane.image) })), input.options);
}

function paneImage(source: PaneImage): Image2D | null {
  if (source === null || !('kind' in source)) return source;
  if (source.kind === 'difference') return differenceImage(source.denoised, source.against, source.what);
  return paneOnFrame(source.image, source.frame, source.grid).image;
}

/**
 * Denoised − reference in the series' units through the viewer's code (differencePixels): padding
 * of either slice is zero difference, so it shows as "no change", not as saturated colour.
 */
export function differenceImage(denoised: Image2D, against: Image2D, what: string): Image2D {
  if (denoised.rows !== against.rows || denoised.columns !== against.columns) {
    throw new LowdoseError('E_USAGE', `the difference pane needs one matrix: the denoised slice is ${denoised.columns}x${denoised.rows}, the ${what} ${against.columns}x${against.rows} (resample one to the other first)`);
  }
  const { pixels, slope, padding } = differencePixels(
    { pixels: denoised.data, slope: 1, intercept: 0, padding: denoised.padding ?? null },
    { pixels: against.data, slope: 1, intercept: 0, padding: against.padding ?? null },
  );
  return { ...denoised, data: Float32Array.from(pixels, (v) => v * slope), padding };
}

/**
 * A measurement-table pane as it crosses threads: its slice (null: none matches) instead of a
 * pixel accessor, and the grids that place the shapes on it instead of a function.
 */
export interface TablePaneSource {
  readonly key: string;
  readonly slice: number;
  readonly units: string;
  readonly image: Image2D | null;
  /** Shapes drawn on grid `from` measured on grid `to` (placeWithNote); absent: the same pixels. */
  readonly place?: { readonly from: SliceGrid; readonly to: SliceGrid; readonly toleranceMm: number };
}

export interface TableTaskInput {
  readonly panes: readonly TablePaneSource[];
  readonly measurements: ReadonlyArray<{ readonly name: string; readonly shape: Shape }>;
}

export interface TableTaskOutput {
  readonly rows: TableRow[];
  readonly cnr: CnrRow[];
}

/** The measurement table (measurementTable) of panes as they cross threads. */
export function measureTable(input: TableTaskInput): TableTaskOutput {
  const panes = input.panes.map((p): TablePane => {
    const image = p.image;
    const values = image && { rows: image.rows, columns: image.columns, value: (i: number) => image.data[i]!, pixelSpacing: image.pixelSpacing, padding: image.padding ?? null };
    const place = p.place && placeWithNote(p.place.from, p.place.to, p.place.toleranceMm);
    return { key: p.key, slice: p.slice, units: p.units, values, ...(place ? { place } : {}) };
  });
  return measurementTable(panes, input.measurements);
}

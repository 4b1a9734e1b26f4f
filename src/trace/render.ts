/**
 * The trace figure: a labelled grid PNG.
 *
 *   title (2 lines)
 *   "forward" section title, then one row: x_0, x_{T/8}, ..., x_T
 *   "reverse" section title, then pairs of rows, `columns` frames wide:
 *     x_t fed to the network at each step ... and the output
 *     x̂_0 predicted at each step ...         and the input, for comparison
 *
 * Every panel has three label lines below it. Images larger than `panel` pixels are shrunk by an
 * integer factor (box average).
 */
import { windowToGray, type DisplayWindow } from '../pipeline/preview.js';
import { COLORS, downsample, RgbCanvas } from './canvas.js';
import { LINE_HEIGHT } from './font.js';

export const GRID_MARGIN = 8;
export const GRID_GAP = 4;
export const LABEL_LINES = 3;
export const TITLE_LINES = 2;
/** Space between the forward section and the reverse section. */
export const SECTION_GAP = 8;

export interface TracePanel {
  /** rows·columns values in modality units. */
  readonly image: Float32Array;
  readonly label: readonly string[];
}

export interface TraceGrid {
  readonly rows: number;
  readonly columns: number;
  readonly title: readonly string[];
  readonly window: DisplayWindow;
  readonly forwardTitle: string;
  readonly forward: readonly TracePanel[];
  readonly reverseTitle: string;
  /** Upper row of each pair: x_t per step, then the output. */
  readonly reverseSamples: readonly TracePanel[];
  /** Lower row: x̂_0 per step, then the input; same length as reverseSamples. */
  readonly reversePredictions: readonly TracePanel[];
}

export interface GridLayoutInput {
  readonly rows: number;
  readonly columns: number;
  readonly forwardFrames: number;
  /** Panels per reverse row (steps + 1). */
  readonly reverseFrames: number;
  /** Largest panel edge in pixels (default 256). */
  readonly panel?: number;
  /** Most panels per reverse row before it wraps (default 10; never fewer than the forward frames). */
  readonly maxColumns?: number;
}

export interface GridLayout {
  readonly width: number;
  readonly height: number;
  /** Shrink factor of every panel. */
  readonly factor: number;
  readonly panelRows: number;
  readonly panelColumns: number;
  /** Panels per row. */
  readonly gridColumns: number;
  /** Pairs of reverse rows. */
  readonly reverseChunks: number;
}

export const DEFAULT_PANEL = 256;
export const DEFAULT_MAX_COLUMNS = 10;

export function traceGridLayout(input: GridLayoutInput): GridLayout {
  const panel = input.panel ?? DEFAULT_PANEL;
  const factor = Math.max(1, Math.ceil(Math.max(input.rows, input.columns) / panel));
  const panelRows = Math.ceil(input.rows / factor);
  const panelColumns = Math.ceil(input.columns / factor);
  // Wrapped reverse rows are balanced (9 frames at most 8 a row: 5 + 4, not 8 + 1).
  const rowsNeeded = Math.ceil(input.reverseFrames / (input.maxColumns ?? DEFAULT_MAX_COLUMNS));
  const gridColumns = Math.max(input.forwardFrames, Math.ceil(input.reverseFrames / rowsNeeded));
  const reverseChunks = Math.ceil(input.reverseFrames / gridColumns);
  const cell = panelRows + LABEL_LINES * LINE_HEIGHT;
  const width = 2 * GRID_MARGIN + gridColumns * panelColumns + (gridColumns - 1) * GRID_GAP;
  const height =
    GRID_MARGIN +
    TITLE_LINES * LINE_HEIGHT +
    LINE_HEIGHT + cell + // forward section
    SECTION_GAP +
    LINE_HEIGHT + reverseChunks * 2 * cell + // reverse section
    GRID_MARGIN;
  return { width, height, factor, panelRows, panelColumns, gridColumns, reverseChunks };
}

export function renderTraceGrid(grid: TraceGrid, options: { panel?: number; maxColumns?: number } = {}): { png: Buffer; layout: GridLayout } {
  if (grid.reverseSamples.length !== grid.reversePredictions.length) {
    throw new RangeError('renderTraceGrid: the two reverse rows must have the same length');
  }
  const layout = traceGridLayout({
    rows: grid.rows,
    columns: grid.columns,
    forwardFrames: grid.forward.length,
    reverseFrames: grid.reverseSamples.length,
    ...options,
  });
  const canvas = new RgbCanvas(layout.width, layout.height);
  const cellHeight = layout.panelRows + LABEL_LINES * LINE_HEIGHT;
  const textWidth = layout.width - 2 * GRID_MARGIN;
  let y = GRID_MARGIN;
  for (const line of grid.title.slice(0, TITLE_LINES)) {
    canvas.drawText(line, GRID_MARGIN, y, COLORS.text, { maxWidth: textWidth });
    y += LINE_HEIGHT;
  }
  y += (TITLE_LINES - Math.min(TITLE_LINES, grid.title.length)) * LINE_HEIGHT;

  const drawRow = (panels: readonly TracePanel[], top: number) => {
    panels.forEach((panel, i) => {
      const x = GRID_MARGIN + i * (layout.panelColumns + GRID_GAP);
      const small = downsample(panel.image, grid.rows, grid.columns, layout.factor);
      canvas.drawGray(windowToGray(small.data, grid.window), small.rows, small.columns, x, top);
      panel.label.slice(0, LABEL_LINES).forEach((line, k) => {
        canvas.drawText(line, x, top + layout.panelRows + 2 + k * LINE_HEIGHT, k === 0 ? COLORS.text : COLORS.dim, {
          maxWidth: layout.panelColumns,
        });
      });
    });
  };

  canvas.drawText(grid.forwardTitle, GRID_MARGIN, y, COLORS.title, { maxWidth: textWidth });
  y += LINE_HEIGHT;
  drawRow(grid.forward, y);
  y += cellHeight + SECTION_GAP;

  canvas.drawText(grid.reverseTitle, GRID_MARGIN, y, COLORS.title, { maxWidth: textWidth });
  y += LINE_HEIGHT;
  for (let chunk = 0; chunk < layout.reverseChunks; chunk++) {
    const from = chunk * layout.gridColumns;
    const to = from + layout.gridColumns;
    drawRow(grid.reverseSamples.slice(from, to), y);
    y += cellHeight;
    drawRow(grid.reversePredictions.slice(from, to), y);
    y += cellHeight;
  }
  // Everything drawn is grey or near-grey: one channel makes the file a third of the size.
  return { png: canvas.encodePng({ gray: true }), layout };
}

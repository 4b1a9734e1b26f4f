/**
 * A hanging as a PNG figure, drawn by the server (`GET /api/figure.png`): each pane's slice windowed
 * to grey and enlarged by whole pixels (nearest neighbour: no invented detail), under a title bar
 * with the pane's name and its per-slice PSNR / SSIM, with the slice, location and window below and a
 * scale bar in mm. Pure: images in, PNG bytes out (src/trace/canvas.ts draws, pngjs encodes).
 */
import type { Image2D } from '../image.js';
import { windowToGray, type DisplayWindow } from '../pipeline/preview.js';
import { COLORS, RgbCanvas, type Rgb } from '../trace/canvas.js';
import { LINE_HEIGHT, textWidth } from '../trace/font.js';
import { scaleBar } from '../util/scale-bar.js';

export interface FigurePane {
  readonly title: string;
  /** Right of the title: "PSNR 35.2 dB · SSIM 0.912", or ''. */
  readonly metrics: string;
  /** Under the image: "Im 3/8 · Loc -12.5 mm · W 400 L 40 HU". */
  readonly footer: string;
  /** null: the pane has no slice matching this one (drawn empty). */
  readonly image: Image2D | null;
}

export interface FigureOptions {
  readonly window: DisplayWindow;
  /** 1 or 2: every length (image zoom, text, bars) times this. */
  readonly scale: number;
  /** Panes per row (default: all in one row up to 4, else 3). */
  readonly columns?: number;
}

const TITLE_COLOUR: Rgb = [230, 236, 243];
const METRICS_COLOUR: Rgb = [255, 213, 74];
const FOOTER_COLOUR: Rgb = [150, 160, 172];
/** The image side a pane aims for at scale 1, px: small matrices are enlarged by a whole factor up to it. */
const TARGET_SIDE = 512;

/** Where each pane's image lands (for tests and for callers that annotate). */
export interface FigureLayout {
  readonly width: number;
  readonly height: number;
  /** Per pane: the image's top-left corner and its zoom (figure pixels per image pixel). */
  readonly images: ReadonlyArray<{ x: number; y: number; zoom: number }>;
  /** Every pane's image box (the first pane's matrix enlarged), px. */
  readonly imageWidth: number;
  readonly imageHeight: number;
}

export function figureLayout(panes: readonly FigurePane[], options: FigureOptions): FigureLayout {
  const s = options.scale;
  const columns = options.columns ?? (panes.length <= 4 ? panes.length : 3);
  const rows = Math.ceil(panes.length / columns);
  const first = panes.find((p) => p.image)?.image;
  const side = first ? Math.max(first.rows, first.columns) : TARGET_SIDE;
  const zoom = Math.max(1, Math.floor(TARGET_SIDE / side)) * s;
  const imageW = (first?.columns ?? TARGET_SIDE) * zoom;
  const imageH = (first?.rows ?? TARGET_SIDE) * zoom;
  const bar = barHeight(s);
  const gap = 2 * s;
  const cellW = imageW;
  const cellH = bar + imageH + bar;
  const images = panes.map((_, k) => ({ x: (k % columns) * (cellW + gap), y: Math.floor(k / columns) * (cellH + gap) + bar, zoom }));
  return { width: columns * cellW + (columns - 1) * gap, height: rows * cellH + (rows - 1) * gap, images, imageWidth: imageW, imageHeight: imageH };
}

function barHeight(scale: number): number {
  return (LINE_HEIGHT + 6) * scale;
}

export function renderFigure(panes: readonly FigurePane[], options: FigureOptions): Buffer {
  const s = options.scale;
  const layout = figureLayout(panes, options);
  const canvas = new RgbCanvas(layout.width, layout.height, COLORS.black);
  const bar = barHeight(s);
  for (const [k, pane] of panes.entries()) {
    const { x, y, zoom } = layout.images[k]!;
    const image = pane.image;
    const width = layout.imageWidth;
    const height = layout.imageHeight;
    if (image) canvas.drawGray(enlarge(windowToGray(image.data, options.window), image.rows, image.columns, zoom), image.rows * zoom, image.columns * zoom, x, y);
    // Title bar: the name on the left, the metrics on the right (the name cut first).
    canvas.fillRect(x, y - bar, width, bar, COLORS.background);
    const metricsWidth = textWidth(pane.metrics, s);
    canvas.drawText(pane.metrics, x + width - metricsWidth - 4 * s, y - bar + 3 * s, METRICS_COLOUR, { scale: s });
    canvas.drawText(pane.title, x + 4 * s, y - bar + 3 * s, TITLE_COLOUR, { scale: s, maxWidth: Math.max(0, width - metricsWidth - 14 * s) });
    // Footer: slice, location, window; a scale bar at the image's bottom right.
    const footerY = y + height;
    canvas.fillRect(x, footerY, width, bar, COLORS.background);
    canvas.drawText(pane.footer, x + 4 * s, footerY + 3 * s, FOOTER_COLOUR, { scale: s, maxWidth: width - 8 * s });
    if (image) {
      const scaleMm = scaleBar(zoom / image.pixelSpacing[1], 0.3 * width);
      if (scaleMm) {
        const label = `${scaleMm.mm} mm`;
        const right = x + width - 8 * s;
        const lineY = footerY - 6 * s;
        canvas.fillRect(right - scaleMm.px, lineY, scaleMm.px, 2 * s, COLORS.white);
        canvas.fillRect(right - scaleMm.px, lineY - 4 * s, s, 4 * s, COLORS.white);
        canvas.fillRect(right - s, lineY - 4 * s, s, 4 * s, COLORS.white);
        canvas.drawText(label, right - textWidth(label, s), lineY - 4 * s - LINE_HEIGHT * s, COLORS.white, { scale: s });
      }
    }
  }
  return canvas.encodePng();
}

/** Nearest-neighbour enlargement by a whole factor. */
function enlarge(gray: Uint8Array, rows: number, columns: number, zoom: number): Uint8Array {
  if (zoom === 1) return gray;
  const out = new Uint8Array(rows * zoom * columns * zoom);
  const width = columns * zoom;
  for (let r = 0; r < rows * zoom; r++) {
    const source = Math.floor(r / zoom) * columns;
    for (let c = 0; c < width; c++) out[r * width + c] = gray[source + Math.floor(c / zoom)]!;
  }
  return out;
}

/**
 * A hanging as a PNG figure, drawn by the server (`GET /api/figure.png`): each pane's slice windowed
 * to grey and enlarged by whole pixels (nearest neighbour: no invented detail), under a title bar
 * with the pane's name and its per-slice PSNR / SSIM, with the slice, location and window below and a
 * scale bar in mm. A pane may carry its own window and colour map (the difference pane: the
 * viewer's diverging map, src/server/difference-pane.ts), and ROI / length outlines in image pixels
 * are drawn on every pane, mirrored as the viewer mirrors them. Panes of different matrices each get
 * their own whole-pixel zoom, centred in a common cell. Pure: images in, PNG bytes out
 * (src/trace/canvas.ts draws, pngjs encodes).
 */
import type { Image2D } from '../image.js';
import { windowToGray, type DisplayWindow } from '../pipeline/preview.js';
import { COLORS, RgbCanvas, type Rgb } from '../trace/canvas.js';
import { LINE_HEIGHT, textWidth, wrapText } from '../trace/font.js';
import type { Shape } from '../metrics/roi-shapes.js';
import { scaleBar } from '../util/scale-bar.js';

export interface FigurePane {
  readonly title: string;
  /** Right of the title: "PSNR 35.2 dB · SSIM 0.912", or ''. */
  readonly metrics: string;
  /** Under the image: "Im 3/8 · Loc -12.5 mm · W 400 L 40 HU". */
  readonly footer: string;
  /** null: the pane has no slice matching this one (drawn empty). */
  readonly image: Image2D | null;
  /** This pane's window, when not the figure's (the difference pane's, centred on 0). */
  readonly window?: DisplayWindow;
  /** 256 colours indexed by the windowed grey level (the difference map); none: grey. */
  readonly colours?: ReadonlyArray<readonly [number, number, number]>;
  /** This pane's outlines when not the figure's `shapes` (moved onto a reference of another grid; none where they have no place). */
  readonly shapes?: ReadonlyArray<{ readonly name: string; readonly shape: Shape }>;
}

export interface FigureOptions {
  readonly window: DisplayWindow;
  /** 1 or 2: every length (image zoom, text, bars) times this. */
  readonly scale: number;
  /** Panes per row (default: all in one row up to 4, else 3). */
  readonly columns?: number;
  /** ROIs and lengths in image pixels (x = column, y = row, (0, 0) the first pixel's corner), drawn on every pane with an image. */
  readonly shapes?: ReadonlyArray<{ readonly name: string; readonly shape: Shape }>;
}

const TITLE_COLOUR: Rgb = [230, 236, 243];
const METRICS_COLOUR: Rgb = [255, 213, 74];
const FOOTER_COLOUR: Rgb = [150, 160, 172];
/** The viewer's outline colours (viewer/src/measure-layer.ts): regions light blue, lengths green. */
const REGION_COLOUR: Rgb = [0x7f, 0xd3, 0xff];
const LENGTH_COLOUR: Rgb = [0x9b, 0xe2, 0x9b];
/** The image side a pane aims for at scale 1, px: small matrices are enlarged by a whole factor up to it. */
const TARGET_SIDE = 512;

/** Where each pane's image lands (for tests and for callers that annotate). */
export interface FigureLayout {
  readonly width: number;
  readonly height: number;
  /** Per pane: the image's top-left corner and its zoom (figure pixels per image pixel). */
  readonly images: ReadonlyArray<{ x: number; y: number; zoom: number }>;
  /** Every pane's image box (the largest enlarged matrix; smaller ones centred in it), px. */
  readonly imageWidth: number;
  readonly imageHeight: number;
  /** Heights of every pane's title bar and footer bar, px: one text line each, more where a pane's text wraps. */
  readonly titleHeight: number;
  readonly footerHeight: number;
}

/** A pane's image size: what the layout needs of it. */
type Matrix = Pick<Image2D, 'rows' | 'columns'>;

/** What the layout reads of a pane: its matrix, and its texts where they are known (absent: one line each). */
type LayoutPane = { readonly image: Matrix | null } & Partial<Pick<FigurePane, 'title' | 'metrics' | 'footer'>>;

/** One line of a title bar: text on the left in its colour, the metrics on the right when they fit beside it. */
interface TitleLine {
  readonly left: string;
  readonly colour: Rgb;
  readonly right: string;
}

/**
 * A pane's title bar, line by line: the title with the metrics on its right when both fit on one
 * line whole, else the title (wrapped where it is longer than the pane) and then the metrics
 * wrapped below it. Nothing is cut: a PNG has no tooltip to say the rest.
 */
function titleLines(pane: LayoutPane, width: number, s: number): TitleLine[] {
  const title = pane.title ?? '';
  const metrics = pane.metrics ?? '';
  if (metrics && textWidth(title, s) + 14 * s + textWidth(metrics, s) <= width) return [{ left: title, colour: TITLE_COLOUR, right: metrics }];
  const above = title ? wrapText(title, width - 8 * s, s).map((line) => ({ left: line, colour: TITLE_COLOUR, right: '' })) : [];
  const below = metrics ? wrapText(metrics, width - 8 * s, s).map((line) => ({ left: line, colour: METRICS_COLOUR, right: '' })) : [];
  return above.length + below.length > 0 ? [...above, ...below] : [{ left: '', colour: TITLE_COLOUR, right: '' }];
}

/** A pane's footer lines: wrapped to the cell, never cut. */
function footerLines(pane: LayoutPane, width: number, s: number): string[] {
  return wrapText(pane.footer ?? '', width - 8 * s, s);
}

/** Whole-pixel zoom that brings a matrix to about TARGET_SIDE px at scale 1. */
function zoomOf(image: Matrix | null, scale: number): number {
  return Math.max(1, Math.floor(TARGET_SIDE / (image ? Math.max(image.rows, image.columns) : TARGET_SIDE))) * scale;
}

/**
 * Where each pane goes. Only the panes' matrix sizes count, so a route can size a figure from the
 * series' headers before it reads a slice.
 */
export function figureLayout(panes: readonly LayoutPane[], options: Partial<FigureOptions> & Pick<FigureOptions, 'scale'>): FigureLayout {
  const s = options.scale;
  const columns = options.columns ?? (panes.length <= 4 ? panes.length : 3);
  const rows = Math.ceil(panes.length / columns);
  const zooms = panes.map((p) => zoomOf(p.image, s));
  const shown = panes.flatMap((p, k) => (p.image ? [{ w: p.image.columns * zooms[k]!, h: p.image.rows * zooms[k]! }] : []));
  const imageW = shown.length ? Math.max(...shown.map((b) => b.w)) : TARGET_SIDE * s;
  const imageH = shown.length ? Math.max(...shown.map((b) => b.h)) : TARGET_SIDE * s;
  // Every cell alike: its bars as tall as the pane with the most lines needs.
  const titleHeight = barHeight(Math.max(1, ...panes.map((p) => titleLines(p, imageW, s).length)), s);
  const footerHeight = barHeight(Math.max(1, ...panes.map((p) => footerLines(p, imageW, s).length)), s);
  const gap = 2 * s;
  const cellW = imageW;
  const cellH = titleHeight + imageH + footerHeight;
  const images = panes.map((p, k) => {
    const zoom = zooms[k]!;
    const dx = p.image ? Math.floor((imageW - p.image.columns * zoom) / 2) : 0;
    const dy = p.image ? Math.floor((imageH - p.image.rows * zoom) / 2) : 0;
    return { x: (k % columns) * (cellW + gap) + dx, y: Math.floor(k / columns) * (cellH + gap) + titleHeight + dy, zoom };
  });
  return { width: columns * cellW + (columns - 1) * gap, height: rows * cellH + (rows - 1) * gap, images, imageWidth: imageW, imageHeight: imageH, titleHeight, footerHeight };
}

/** A bar of `lines` text lines: 3 px above the first, 3 below the last (one line: 16 px at scale 1). */
function barHeight(lines: number, scale: number): number {
  return (lines * LINE_HEIGHT + 6) * scale;
}

export function renderFigure(panes: readonly FigurePane[], options: FigureOptions): Buffer {
  const s = options.scale;
  const layout = figureLayout(panes, options);
  const canvas = new RgbCanvas(layout.width, layout.height, COLORS.black);
  const { titleHeight, footerHeight } = layout;
  for (const [k, pane] of panes.entries()) {
    const { x: imageX, y: imageY, zoom } = layout.images[k]!;
    const image = pane.image;
    // The cell's box (the image is centred in it when its matrix is smaller than the largest).
    const x = (k % (options.columns ?? (panes.length <= 4 ? panes.length : 3))) * (layout.imageWidth + 2 * s);
    const y = imageY - (image ? Math.floor((layout.imageHeight - image.rows * zoom) / 2) : 0);
    const width = layout.imageWidth;
    const height = layout.imageHeight;
    if (image) {
      drawImage(canvas, windowToGray(image.data, pane.window ?? options.window), pane.colours ?? null, image.rows, image.columns, zoom, imageX, imageY);
      for (const { name, shape } of pane.shapes ?? options.shapes ?? []) drawShape(canvas, shape, name, imageX, imageY, zoom, image, s);
    }
    // Title bar: the name on the left, the metrics on its right, or each on lines of its own.
    canvas.fillRect(x, y - titleHeight, width, titleHeight, COLORS.background);
    for (const [line, { left, colour, right }] of titleLines(pane, width, s).entries()) {
      const top = y - titleHeight + (3 + line * LINE_HEIGHT) * s;
      const rightWidth = textWidth(right, s);
      canvas.drawText(right, x + width - rightWidth - 4 * s, top, METRICS_COLOUR, { scale: s });
      canvas.drawText(left, x + 4 * s, top, colour, { scale: s, maxWidth: Math.max(0, width - (right ? rightWidth + 14 * s : 8 * s)) });
    }
    // Footer: slice, location, window (wrapped, never cut); a scale bar at the image's bottom right.
    const footerY = y + height;
    canvas.fillRect(x, footerY, width, footerHeight, COLORS.background);
    for (const [line, text] of footerLines(pane, width, s).entries()) {
      canvas.drawText(text, x + 4 * s, footerY + (3 + line * LINE_HEIGHT) * s, FOOTER_COLOUR, { scale: s });
    }
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

/**
 * A windowed image enlarged by a whole factor (nearest neighbour) with its top-left corner at
 * (x, y), grey or through `colours` (256 entries indexed by the grey level).
 */
function drawImage(canvas: RgbCanvas, gray: Uint8Array, colours: FigurePane['colours'] | null, rows: number, columns: number, zoom: number, x: number, y: number): void {
  for (let r = 0; r < rows * zoom; r++) {
    const yy = y + r;
    if (yy < 0 || yy >= canvas.height) continue;
    const source = Math.floor(r / zoom) * columns;
    for (let c = 0; c < columns * zoom; c++) {
      const xx = x + c;
      if (xx < 0 || xx >= canvas.width) continue;
      const g = gray[source + Math.floor(c / zoom)]!;
      const o = (yy * canvas.width + xx) * 3;
      const rgb = colours ? colours[g]! : null;
      canvas.data[o] = rgb ? rgb[0] : g;
      canvas.data[o + 1] = rgb ? rgb[1] : g;
      canvas.data[o + 2] = rgb ? rgb[2] : g;
    }
  }
}

/**
 * An ROI or length outline over a pane's image, clipped to it, with its name beside it: image
 * coordinates (pixel corners) times the zoom, the way the viewer maps them onto its canvas.
 */
function drawShape(canvas: RgbCanvas, shape: Shape, name: string, x: number, y: number, zoom: number, image: Image2D, s: number): void {
  const colour = shape.kind === 'length' ? LENGTH_COLOUR : REGION_COLOUR;
  const right = x + image.columns * zoom - 1;
  const bottom = y + image.rows * zoom - 1;
  const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
  const px = (p: { x: number; y: number }): [number, number] => [clamp(x + p.x * zoom, x, right), clamp(y + p.y * zoom, y, bottom)];
  const polyline = (points: ReadonlyArray<[number, number]>, closed: boolean) => {
    for (let i = 0; i + 1 < points.length + (closed ? 1 : 0); i++) {
      const a = points[i]!;
      const b = points[(i + 1) % points.length]!;
      canvas.drawLine(a[0], a[1], b[0], b[1], colour, s);
    }
  };
  let labelAt: [number, number];
  if (shape.kind === 'ellipse') {
    const { cx, cy, rx, ry } = shape.ellipse;
    // Enough vertices that no chord is longer than ~2 figure pixels, for any ellipse inside the image
    // (its perimeter is at most the image's, 2 (w + h)); an ellipse larger than that shows only an arc,
    // and its vertex count stays bounded by the image, not by the radii a request names.
    const most = 4 * (image.columns + image.rows) * zoom;
    const n = Math.min(most, Math.max(16, Math.ceil((Math.PI * (rx + ry) * zoom) / 2)));
    polyline(Array.from({ length: n }, (_, i) => px({ x: cx + rx * Math.cos((2 * Math.PI * i) / n), y: cy + ry * Math.sin((2 * Math.PI * i) / n) })), true);
    labelAt = px({ x: cx + rx, y: cy - ry });
  } else if (shape.kind === 'rectangle') {
    const { from, to } = shape;
    polyline([px(from), px({ x: to.x, y: from.y }), px(to), px({ x: from.x, y: to.y })], true);
    labelAt = px({ x: Math.max(from.x, to.x), y: Math.min(from.y, to.y) });
  } else if (shape.kind === 'freehand') {
    polyline(shape.points.map(px), true);
    labelAt = px(shape.points[0]!);
  } else {
    polyline([px(shape.from), px(shape.to)], false);
    labelAt = px(shape.to);
  }
  canvas.drawText(name, labelAt[0] + 3 * s, labelAt[1] - (LINE_HEIGHT + 1) * s, colour, { scale: s });
}

/**
 * A minimal RGB drawing surface for figures (trace grids, experiment plots): grey image panels,
 * text in the built-in bitmap font, lines and rectangles, encoded as PNG with pngjs.
 */
import { PNG } from 'pngjs';
import { rasterizeText, textWidth } from './font.js';

export type Rgb = readonly [number, number, number];

export const COLORS = {
  background: [24, 24, 24] as Rgb,
  text: [225, 225, 225] as Rgb,
  dim: [150, 150, 150] as Rgb,
  title: [255, 214, 120] as Rgb,
  white: [255, 255, 255] as Rgb,
  black: [0, 0, 0] as Rgb,
} as const;

export class RgbCanvas {
  readonly data: Buffer;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = COLORS.background,
  ) {
    if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
      throw new RangeError(`canvas size must be positive integers, got ${width}x${height}`);
    }
    this.data = Buffer.alloc(width * height * 3);
    this.fillRect(0, 0, width, height, background);
  }

  setPixel(x: number, y: number, color: Rgb): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const o = (Math.floor(y) * this.width + Math.floor(x)) * 3;
    this.data[o] = color[0];
    this.data[o + 1] = color[1];
    this.data[o + 2] = color[2];
  }

  fillRect(x: number, y: number, w: number, h: number, color: Rgb): void {
    const x0 = Math.max(0, Math.floor(x));
    const y0 = Math.max(0, Math.floor(y));
    const x1 = Math.min(this.width, Math.floor(x + w));
    const y1 = Math.min(this.height, Math.floor(y + h));
    for (let yy = y0; yy < y1; yy++) {
      for (let xx = x0; xx < x1; xx++) {
        const o = (yy * this.width + xx) * 3;
        this.data[o] = color[0];
        this.data[o + 1] = color[1];
        this.data[o + 2] = color[2];
      }
    }
  }

  /** A rows x columns 8-bit grey image with its top-left corner at (x, y). */
  drawGray(gray: Uint8Array, rows: number, columns: number, x: number, y: number): void {
    for (let r = 0; r < rows; r++) {
      const yy = y + r;
      if (yy < 0 || yy >= this.height) continue;
      for (let c = 0; c < columns; c++) {
        const xx = x + c;
        if (xx < 0 || xx >= this.width) continue;
        const g = gray[r * columns + c]!;
        const o = (yy * this.width + xx) * 3;
        this.data[o] = g;
        this.data[o + 1] = g;
        this.data[o + 2] = g;
      }
    }
  }

  /**
   * Text with its top-left corner at (x, y); characters that would pass `maxWidth` are dropped
   * (a label never spills into the next panel).
   */
  drawText(text: string, x: number, y: number, color: Rgb = COLORS.text, options: { scale?: number; maxWidth?: number } = {}): void {
    const scale = options.scale ?? 1;
    let shown = text;
    if (options.maxWidth !== undefined) {
      while (shown.length > 0 && textWidth(shown, scale) > options.maxWidth) shown = [...shown].slice(0, -1).join('');
    }
    rasterizeText(shown, x, y, (px, py) => this.setPixel(px, py, color), scale);
  }

  /** A straight line (Bresenham), `thickness` pixels wide. */
  drawLine(x0: number, y0: number, x1: number, y1: number, color: Rgb, thickness = 1): void {
    let x = Math.round(x0);
    let y = Math.round(y0);
    const xe = Math.round(x1);
    const ye = Math.round(y1);
    const dx = Math.abs(xe - x);
    const dy = -Math.abs(ye - y);
    const sx = x < xe ? 1 : -1;
    const sy = y < ye ? 1 : -1;
    let err = dx + dy;
    const half = Math.floor((thickness - 1) / 2);
    for (;;) {
      if (thickness <= 1) this.setPixel(x, y, color);
      else this.fillRect(x - half, y - half, thickness, thickness, color);
      if (x === xe && y === ye) break;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y += sy;
      }
    }
  }

  strokeRect(x: number, y: number, w: number, h: number, color: Rgb): void {
    this.drawLine(x, y, x + w - 1, y, color);
    this.drawLine(x, y + h - 1, x + w - 1, y + h - 1, color);
    this.drawLine(x, y, x, y + h - 1, color);
    this.drawLine(x + w - 1, y, x + w - 1, y + h - 1, color);
  }

  /** PNG bytes; `gray` writes one channel (a third of the size for figures that are grey anyway). */
  encodePng(options: { gray?: boolean } = {}): Buffer {
    const png = new PNG({ width: this.width, height: this.height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
    png.data = this.data;
    return PNG.sync.write(png, { colorType: options.gray ? 0 : 2, inputColorType: 2, inputHasAlpha: false });
  }
}

/**
 * Shrinks an image by an integer factor with box averaging (noise averages out instead of
 * aliasing); edges that do not fill a whole box are averaged over what they have.
 */
export function downsample(values: Float32Array, rows: number, columns: number, factor: number): { data: Float32Array; rows: number; columns: number } {
  if (factor <= 1) return { data: values, rows, columns };
  const outRows = Math.ceil(rows / factor);
  const outColumns = Math.ceil(columns / factor);
  const sums = new Float64Array(outRows * outColumns);
  const counts = new Uint32Array(outRows * outColumns);
  for (let r = 0; r < rows; r++) {
    const orow = Math.floor(r / factor) * outColumns;
    for (let c = 0; c < columns; c++) {
      const o = orow + Math.floor(c / factor);
      sums[o]! += values[r * columns + c]!;
      counts[o]!++;
    }
  }
  const data = new Float32Array(outRows * outColumns);
  for (let i = 0; i < data.length; i++) data[i] = sums[i]! / counts[i]!;
  return { data, rows: outRows, columns: outColumns };
}

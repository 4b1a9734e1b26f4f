/**
 * PNG previews: slices windowed to 8-bit grey and laid side by side with pngjs, so a user can
 * glance at a denoise run without opening a DICOM viewer.
 */
import { PNG } from 'pngjs';

/** A display window in the image's units: values at or below `lo` are black, at or above `hi` white. */
export interface DisplayWindow {
  readonly lo: number;
  readonly hi: number;
}

/** Default windows: CT soft tissue (W 400 / L 40 HU); PET SUV 0..5 (Bq/ml data: 0..max). */
export function defaultWindow(units: string, data?: Float32Array): DisplayWindow {
  if (units === 'HU') return { lo: -160, hi: 240 };
  if (units === 'SUVbw') return { lo: 0, hi: 5 };
  let max = 0;
  if (data) for (let i = 0; i < data.length; i++) if (data[i]! > max) max = data[i]!;
  return { lo: 0, hi: max > 0 ? max : 1 };
}

/** Maps values through a window to 0..255 grey levels. */
export function windowToGray(data: Float32Array, window: DisplayWindow): Uint8Array {
  const out = new Uint8Array(data.length);
  const scale = 255 / Math.max(1e-12, window.hi - window.lo);
  for (let i = 0; i < data.length; i++) {
    const v = (data[i]! - window.lo) * scale;
    out[i] = v <= 0 || Number.isNaN(v) ? 0 : v >= 255 ? 255 : Math.round(v);
  }
  return out;
}

export interface PreviewPanel {
  readonly gray: Uint8Array;
  readonly rows: number;
  readonly columns: number;
  /** Colour instead of `gray`: rows·columns·3 bytes, RGB. */
  readonly rgb?: Uint8Array;
}

/** Lays panels of equal height side by side with a 4-pixel dark gap and encodes a PNG. */
export function encodePanels(panels: readonly PreviewPanel[]): Buffer {
  const gap = 4;
  const height = Math.max(...panels.map((p) => p.rows));
  const width = panels.reduce((sum, p) => sum + p.columns, 0) + gap * (panels.length - 1);
  const png = new PNG({ width, height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.alloc(width * height * 3, 24);
  let x0 = 0;
  for (const panel of panels) {
    for (let r = 0; r < panel.rows; r++) {
      for (let c = 0; c < panel.columns; c++) {
        const i = r * panel.columns + c;
        const o = (r * width + x0 + c) * 3;
        if (panel.rgb) {
          png.data[o] = panel.rgb[3 * i]!;
          png.data[o + 1] = panel.rgb[3 * i + 1]!;
          png.data[o + 2] = panel.rgb[3 * i + 2]!;
        } else {
          const g = panel.gray[i]!;
          png.data[o] = g;
          png.data[o + 1] = g;
          png.data[o + 2] = g;
        }
      }
    }
    x0 += panel.columns + gap;
  }
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
}

/** A square region of a slice to mark on a preview (a flagged patch). */
export interface MarkedPatch {
  readonly row: number;
  readonly column: number;
  readonly size: number;
}

/**
 * Grey levels with the given patches tinted red (their union, 35 % opacity) and outlined: the
 * PNG overlay of a hallucination map.
 */
export function markPatches(gray: Uint8Array, rows: number, columns: number, patches: readonly MarkedPatch[]): Uint8Array {
  const rgb = new Uint8Array(rows * columns * 3);
  for (let i = 0; i < gray.length; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = gray[i]!;
  const tinted = new Uint8Array(rows * columns);
  const edge = new Uint8Array(rows * columns);
  for (const p of patches) {
    for (let y = p.row; y < Math.min(rows, p.row + p.size); y++) {
      for (let x = p.column; x < Math.min(columns, p.column + p.size); x++) {
        tinted[y * columns + x] = 1;
        if (y === p.row || y === p.row + p.size - 1 || x === p.column || x === p.column + p.size - 1) edge[y * columns + x] = 1;
      }
    }
  }
  for (let i = 0; i < gray.length; i++) {
    if (edge[i]) {
      rgb[3 * i] = 255;
      rgb[3 * i + 1] = 40;
      rgb[3 * i + 2] = 40;
    } else if (tinted[i]) {
      rgb[3 * i] = Math.round(0.65 * gray[i]! + 0.35 * 255);
      rgb[3 * i + 1] = Math.round(0.65 * gray[i]!);
      rgb[3 * i + 2] = Math.round(0.65 * gray[i]!);
    }
  }
  return rgb;
}

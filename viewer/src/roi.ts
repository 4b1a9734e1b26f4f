/**
 * The ellipse ROI: one ellipse in image pixel coordinates shared by every pane, its statistics in
 * each pane's own units, and its drawing on a rendered pane.
 */
import cornerstone, { type Image } from 'cornerstone-core';

export interface Ellipse {
  /** Centre and semi-axes in image pixels (x = column, y = row; (0, 0) is the first pixel's corner). */
  readonly cx: number;
  readonly cy: number;
  readonly rx: number;
  readonly ry: number;
}

export interface RoiStats {
  readonly mean: number;
  /** Sample standard deviation. */
  readonly std: number;
  readonly count: number;
  /** mm² from the pixel spacing. */
  readonly areaMm2: number;
}

/** Mean and standard deviation of the pixels whose centres lie inside the ellipse. */
export function ellipseStats(image: Image, roi: Ellipse): RoiStats | null {
  if (image.blank || roi.rx < 0.5 || roi.ry < 0.5) return null;
  const pixels = image.getPixelData();
  const x0 = Math.max(0, Math.floor(roi.cx - roi.rx));
  const x1 = Math.min(image.columns - 1, Math.ceil(roi.cx + roi.rx));
  const y0 = Math.max(0, Math.floor(roi.cy - roi.ry));
  const y1 = Math.min(image.rows - 1, Math.ceil(roi.cy + roi.ry));
  let n = 0;
  let sum = 0;
  let squares = 0;
  for (let y = y0; y <= y1; y++) {
    const dy = (y + 0.5 - roi.cy) / roi.ry;
    for (let x = x0; x <= x1; x++) {
      const dx = (x + 0.5 - roi.cx) / roi.rx;
      if (dx * dx + dy * dy > 1) continue;
      const v = pixels[y * image.columns + x]! * image.slope + image.intercept;
      n++;
      sum += v;
      squares += v * v;
    }
  }
  if (n === 0) return null;
  const mean = sum / n;
  const variance = n > 1 ? Math.max(0, (squares - n * mean * mean) / (n - 1)) : 0;
  return { mean, std: Math.sqrt(variance), count: n, areaMm2: n * image.rowPixelSpacing * image.columnPixelSpacing };
}

export function formatStats(stats: RoiStats | null, units: string): string {
  if (!stats) return '';
  const digits = Math.abs(stats.mean) < 10 && Math.abs(stats.std) < 10 ? 2 : 1;
  const unit = units === 'SUVbw' ? 'SUV' : units;
  return `mean ${stats.mean.toFixed(digits)} ± ${stats.std.toFixed(digits)} ${unit}`.trim();
}

/** Draws the ellipse (and its label) on a pane that cornerstone has just rendered. */
export function drawEllipse(element: HTMLElement, context: CanvasRenderingContext2D, roi: Ellipse, label: string, active: boolean): void {
  const centre = cornerstone.pixelToCanvas(element, { x: roi.cx, y: roi.cy });
  const right = cornerstone.pixelToCanvas(element, { x: roi.cx + roi.rx, y: roi.cy });
  const bottom = cornerstone.pixelToCanvas(element, { x: roi.cx, y: roi.cy + roi.ry });
  const rx = Math.hypot(right.x - centre.x, right.y - centre.y);
  const ry = Math.hypot(bottom.x - centre.x, bottom.y - centre.y);
  context.save();
  context.setTransform(1, 0, 0, 1, 0, 0);
  context.lineWidth = 1.5;
  context.strokeStyle = active ? '#ffd54a' : '#7fd3ff';
  context.beginPath();
  context.ellipse(centre.x, centre.y, rx, ry, 0, 0, 2 * Math.PI);
  context.stroke();
  if (label) {
    context.font = '12px system-ui, sans-serif';
    const width = context.measureText(label).width;
    const x = Math.min(context.canvas.width - width - 6, Math.max(4, centre.x - width / 2));
    const y = Math.min(context.canvas.height - 6, centre.y + ry + 16);
    context.fillStyle = 'rgba(8, 12, 18, 0.75)';
    context.fillRect(x - 3, y - 12, width + 6, 16);
    context.fillStyle = '#e6edf3';
    context.fillText(label, x, y);
  }
  context.restore();
}

/**
 * The ellipse ROI: one ellipse in image pixel coordinates shared by every pane, its statistics in
 * each pane's own units (./uptake.ts), and its drawing on a rendered pane.
 */
import cornerstone, { type Image } from 'cornerstone-core';
import type { Ellipse, SliceValues } from './uptake.js';

export type { Ellipse } from './uptake.js';

/** A cornerstone image as ./uptake.ts reads it; `location` = the slice's position along the normal, mm (null: none). */
export function sliceValues(image: Image, location: number | null): SliceValues {
  const pixels = image.getPixelData();
  return {
    rows: image.rows,
    columns: image.columns,
    value: (i) => pixels[i]! * image.slope + image.intercept,
    pixelSpacing: [image.rowPixelSpacing, image.columnPixelSpacing],
    location,
    padding: image.padding ?? null,
  };
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

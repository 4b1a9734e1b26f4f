/** Reading the figure's text back: whether a string is drawn at a place of a PNG in a colour. */
import type { PNG } from 'pngjs';
import { rasterizeText, textWidth } from '../../src/trace/font.js';

/**
 * Pixels of `text`'s box (its top-left corner at (x, y), scale 1) that differ from `text` drawn
 * there in `colour`: ink not in `colour`, or `colour` where the text has no ink. 0 when the PNG
 * shows exactly that text there.
 */
export function drawnTextMismatches(png: PNG, x: number, y: number, text: string, colour: readonly [number, number, number]): number {
  const ink = new Set<number>();
  rasterizeText(text, x, y, (px, py) => ink.add(py * png.width + px), 1);
  let mismatches = 0;
  for (let py = y; py < y + 8; py++) {
    for (let px = x; px < x + textWidth(text); px++) {
      const o = 4 * (py * png.width + px);
      const isColour = png.data[o] === colour[0] && png.data[o + 1] === colour[1] && png.data[o + 2] === colour[2];
      if (isColour !== ink.has(py * png.width + px)) mismatches++;
    }
  }
  return mismatches;
}

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

/** Every place (top-left corner, scale 1) where the PNG shows exactly `text` in `colour`. */
export function textPlaces(png: PNG, text: string, colour: readonly [number, number, number]): Array<[number, number]> {
  const ink: Array<[number, number]> = [];
  rasterizeText(text, 0, 0, (px, py) => ink.push([px, py]), 1);
  if (ink.length === 0) return [];
  const [fx, fy] = ink[0]!;
  const places: Array<[number, number]> = [];
  const width = textWidth(text);
  for (let y = 0; y + 8 <= png.height; y++) {
    for (let x = 0; x + width <= png.width; x++) {
      // The text's first ink pixel first: most places fail there.
      const o = 4 * ((y + fy) * png.width + x + fx);
      if (png.data[o] !== colour[0] || png.data[o + 1] !== colour[1] || png.data[o + 2] !== colour[2]) continue;
      if (drawnTextMismatches(png, x, y, text, colour) === 0) places.push([x, y]);
    }
  }
  return places;
}

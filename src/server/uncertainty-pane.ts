/**
 * The uncertainty pane of the server's figure, drawn as the viewer draws it (viewer/src/viewer.ts,
 * applyDisplayDefaults): cornerstone's "Hot Iron" colour map over the window 0 .. the slice's
 * largest value, so the figure and the screen show the same colours for the same slice.
 */

/** Cornerstone's Hot Iron (the DICOM palette): black, red, yellow, white; 256 entries. */
export function uncertaintyColours(): Array<[number, number, number]> {
  const colours: Array<[number, number, number]> = [];
  for (let i = 0; i < 256; i++) {
    if (i === 255) {
      colours.push([255, 255, 255]);
      continue;
    }
    colours.push([Math.min(255, 2 * i), i < 128 ? 0 : 2 * (i - 128), i < 192 ? 0 : Math.min(255, 4 * (i - 191))]);
  }
  return colours;
}

/** The window the viewer opens the pane with: 0 .. the slice's largest finite value (at least 1e-6). */
export function uncertaintyWindow(data: Float32Array): { lo: number; hi: number } {
  let top = 1e-6;
  for (const v of data) if (Number.isFinite(v) && v > top) top = v;
  return { lo: 0, hi: top };
}

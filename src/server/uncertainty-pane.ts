/**
 * The uncertainty pane of the server's figure, drawn as the viewer draws it (viewer/src/viewer.ts,
 * applyDisplayDefaults): cornerstone's "Hot Iron" colour map over the window the written σ series
 * carries (src/dicom/sigma-window.ts: calibrated σ 0 to 4 × the threshold, the raw spread 0 to the
 * slice's 99th percentile), so the figure, the screen and a PACS show the same σ at the same colour.
 */
import { uncertaintySliceWindow, type OwnWindow } from '../dicom/sigma-window.js';


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

/**
 * The calibrated σ threshold of a comparison's uncertainty series: the server's
 * `uncertaintyThreshold`, which the series' own window states (a folder without report.json
 * included), else, from a server without that field, the report's. Null for a raw spread.
 */
export function uncertaintyThresholdOf(
  comparison: { readonly uncertaintyThreshold?: number | null; readonly report: { readonly uncertaintyThreshold: number | null } | null } | null,
): number | null {
  if (!comparison) return null;
  return comparison.uncertaintyThreshold !== undefined ? comparison.uncertaintyThreshold : (comparison.report?.uncertaintyThreshold ?? null);
}

/**
 * The window the viewer opens the pane with and the figure draws it in: the written series' rule
 * (`threshold` the report's calibrated σ threshold, null for a raw spread or without a report).
 */
export function uncertaintyWindow(data: Float32Array, padding: ArrayLike<number> | null, threshold: number | null, units: string): OwnWindow {
  return uncertaintySliceWindow(data, padding, threshold, units);
}

/**
 * The pane's legend for window `lo`..`hi`: "σ 0–40 HU · threshold 10 at 25 %" for a calibrated
 * series (where its threshold sits on the grey scale: a quarter while the window is the series'
 * own), "SD 0–4.94 HU · not calibrated" for a raw spread.
 */
export function uncertaintyWindowText(window: { lo: number; hi: number }, threshold: number | null, unit: string, format: (v: number) => string): string {
  const range = `${format(window.lo)}–${format(window.hi)} ${unit}`;
  if (threshold === null || !(threshold > 0)) return `SD ${range} · not calibrated`;
  const at = window.hi > window.lo ? (100 * (threshold - window.lo)) / (window.hi - window.lo) : NaN;
  const where = Number.isFinite(at) ? ` at ${Math.round(at)} %` : '';
  return `σ ${range} · threshold ${format(threshold)}${where}`;
}

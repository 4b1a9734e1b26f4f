/**
 * A derived series' own VOI window, for a series whose values are not in the source's display
 * range (a calibrated uncertainty map in HU or SUV, an sFRC score map from 0 to 1): the source's
 * WindowCenter / WindowWidth (55 / 440, −600 / 1500) would show it nearly black in a viewer.
 */
import { deleteElement, setElement, type DcmDataset } from './write-dcmjs.js';
import { dsList } from './write-file.js';

/** A display range in the series' units (`Series.units`: HU, SUV, a score): `lo` black, `hi` white. */
export interface OwnWindow {
  readonly lo: number;
  readonly hi: number;
  /** WindowCenterWidthExplanation (LO, up to 64 characters), e.g. "SIGMA 0-40 HU". */
  readonly explanation: string;
}

/**
 * WindowCenter / WindowWidth in the stored (modality LUT output) units that map `window.lo` to
 * black and `window.hi` to white under the standard's LINEAR function (PS3.3 C.11.2.1.2.1: black
 * at or below c − 0.5 − (w − 1) / 2, white above c − 0.5 + (w − 1) / 2), which every viewer knows
 * and which needs w ≥ 1 (a 0-1 score map has a range under 1). `unitsScale` is the slice's factor
 * from stored units to the series' (PET: Bq/ml to SUV).
 */
export function storedWindow(window: OwnWindow, unitsScale: number): { center: number; width: number } {
  const inverse = unitsScale > 0 ? 1 / unitsScale : 1;
  const lo = window.lo * inverse;
  const hi = Math.max(window.hi * inverse, lo);
  const short = (v: number) => Number(v.toPrecision(6));
  return { center: short((lo + hi) / 2 + 0.5), width: short(hi - lo + 1) };
}

/**
 * Replaces the window copied from the source with `window` (one window, LINEAR: the source's
 * VOILUTFunction, which may be SIGMOID, goes with its window).
 */
export function setOwnWindow(dataset: DcmDataset, window: OwnWindow, unitsScale: number): void {
  const { center, width } = storedWindow(window, unitsScale);
  setElement(dataset, 'WindowCenter', dsList([center]));
  setElement(dataset, 'WindowWidth', dsList([width]));
  setElement(dataset, 'WindowCenterWidthExplanation', [window.explanation.slice(0, 64)]);
  deleteElement(dataset, 'VOILUTFunction');
}

/** How many times the uncertainty threshold a σ series' window spans: the threshold sits at a quarter of the grey scale. */
export const SIGMA_WINDOW_THRESHOLDS = 4;

/**
 * The window of a calibrated σ series: 0 to 4 × the card's threshold (`--uncertainty-threshold`),
 * the same for every slice and every series of a model, so a grey level means one σ everywhere.
 */
export function sigmaWindow(threshold: number, units: string): OwnWindow {
  const hi = SIGMA_WINDOW_THRESHOLDS * threshold;
  return { lo: 0, hi, explanation: `SIGMA 0-${Number(hi.toPrecision(6))} ${units}` };
}

/**
 * The window of a raw ensemble spread (no calibration, so no threshold to anchor to): 0 to the
 * slice's own 99th percentile over pixels that are finite and not padding (`padding` 1).
 */
export function spreadWindow(values: Float32Array, padding: Uint8Array | null, units: string): OwnWindow {
  const kept = values.filter((v, i) => Number.isFinite(v) && !(padding && padding[i])).sort();
  const p99 = kept.length > 0 ? kept[Math.min(kept.length - 1, Math.floor(0.99 * kept.length))]! : 0;
  const hi = p99 > 0 ? Number(p99.toPrecision(3)) : 1;
  return { lo: 0, hi, explanation: `SD 0-${hi} ${units} (SLICE P99)` };
}

/**
 * A derived series' own VOI window, for a series whose values are not in the source's display
 * range (a calibrated uncertainty map in HU or SUV, an sFRC score map from 0 to 1): the source's
 * WindowCenter / WindowWidth (55 / 440, −600 / 1500) would show it nearly black in a viewer.
 * The uncertainty map's range is ./sigma-window.ts's rule, which the viewer shares.
 */
import { deleteElement, setElement, type DcmDataset } from './write-dcmjs.js';
import { dsList } from './write-file.js';
import type { OwnWindow } from './sigma-window.js';

export type { OwnWindow } from './sigma-window.js';

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

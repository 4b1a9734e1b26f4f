/**
 * The patient's outline on a CT slice: the pixels inside the body, lungs, airways and bowel gas
 * included, the air around the patient and the couch left out. Metrics scored "in the patient"
 * count only these pixels; scored over the whole field they also count the air around the body,
 * which on an abdomen slice is about half the field and where every reasonable denoiser scores
 * near 1 (SSIM), so a difference between methods in the body is diluted by about that share
 * (models/README.md, "Real quarter-dose pairs").
 *
 * The outline is the largest 4-connected region where the lightly smoothed image is above
 * `thresholdHu` (default -500 HU: between air and any tissue, so lung parenchyma at -850 HU is
 * below it but enclosed, and filled), with every hole filled: a hole is a pixel of the rest that
 * the image border cannot reach through the rest. The largest region is the patient: the couch
 * and its mattress are separate from it in a CT slice (a gap of air); where they touch, they are
 * counted as patient.
 */
import { gaussianFilter } from '../filters/gaussian.js';
import type { Image2D } from '../image.js';
import { borderConnectedFill } from '../util/border-connected.js';

export interface PatientOutlineOptions {
  /** Tissue is above this value of the smoothed image (HU; default -500). */
  readonly thresholdHu?: number;
  /** Gaussian smoothing before the threshold, so noise in air does not make islands (mm; default 2). */
  readonly smoothMm?: number;
}

/** 1 inside the patient, 0 outside; all 0 when no pixel is above the threshold. */
export function patientOutline(image: Image2D, options: PatientOutlineOptions = {}): Uint8Array {
  const threshold = options.thresholdHu ?? -500;
  const smoothMm = options.smoothMm ?? 2;
  const { rows, columns } = image;
  const smooth = smoothMm > 0 ? gaussianFilter(image, { sigmaMm: smoothMm }).data : image.data;
  const tissue = new Uint8Array(rows * columns);
  for (let i = 0; i < tissue.length; i++) tissue[i] = smooth[i]! > threshold ? 1 : 0;
  const body = largestComponent(tissue, rows, columns);
  const outside = borderConnectedFill(rows, columns, (i) => body[i] === 0).mask;
  const inside = new Uint8Array(rows * columns);
  let any = false;
  for (let i = 0; i < inside.length; i++) {
    inside[i] = outside[i] ? 0 : 1;
    any ||= body[i] === 1;
  }
  return any ? inside : new Uint8Array(rows * columns);
}

/** The largest 4-connected region of non-zero pixels (the first found of equals), as 0 / 1. */
export function largestComponent(mask: Uint8Array, rows: number, columns: number): Uint8Array {
  const n = rows * columns;
  const label = new Int32Array(n);
  const queue = new Int32Array(n);
  let best = 0;
  let bestSize = 0;
  let next = 0;
  for (let start = 0; start < n; start++) {
    if (!mask[start] || label[start]) continue;
    next++;
    let head = 0;
    let tail = 0;
    label[start] = next;
    queue[tail++] = start;
    while (head < tail) {
      const i = queue[head++]!;
      const r = Math.floor(i / columns);
      const c = i - r * columns;
      const visit = (j: number) => {
        if (mask[j] && !label[j]) {
          label[j] = next;
          queue[tail++] = j;
        }
      };
      if (c > 0) visit(i - 1);
      if (c < columns - 1) visit(i + 1);
      if (r > 0) visit(i - columns);
      if (r < rows - 1) visit(i + columns);
    }
    if (tail > bestSize) {
      bestSize = tail;
      best = next;
    }
  }
  const out = new Uint8Array(n);
  if (best > 0) for (let i = 0; i < n; i++) out[i] = label[i] === best ? 1 : 0;
  return out;
}

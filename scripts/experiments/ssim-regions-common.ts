/**
 * Where a mean SSIM comes from: each counted pixel of a CT slice gets one region (air around the
 * patient, the table and clothing, a band either side of the skin, flat soft tissue, soft-tissue
 * edges, lung and gas, bone, all from the full-dose slice), and the group mean SSIM (a plain mean over slices of each slice's
 * mean SSIM map, as scripts/evaluate/real-pairs.ts scores) is split into those regions exactly.
 *
 * With S slices and N_s counted pixels in slice s, the group mean is the sum over every counted
 * pixel of w = 1 / (S N_s) times its SSIM. A region's share is the sum of its pixels' w, its mean
 * the w-weighted mean SSIM there, and a difference between two methods splits as
 * sum over regions of share x (mean A - mean B), with nothing left over.
 */
import { gaussianFilter } from '../../src/filters/gaussian.js';
import type { Image2D } from '../../src/image.js';

export const REGIONS = ['air', 'table', 'skin', 'soft', 'edges', 'lung', 'bone'] as const;
export type Region = (typeof REGIONS)[number];

export const REGION_LABELS: Record<Region, string> = {
  air: 'air outside the patient',
  table: 'table and clothing outside the patient',
  skin: 'skin band',
  soft: 'soft tissue inside, flat',
  edges: 'soft tissue inside, edges',
  lung: 'lung and gas inside',
  bone: 'bone inside',
};

export interface RegionOptions {
  /** Half-width of the band about the outline's edge (mm; both sides). */
  readonly bandMm: number;
  /** Outside the outline, an object (table, mattress, clothing) where the smoothed full dose is above this (HU). */
  readonly objectHu: number;
  /** Smoothing for the object test (mm): air's own noise must stay below `objectHu`. */
  readonly objectSmoothMm: number;
  /** Inside: lung and gas below this (HU, lightly smoothed full dose). */
  readonly lungHu: number;
  /** Inside: bone above this (HU, lightly smoothed full dose). */
  readonly boneHu: number;
  /** Light smoothing for the inside classes, so noise does not flip a pixel's class (mm). */
  readonly tissueSmoothMm: number;
  /** Soft tissue is `edges` where that smoothed full dose changes faster than this (HU per mm). */
  readonly edgeHuPerMm: number;
}

export const DEFAULT_REGION_OPTIONS: RegionOptions = {
  bandMm: 5,
  objectHu: -970,
  objectSmoothMm: 2,
  lungHu: -400,
  boneHu: 300,
  tissueSmoothMm: 1,
  edgeHuPerMm: 40,
};

/**
 * One region index (into REGIONS) per pixel of `full`, given the patient outline (1 inside). The
 * band comes first: a pixel within `bandMm` of the outline's edge is `skin` whichever side it lies.
 */
export function regionLabels(full: Image2D, outline: Uint8Array, options: RegionOptions = DEFAULT_REGION_OPTIONS): Uint8Array {
  const { rows, columns } = full;
  const n = rows * columns;
  const band = edgeBand(outline, rows, columns, options.bandMm / full.pixelSpacing[0], options.bandMm / full.pixelSpacing[1]);
  const objects = gaussianFilter(full, { sigmaMm: options.objectSmoothMm }).data;
  const tissue = gaussianFilter(full, { sigmaMm: options.tissueSmoothMm }).data;
  const [dy, dx] = full.pixelSpacing;
  // Central differences (one-sided at the border), HU per mm.
  const gradient = (i: number) => {
    const r = Math.floor(i / columns);
    const c = i - r * columns;
    const left = c > 0 ? i - 1 : i;
    const right = c < columns - 1 ? i + 1 : i;
    const up = r > 0 ? i - columns : i;
    const down = r < rows - 1 ? i + columns : i;
    const gx = (tissue[right]! - tissue[left]!) / ((right - left) * dx || 1);
    const gy = (tissue[down]! - tissue[up]!) / (((down - up) / columns) * dy || 1);
    return Math.hypot(gx, gy);
  };
  const labels = new Uint8Array(n);
  const index = (r: Region) => REGIONS.indexOf(r);
  for (let i = 0; i < n; i++) {
    if (band[i]) labels[i] = index('skin');
    else if (!outline[i]) labels[i] = index(objects[i]! > options.objectHu ? 'table' : 'air');
    else if (tissue[i]! < options.lungHu) labels[i] = index('lung');
    else if (tissue[i]! > options.boneHu) labels[i] = index('bone');
    else labels[i] = index(gradient(i) > options.edgeHuPerMm ? 'edges' : 'soft');
  }
  return labels;
}

/**
 * 1 within an ellipse of radii (`radiusRows`, `radiusColumns`) pixels of an edge pixel of `mask`:
 * a pixel with a 4-neighbour on the other side, inside or out.
 */
export function edgeBand(mask: Uint8Array, rows: number, columns: number, radiusRows: number, radiusColumns: number): Uint8Array {
  const band = new Uint8Array(rows * columns);
  const reachR = Math.floor(radiusRows);
  const reachC = Math.floor(radiusColumns);
  const offsets: number[][] = [];
  for (let dr = -reachR; dr <= reachR; dr++) {
    for (let dc = -reachC; dc <= reachC; dc++) if ((dr / radiusRows) ** 2 + (dc / radiusColumns) ** 2 <= 1) offsets.push([dr, dc]);
  }
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const i = r * columns + c;
      const v = mask[i] ? 1 : 0;
      const differs = (j: number) => (mask[j] ? 1 : 0) !== v;
      const edge = (c > 0 && differs(i - 1)) || (c < columns - 1 && differs(i + 1)) || (r > 0 && differs(i - columns)) || (r < rows - 1 && differs(i + columns));
      if (!edge) continue;
      for (const [dr, dc] of offsets) {
        const rr = r + dr!;
        const cc = c + dc!;
        if (rr >= 0 && rr < rows && cc >= 0 && cc < columns) band[rr * columns + cc] = 1;
      }
    }
  }
  return band;
}

export interface RegionSplit {
  /** Per region: share of the group mean's weight (sums to 1 over regions). */
  readonly share: Record<Region, number>;
  /** Per method, per region: weighted mean SSIM (NaN where a region has no pixel). */
  readonly mean: Record<string, Record<Region, number>>;
  /** Per method: the group mean SSIM (plain mean over slices of each slice's mean map). */
  readonly total: Record<string, number>;
}

/**
 * Splits the group mean SSIM of every method by region. `maps[method][s]` is slice s's SSIM map
 * (NaN where the mean does not count: the same pixels for every method), `labels[s]` its regions.
 */
export function splitByRegion(maps: Readonly<Record<string, readonly Float64Array[]>>, labels: readonly Uint8Array[]): RegionSplit {
  const methods = Object.keys(maps);
  const slices = labels.length;
  const weightSum = new Float64Array(REGIONS.length);
  const sums = Object.fromEntries(methods.map((m) => [m, new Float64Array(REGIONS.length)]));
  const total = Object.fromEntries(methods.map((m) => [m, 0]));
  for (let s = 0; s < slices; s++) {
    const first = maps[methods[0]!]![s]!;
    let counted = 0;
    for (const v of first) if (!Number.isNaN(v)) counted++;
    const w = 1 / (slices * counted);
    const label = labels[s]!;
    for (let i = 0; i < first.length; i++) {
      if (Number.isNaN(first[i]!)) continue;
      weightSum[label[i]!]! += w;
    }
    for (const m of methods) {
      const map = maps[m]![s]!;
      const acc = sums[m]!;
      // The slice's own mean, summed in index order as `ssim` sums it.
      let sliceSum = 0;
      for (let i = 0; i < map.length; i++) {
        const v = map[i]!;
        if (Number.isNaN(v) !== Number.isNaN(first[i]!)) throw new Error(`slice ${s}: ${m}'s SSIM map counts other pixels than ${methods[0]}'s`);
        if (Number.isNaN(v)) continue;
        acc[label[i]!]! += w * v;
        sliceSum += v;
      }
      total[m]! += sliceSum / counted / slices;
    }
  }
  const byRegion = (values: Float64Array, divide: boolean) =>
    Object.fromEntries(REGIONS.map((r, k) => [r, divide ? values[k]! / weightSum[k]! : values[k]!])) as Record<Region, number>;
  return {
    share: byRegion(weightSum, false),
    mean: Object.fromEntries(methods.map((m) => [m, byRegion(sums[m]!, true)])),
    total,
  };
}

/** Per region, share x (mean of `a` - mean of `b`): sums over regions to total a - total b. */
export function contributions(split: RegionSplit, a: string, b: string): Record<Region, number> {
  return Object.fromEntries(
    REGIONS.map((r) => [r, split.share[r] > 0 ? split.share[r] * (split.mean[a]![r] - split.mean[b]![r]) : 0]),
  ) as Record<Region, number>;
}

export interface SignedContribution {
  /** Share of the region's weight where `a`'s SSIM is below `b`'s. */
  readonly belowShare: number;
  /** The pixels where `a` is below `b`, summed as contributions (<= 0), and those where it is above (>= 0). */
  readonly below: number;
  readonly above: number;
}

/**
 * The contribution of `a` over `b` per region, split into the pixels where `a`'s SSIM is below
 * `b`'s and those where it is above (below + above = the region's contribution): whether `a` loses
 * somewhere in a region that it wins on the whole. Weights as in `splitByRegion`.
 */
export function signedContributions(a: readonly Float64Array[], b: readonly Float64Array[], labels: readonly Uint8Array[]): Record<Region, SignedContribution> {
  const slices = labels.length;
  const weight = new Float64Array(REGIONS.length);
  const belowWeight = new Float64Array(REGIONS.length);
  const below = new Float64Array(REGIONS.length);
  const above = new Float64Array(REGIONS.length);
  for (let s = 0; s < slices; s++) {
    const x = a[s]!;
    const y = b[s]!;
    let counted = 0;
    for (const v of x) if (!Number.isNaN(v)) counted++;
    const w = 1 / (slices * counted);
    const label = labels[s]!;
    for (let i = 0; i < x.length; i++) {
      if (Number.isNaN(x[i]!)) continue;
      const k = label[i]!;
      const d = w * (x[i]! - y[i]!);
      weight[k]! += w;
      if (d < 0) {
        belowWeight[k]! += w;
        below[k]! += d;
      } else above[k]! += d;
    }
  }
  return Object.fromEntries(
    REGIONS.map((r, k) => [r, { belowShare: weight[k]! > 0 ? belowWeight[k]! / weight[k]! : 0, below: below[k]!, above: above[k]! }]),
  ) as Record<Region, SignedContribution>;
}

/**
 * The real quarter-dose / full-dose CT pairs of ../shared/ldct-mayo (AAPM-Mayo Low Dose CT Grand
 * Challenge): `<patient>/<kernel>/{quarter,full}/NNN.IMA`, read with the toolkit's own DICOM code
 * and paired slice by slice, each pair with the mask of the pixels a metric may count.
 *
 * These Siemens images carry no PixelPaddingValue, but their corners lie outside the scanner's
 * 500 mm data-collection field and hold the lowest stored value (0, i.e. -1024 HU) in every
 * slice: 5.4 to 5.6 % of each 0.82 mm slice (L143), 247 to 262 pixels of a 0.70 mm one (L192).
 * They are not image: the same constant in the quarter- and the full-dose slice, so they would
 * only add zero-error pixels to every method's mean. `fieldMask` leaves them out (and padding,
 * when a file declares it).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { readSlicePixels, scanPaths, type Series } from '../../../src/dicom/index.js';
import type { Image2D } from '../../../src/image.js';
import { borderConnectedFill } from '../../../src/util/border-connected.js';

/** Which patient may be used for what: the split the model card reports under. */
export const PATIENT_ROLES: Readonly<Record<string, 'validation' | 'training'>> = {
  L192: 'validation',
  L143: 'training',
};

export interface GroupId {
  readonly patient: string;
  readonly kernel: string;
}

export interface RealPair {
  /** Position of the slice in the quarter-dose series (the noise-stream key `lowdose denoise` uses). */
  readonly index: number;
  /** File name, the same in quarter/ and full/ (its rank by location). */
  readonly name: string;
  readonly quarter: Image2D;
  readonly full: Image2D;
  /** 1 where a pixel counts in the metrics: not padding, not outside the scanned field. */
  readonly valid: Uint8Array;
  /** Pixels left out by `valid`. */
  readonly excluded: number;
}

export interface PairGroup extends GroupId {
  readonly quarterSeries: Series;
  readonly fullSeries: Series;
  readonly pairs: readonly RealPair[];
}

export const groupKey = (g: GroupId): string => `${g.patient}/${g.kernel}`;

/** Every `<patient>/<kernel>` folder with quarter/ and full/ under `root`, sorted. */
export function findGroups(root: string): GroupId[] {
  if (!existsSync(root)) throw new Error(`no real-pair folder at ${root}`);
  const groups: GroupId[] = [];
  const dirs = (dir: string) => readdirSync(dir).filter((n) => statSync(path.join(dir, n)).isDirectory()).sort();
  for (const patient of dirs(root)) {
    for (const kernel of dirs(path.join(root, patient))) {
      const base = path.join(root, patient, kernel);
      if (existsSync(path.join(base, 'quarter')) && existsSync(path.join(base, 'full'))) groups.push({ patient, kernel });
    }
  }
  return groups;
}

async function oneSeries(dir: string): Promise<Series> {
  const scan = await scanPaths([dir]);
  if (scan.errors.length > 0) throw new Error(`${dir}: ${scan.errors.map((e) => e.message).join('; ')}`);
  if (scan.series.length !== 1) throw new Error(`${dir}: expected one series, found ${scan.series.length}`);
  const series = scan.series[0]!;
  if (series.modality !== 'CT' || series.units !== 'HU') throw new Error(`${dir}: not a CT series in HU`);
  return series;
}

/** Reads one patient / kernel: both series, paired by slice location, with their masks. */
export async function loadGroup(root: string, id: GroupId): Promise<PairGroup> {
  const base = path.join(root, id.patient, id.kernel);
  const quarterSeries = await oneSeries(path.join(base, 'quarter'));
  const fullSeries = await oneSeries(path.join(base, 'full'));
  if (quarterSeries.rows !== fullSeries.rows || quarterSeries.columns !== fullSeries.columns) {
    throw new Error(`${base}: quarter and full dose grids differ`);
  }
  // Same acquisition, same table positions: a partner is within rounding of the same location
  // (the series' slice spacing is no guide: these slices are 6 to 100 mm apart).
  const tolerance = 0.1;
  const spacing: [number, number] = [quarterSeries.spacing[0], quarterSeries.spacing[1]];
  const pairs: RealPair[] = [];
  for (const [index, q] of quarterSeries.slices.entries()) {
    const f = fullSeries.slices.find((s) => s.location !== null && q.location !== null && Math.abs(s.location - q.location) <= tolerance);
    // (A quarter slice with no location cannot be paired: find() gives undefined and we stop.)
    if (!f) throw new Error(`${q.file}: no full-dose slice at location ${q.location}`);
    const name = path.basename(q.file);
    if (path.basename(f.file) !== name) throw new Error(`${q.file} pairs by location with ${f.file}: the folder's ranks disagree`);
    const qp = await readSlicePixels(q);
    const fp = await readSlicePixels(f);
    const quarter: Image2D = { rows: qp.rows, columns: qp.columns, data: qp.data, pixelSpacing: spacing };
    const full: Image2D = { rows: fp.rows, columns: fp.columns, data: fp.data, pixelSpacing: spacing };
    const valid = fieldMask(quarter, full, qp.padding, fp.padding);
    let excluded = 0;
    for (const v of valid) if (!v) excluded++;
    pairs.push({ index, name, quarter, full, valid, excluded });
  }
  if (pairs.length !== fullSeries.slices.length) throw new Error(`${base}: ${pairs.length} quarter-dose slices for ${fullSeries.slices.length} full-dose ones`);
  return { ...id, quarterSeries, fullSeries, pairs };
}

/**
 * 1 where a pixel counts: not DICOM padding in either image, and not in the out-of-field region,
 * i.e. the pixels that hold the lowest value of both images at once (-1024 HU here) and are
 * connected (4-neighbours) through such pixels to the image border. Air inside the field is noisy
 * and reaches the lowest value only at scattered pixels, rarely in both slices at once, so the fill
 * stays in the corners (it may take a few border-touching air pixels that both images clip).
 */
export function fieldMask(a: Image2D, b: Image2D, paddingA: Uint8Array | null = null, paddingB: Uint8Array | null = null): Uint8Array {
  const { rows, columns } = a;
  const n = rows * columns;
  let minA = Infinity;
  let minB = Infinity;
  for (let i = 0; i < n; i++) {
    if (a.data[i]! < minA) minA = a.data[i]!;
    if (b.data[i]! < minB) minB = b.data[i]!;
  }
  const fill = borderConnectedFill(rows, columns, (i) => a.data[i] === minA && b.data[i] === minB).mask;
  const valid = new Uint8Array(n);
  for (let i = 0; i < n; i++) valid[i] = fill[i] ? 0 : 1;
  for (let i = 0; i < n; i++) if (paddingA?.[i] || paddingB?.[i]) valid[i] = 0;
  return valid;
}

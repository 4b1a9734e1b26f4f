/**
 * The phantom fixtures QA runs on (fixtures/<phantom>/{truth,dose100,dose25,dose10}/ and
 * fixture.json, made by scripts/make-fixtures.ts), and the mapping from phantom geometry (mm in
 * the DICOM patient frame, docs/phantoms.md "Coordinates") to ROIs on a slice.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { clearSliceCache, readSliceImage, scanPaths } from '../dicom/index.js';
import { LowdoseError } from '../errors.js';
import type { Roi } from '../metrics/index.js';
import type { PhantomName, QaSlice, SliceStack } from './types.js';

export interface FixtureInfo {
  readonly phantom: PhantomName;
  readonly dir: string;
  readonly modality: string;
  readonly geometry: Record<string, unknown>;
}

/**
 * Further noise realisations of a fixture, for the expected bias of the bias checks:
 * <fixture>/.realisations/r<k>/{dose100,dose25,dose10}/ (k >= 1; the committed series are
 * realisation 0) and .realisations/realisations.json, made by `scripts/make-fixtures.ts <phantom>
 * --realisations N`. The folder is hidden so that scanning fixtures/ (the viewer's default data)
 * does not list them.
 */
export const REALISATIONS_DIR = '.realisations';
export const REALISATIONS_FILE = 'realisations.json';

/** Noise seed of dose index k (0: 25 %, 1: 10 %) of realisation r; r = 0 is the committed fixture's. */
export function realisationSeed(fixtureSeed: number, k: number, r: number): number {
  return fixtureSeed * 100 + k + 10_000 * r;
}

/** A realisation's folder: the fixture itself for 0, else .realisations/r<k>. */
export interface FixtureRealisation {
  readonly index: number;
  readonly dir: string;
}

/**
 * The fixture's realisations, 0 (the fixture) first, at most `limit` of them; only the fixture
 * when it has no .realisations folder (a site's own fixtures, or a phantom without bias checks).
 */
export function fixtureRealisations(info: FixtureInfo, limit = Number.POSITIVE_INFINITY): FixtureRealisation[] {
  const out: FixtureRealisation[] = [{ index: 0, dir: info.dir }];
  const file = path.join(info.dir, REALISATIONS_DIR, REALISATIONS_FILE);
  if (!existsSync(file)) return out;
  const json = JSON.parse(readFileSync(file, 'utf8')) as { realisations?: Array<{ dir?: unknown }> };
  if (!Array.isArray(json.realisations)) throw new LowdoseError('E_USAGE', `${file} lacks "realisations"`, { path: file });
  for (const [k, r] of json.realisations.entries()) {
    if (out.length >= limit) break;
    if (typeof r.dir !== 'string' || !/^r\d+$/.test(r.dir)) throw new LowdoseError('E_USAGE', `${file}: realisations[${k}].dir must be "r<k>"`, { path: file });
    out.push({ index: Number(r.dir.slice(1)), dir: path.join(info.dir, REALISATIONS_DIR, r.dir) });
  }
  return out;
}

/** Folder of a dose's series: 0.25 -> dose25; 1 -> dose100. */
export function doseFolder(dose: number): string {
  return `dose${Math.round(dose * 100)}`;
}

export function readFixtureInfo(fixturesDir: string, phantom: PhantomName): FixtureInfo {
  const dir = path.join(fixturesDir, phantom);
  const file = path.join(dir, 'fixture.json');
  if (!existsSync(file)) {
    throw new LowdoseError('E_NOT_FOUND', `no fixture for phantom "${phantom}": ${file} does not exist`, { path: file });
  }
  const json = JSON.parse(readFileSync(file, 'utf8')) as { modality?: string; geometry?: Record<string, unknown> };
  if (!json.geometry || typeof json.modality !== 'string') {
    throw new LowdoseError('E_USAGE', `${file} lacks "modality" or "geometry"`, { path: file });
  }
  return { phantom, dir, modality: json.modality, geometry: json.geometry };
}

/**
 * The fixture's series folder for a dose ('truth' or a fraction), of realisation `realisation`
 * (default 0, the committed series; realisations share the truth); E_NOT_FOUND when absent.
 */
export function fixtureSeriesDir(info: FixtureInfo, dose: number | 'truth', realisation?: FixtureRealisation): string {
  const base = realisation && dose !== 'truth' ? realisation.dir : info.dir;
  const dir = path.join(base, dose === 'truth' ? 'truth' : doseFolder(dose));
  if (!existsSync(dir)) {
    throw new LowdoseError('E_NOT_FOUND', `fixture ${info.phantom} has no ${path.basename(dir)} series (${dir})`, { path: dir });
  }
  return dir;
}

/**
 * Every slice of the one series in `dir`, in modality units (HU, SUVbw), sorted by z. With
 * `seriesInstanceUid` the folder may hold others (a denoised series keeps its ensemble's
 * uncertainty series in a subfolder) and that one is read.
 */
export async function readStack(dir: string, seriesInstanceUid?: string): Promise<SliceStack> {
  const { series: found } = await scanPaths([dir]);
  const series = seriesInstanceUid === undefined ? found : found.filter((s) => s.seriesInstanceUid === seriesInstanceUid);
  if (series.length !== 1) {
    const which = seriesInstanceUid === undefined ? '' : ` with SeriesInstanceUID ${seriesInstanceUid}`;
    throw new LowdoseError('E_INCONSISTENT_SERIES', `${dir} holds ${series.length} series${which}; QA expects exactly one`, { path: dir });
  }
  const only = series[0]!;
  const slices: QaSlice[] = [];
  try {
    for (let i = 0; i < only.slices.length; i++) {
      const image = await readSliceImage(only, i);
      const position = only.slices[i]!.position;
      if (!position) throw new LowdoseError('E_INCONSISTENT_SERIES', `${only.slices[i]!.file} has no ImagePositionPatient`, { path: only.slices[i]!.file });
      slices.push({ ...image, position: [position[0], position[1], position[2]] });
    }
  } finally {
    clearSliceCache();
  }
  slices.sort((a, b) => a.position[2] - b.position[2]);
  return { modality: only.modality, units: only.units, slices };
}

/**
 * A circular ROI at patient (x, y) mm on `slice`. Fixtures are axial with identity orientation, so
 * the offset from the first pixel's centre is (y - position_y) down the rows and (x - position_x)
 * along the columns, in mm (`units: 'mm'` ROIs count from that same pixel centre).
 */
export function circleAt(slice: QaSlice, centre: readonly [number, number], radiusMm: number): Roi {
  return { shape: 'circle', center: [centre[1] - slice.position[1], centre[0] - slice.position[0]], radius: radiusMm, units: 'mm' };
}

/** Fractional (row, column) of patient (x, y) mm on `slice`. */
export function pixelAt(slice: QaSlice, centre: readonly [number, number]): [number, number] {
  return [(centre[1] - slice.position[1]) / slice.pixelSpacing[0], (centre[0] - slice.position[0]) / slice.pixelSpacing[1]];
}

/** Index of the slice nearest `z` whose centre lies in [z0, z1); throws when none does. */
export function sliceIndexIn(stack: SliceStack, zRange: readonly [number, number], what: string): number {
  const [z0, z1] = zRange;
  const centre = (z0 + z1) / 2;
  let best = -1;
  for (const [i, s] of stack.slices.entries()) {
    const z = s.position[2];
    if (z < z0 || z >= z1) continue;
    if (best < 0 || Math.abs(z - centre) < Math.abs(stack.slices[best]!.position[2] - centre)) best = i;
  }
  if (best < 0) {
    const zs = stack.slices.map((s) => s.position[2]).join(', ');
    throw new LowdoseError('E_INCONSISTENT_SERIES', `no slice of the series lies in ${what} (z ${z0} to ${z1} mm); slices are at z = ${zs}`);
  }
  return best;
}

/** The images in a case must share grid and positions, or ROIs would land in different places. */
export function checkSameGrid(a: SliceStack, b: SliceStack, what: string): void {
  const same =
    a.slices.length === b.slices.length &&
    a.slices.every((s, i) => {
      const t = b.slices[i]!;
      return (
        s.rows === t.rows &&
        s.columns === t.columns &&
        Math.abs(s.pixelSpacing[0] - t.pixelSpacing[0]) < 1e-6 &&
        Math.abs(s.pixelSpacing[1] - t.pixelSpacing[1]) < 1e-6 &&
        s.position.every((v, k) => Math.abs(v - t.position[k]!) < 1e-3)
      );
    });
  if (!same) throw new LowdoseError('E_INCONSISTENT_SERIES', `${what}: slices differ in size, spacing or position from the fixture's`);
}

/**
 * A realisation may hold some of the fixture's slices only (ACR: modules 1 and 2): each of its slices must
 * sit on one of the fixture's, with the same grid, so the fixture's ROIs land where they should.
 */
export function checkSubsetOfGrid(fixture: SliceStack, part: SliceStack, what: string): void {
  const fits =
    part.slices.length > 0 &&
    part.slices.every((s) =>
      fixture.slices.some(
        (t) =>
          s.rows === t.rows &&
          s.columns === t.columns &&
          Math.abs(s.pixelSpacing[0] - t.pixelSpacing[0]) < 1e-6 &&
          Math.abs(s.pixelSpacing[1] - t.pixelSpacing[1]) < 1e-6 &&
          s.position.every((v, k) => Math.abs(v - t.position[k]!) < 1e-3),
      ),
    );
  if (!fits) throw new LowdoseError('E_INCONSISTENT_SERIES', `${what}: slices differ in size, spacing or position from the fixture's`);
}

/** One noise realisation of a fixture at one dose: its low-dose scan and its full-dose reference. */
export interface RealisationScans {
  readonly index: number;
  readonly low: SliceStack;
  readonly full: SliceStack;
}

/** Every committed noise realisation of a fixture at `dose`, realisation 0 (the fixture itself) first. */
export async function readRealisationScans(info: FixtureInfo, dose: number): Promise<RealisationScans[]> {
  const out: RealisationScans[] = [];
  for (const r of fixtureRealisations(info)) {
    out.push({ index: r.index, low: await readStack(fixtureSeriesDir(info, dose, r)), full: await readStack(fixtureSeriesDir(info, 1, r)) });
  }
  return out;
}

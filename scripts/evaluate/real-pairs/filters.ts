/**
 * The classical baselines at their best on the real pairs: the toolkit's Gaussian, bilateral and
 * non-local-means filters (src/filters, the code behind `lowdose denoise --method`), each tuned
 * on the same slices it is scored on, per patient and kernel, with the toolkit's tuner
 * (`tuneInRanges`: mean PSNR and SSIM of every candidate in both windows, out-of-field pixels
 * left out).
 *
 * "At its best" per number: a filter's PSNR in a window is that of its PSNR-best setting there,
 * its SSIM that of its SSIM-best setting there (the strictest baseline for a model to beat). A grid
 * whose best value lies on its edge grows past that edge until it does not (up to MAX_EXTENSIONS
 * times), then gets the midpoints around each winner. Noise and bias are those of the setting with the best PSNR in [-1000, 1000] HU. Filter
 * strengths scale with one noise SD per series (`estimateSeriesNoise`, as `lowdose denoise
 * --method bilateral|nlm` does).
 *
 * Results are cached in .cache/real-pairs/ under a hash of the slices, the grids and the code
 * that makes them (src/filters, src/metrics, these scripts), so re-running for a new model card
 * only runs the model.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { classicalDenoise, type ClassicalMethod } from '../../../src/filters/denoise.js';
import { estimateSeriesNoise } from '../../../src/filters/noise.js';
import { tuneInRanges, type TunableParameter, type TuningPair, type TuningScore } from '../../../src/filters/tune.js';
import type { PairGroup } from './data.js';
import { scoreSlice, WINDOW_NAMES, WINDOW_REGIONS, WINDOWS, type PlacedRoi, type ScoringMasks, type SliceScore, type WindowName } from './score.js';
import { makeDirectoriesSync } from '../../../src/util/fs.js';

export interface FilterSpec {
  readonly method: ClassicalMethod;
  readonly parameter: TunableParameter;
  /** Starting grid; grows at an edge that wins. */
  readonly grid: readonly number[];
  /** Smallest value the parameter may take. */
  readonly floor: number;
  /** What the value is, for the tables. */
  readonly unit: string;
}

export const FILTERS: readonly FilterSpec[] = [
  { method: 'gaussian', parameter: 'sigmaMm', grid: [0.3, 0.45, 0.6, 0.8, 1.0, 1.25, 1.6], floor: 0.05, unit: 'sigma, mm' },
  { method: 'bilateral', parameter: 'rangeFactor', grid: [0.5, 0.75, 1, 1.5, 2, 3, 4, 6], floor: 0.05, unit: 'range sigma, x noise SD' },
  { method: 'nlm', parameter: 'hFactor', grid: [0.3, 0.45, 0.6, 0.8, 1, 1.25, 1.6, 2], floor: 0.05, unit: 'h, x noise SD' },
];
const MAX_EXTENSIONS = 4;
const EXTENSION_FACTOR = 1.5;
/** Bump when what is cached changes shape or meaning. */
const CACHE_VERSION = 2;

export interface TunedFilter {
  readonly method: ClassicalMethod;
  readonly parameter: TunableParameter;
  /** Series noise SD (HU) the strengths scale with. */
  readonly noiseStd: number;
  /** Per window: every candidate's mean scores over the group's slices, ascending value. */
  readonly scores: Record<WindowName, TuningScore[]>;
  /** Per window: the PSNR-best and the SSIM-best value. */
  readonly bestPsnr: Record<WindowName, number>;
  readonly bestSsim: Record<WindowName, number>;
  /** Per slice, the setting with the best PSNR in [-1000, 1000] HU. */
  readonly slices: SliceScore[];
  /** Whether the result came from the cache. */
  cached?: boolean;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '../../..');

/**
 * The code whose change invalidates cached filter results: this file and score.ts with everything
 * they import (relative value imports, followed recursively). The slices themselves are hashed,
 * so the DICOM reader is not part of it, nor is an unrelated file that lands in src/metrics.
 */
function codeHash(): string {
  const h = createHash('sha256');
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    h.update(path.relative(REPO, file)).update(text);
    for (const m of text.matchAll(/^(?:import|export) (?!type\b)[^;]*? from '(\.[^']+)\.js';/gms)) visit(path.resolve(path.dirname(file), `${m[1]}.ts`));
  };
  for (const start of ['filters.ts', 'score.ts']) visit(path.join(here, start));
  return h.digest('hex');
}

function groupHash(group: PairGroup, rois: readonly (readonly PlacedRoi[])[], spec: FilterSpec): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ CACHE_VERSION, method: spec.method, parameter: spec.parameter, grid: spec.grid, windows: WINDOWS, regions: WINDOW_REGIONS, MAX_EXTENSIONS, EXTENSION_FACTOR, rois }));
  h.update(codeHash());
  for (const p of group.pairs) {
    h.update(new Uint8Array(p.quarter.data.buffer, p.quarter.data.byteOffset, p.quarter.data.byteLength));
    h.update(new Uint8Array(p.full.data.buffer, p.full.data.byteOffset, p.full.data.byteLength));
    h.update(p.valid);
    h.update(JSON.stringify(p.quarter.pixelSpacing));
  }
  return h.digest('hex').slice(0, 16);
}

/** Tunes one filter on one group (or reads it from `cacheDir`). */
export function tunedFilter(
  group: PairGroup,
  rois: readonly (readonly PlacedRoi[])[],
  masks: readonly ScoringMasks[],
  spec: FilterSpec,
  cacheDir: string | null,
  log: (m: string) => void,
): TunedFilter {
  const file = cacheDir ? path.join(cacheDir, `${group.patient}-${group.kernel}-${spec.method}-${groupHash(group, rois, spec)}.json`) : null;
  if (file && existsSync(file)) return { ...(JSON.parse(readFileSync(file, 'utf8')) as TunedFilter), cached: true };
  const t0 = performance.now();
  const noiseStd = estimateSeriesNoise(group.pairs.map((p) => p.quarter), 'CT');
  const params = { modality: 'CT' as const, noiseStd };
  const pairs: TuningPair[] = group.pairs.map((p, k) => ({ lowDose: p.quarter, reference: p.full, valid: masks[k]!.field, regions: { patient: masks[k]!.patient } }));
  const ranges = WINDOW_NAMES.map((w) => (WINDOW_REGIONS[w] === 'patient' ? { range: WINDOWS[w], region: 'patient' } : WINDOWS[w]));
  const scores = Object.fromEntries(WINDOW_NAMES.map((w) => [w, [] as TuningScore[]])) as Record<WindowName, TuningScore[]>;
  const run = (values: number[]) => {
    const results = tuneInRanges(spec.method, spec.parameter, pairs, values, ranges, { params });
    WINDOW_NAMES.forEach((w, k) => {
      scores[w].push(...results[k]!.scores);
      scores[w].sort((a, b) => a.value - b.value);
    });
  };
  const argmax = (list: TuningScore[], key: 'psnr' | 'ssim') => list.reduce((best, s) => (s[key] > best[key] ? s : best), list[0]!);
  run([...spec.grid]);
  for (let round = 0; round < MAX_EXTENSIONS; round++) {
    const values = scores.hu.map((s) => s.value);
    const lo = values[0]!;
    const hi = values[values.length - 1]!;
    const winners = WINDOW_NAMES.flatMap((w) => [argmax(scores[w], 'psnr').value, argmax(scores[w], 'ssim').value]);
    const more: number[] = [];
    if (winners.includes(hi)) more.push(round3(hi * EXTENSION_FACTOR));
    if (winners.includes(lo) && lo / EXTENSION_FACTOR >= spec.floor) more.push(round3(lo / EXTENSION_FACTOR));
    if (more.length === 0) break;
    log(`  ${spec.method}: best on the grid's edge, adding ${more.join(', ')}`);
    run(more);
  }
  // One refinement: the geometric midpoints between each winner and its neighbours, so a coarse
  // grid does not undersell a filter.
  const values = scores.hu.map((s) => s.value);
  const finer = new Set<number>();
  for (const w of WINDOW_NAMES) {
    for (const key of ['psnr', 'ssim'] as const) {
      const i = values.indexOf(argmax(scores[w], key).value);
      for (const j of [i - 1, i + 1]) if (j >= 0 && j < values.length) finer.add(round3(Math.sqrt(values[i]! * values[j]!)));
    }
  }
  const refine = [...finer].filter((v) => !values.includes(v)).sort((a, b) => a - b);
  if (refine.length > 0) run(refine);
  const bestPsnr = {} as Record<WindowName, number>;
  const bestSsim = {} as Record<WindowName, number>;
  for (const w of WINDOW_NAMES) {
    bestPsnr[w] = argmax(scores[w], 'psnr').value;
    bestSsim[w] = argmax(scores[w], 'ssim').value;
  }
  const slices = group.pairs.map((p, k) => {
    const out = classicalDenoise(spec.method, p.quarter, { ...params, [spec.parameter]: bestPsnr.hu }).data;
    return scoreSlice(out, p.full, masks[k]!, rois[k]!);
  });
  const result: TunedFilter = { method: spec.method, parameter: spec.parameter, noiseStd, scores, bestPsnr, bestSsim, slices };
  log(`  ${spec.method}: ${scores.hu.length} settings tuned in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (file) {
    makeDirectoriesSync(path.dirname(file));
    writeFileSync(file, JSON.stringify(result) + '\n');
  }
  return result;
}

function round3(v: number): number {
  return Number(v.toPrecision(3));
}

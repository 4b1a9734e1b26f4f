/**
 * `lowdose metrics --reference <path> --test <path> [--range lo,hi] [--json]`: PSNR, SSIM and RMSE
 * per slice and their means between two series (../shared/CONTRACT.md). Slices are matched by
 * ImagePositionPatient, else by order. `runMetrics` does the work and is what tests call.
 */
import type { Command } from 'commander';
import { LowdoseError, toLowdoseError } from '../../errors.js';
import type { Image2D } from '../../image.js';
import { clearSliceCache, readSliceImage, scanPaths, type Series } from '../../dicom/index.js';
import { SeriesComparison, type SeriesScores } from '../../metrics/compare.js';
import { CT_RANGE, type IntensityRange } from '../../metrics/range.js';
import type { CommandRegistrar } from '../main.js';
import { createOutput, EXIT_FAILED, EXIT_OK, usageError } from '../output.js';

export interface MetricsOptions {
  readonly reference: string;
  readonly test: string;
  /** Default: CT [-1000, 1000] HU, PET [0, max of the reference series]. */
  readonly range?: IntensityRange;
  readonly progress?: (message: string) => void;
}

/** The CONTRACT shape plus what was compared and how. */
export interface MetricsResult extends SeriesScores {
  readonly units: string;
  readonly matchedBy: 'position' | 'order';
  readonly reference: { readonly seriesInstanceUid: string; readonly slices: number };
  readonly test: { readonly seriesInstanceUid: string; readonly slices: number };
  readonly errors: Array<{ path: string | null; code: string; message: string }>;
}

interface Pairing {
  readonly matchedBy: 'position' | 'order';
  /** [reference index, test index] in each series' sorted order. */
  readonly pairs: Array<[number, number]>;
}

/**
 * Does the work of `lowdose metrics`. Throws E_USAGE-class errors (exit 2) when nothing can be
 * compared; slices that fail to read become `errors` entries (exit 1).
 */
export async function runMetrics(options: MetricsOptions): Promise<{ result: MetricsResult; exitCode: number }> {
  const progress = options.progress ?? (() => {});
  const errors: MetricsResult['errors'] = [];
  const reference = await singleSeries(options.reference, '--reference', errors);
  const test = await singleSeries(options.test, '--test', errors);
  checkComparable(reference, test);
  const pairing = pairSlices(reference, test);
  for (const [r, t] of pairing.pairs) {
    if (t < 0) progress(`reference slice ${r} has no test slice at its position; skipped`);
  }
  const pairs = pairing.pairs.filter(([, t]) => t >= 0);
  progress(`comparing ${pairs.length} slice pair(s), matched by ${pairing.matchedBy}`);

  try {
    const range = options.range ?? (await defaultSeriesRange(reference, progress));
    const comparison = new SeriesComparison(range);
    let failed = 0;
    for (const [n, [r, t]] of pairs.entries()) {
      if (n > 0 && n % 20 === 0) progress(`  ${n}/${pairs.length}`);
      const referenceImage = await readOrReport(reference, r, errors);
      const testImage = referenceImage && (await readOrReport(test, t, errors));
      if (!referenceImage || !testImage) {
        failed++;
        continue;
      }
      comparison.add(r, referenceImage, testImage);
    }
    if (failed === pairs.length) {
      throw usageError(`no slice pair could be read: ${errors.map((e) => e.message).join('; ')}`);
    }
    const scores = comparison.result();
    const result: MetricsResult = {
      ...scores,
      units: reference.units,
      matchedBy: pairing.matchedBy,
      reference: { seriesInstanceUid: reference.seriesInstanceUid, slices: reference.slices.length },
      test: { seriesInstanceUid: test.seriesInstanceUid, slices: test.slices.length },
      errors,
    };
    return { result, exitCode: errors.length > 0 ? EXIT_FAILED : EXIT_OK };
  } finally {
    clearSliceCache();
  }
}

/** A slice as an Image2D, or null with its error recorded. */
async function readOrReport(series: Series, index: number, errors: MetricsResult['errors']): Promise<Image2D | null> {
  try {
    return await readSliceImage(series, index);
  } catch (error) {
    errors.push(toLowdoseError(error, 'E_DECODE', series.slices[index]!.file).toJSON());
    return null;
  }
}

/** The one image series under `path`; anything else is bad usage. Unreadable files go to `errors`. */
async function singleSeries(path: string, option: string, errors: MetricsResult['errors']): Promise<Series> {
  const scan = await scanPaths([path]);
  if (scan.missing.length > 0) throw new LowdoseError('E_NOT_FOUND', `${option} ${path}: no such file or directory`, { path });
  for (const e of scan.errors) errors.push(e.toJSON());
  if (scan.series.length === 0) {
    const why = scan.errors.length > 0 ? `: ${scan.errors.map((e) => e.message).join('; ')}` : '';
    throw usageError(`${option} ${path}: no readable image series found${why}`);
  }
  if (scan.series.length > 1) {
    const list = scan.series.map((s) => `${s.key} (${s.modality}, ${s.slices.length} slices, "${s.seriesDescription}")`).join('; ');
    throw usageError(`${option} ${path} holds ${scan.series.length} series (${list}); point it at the files or folder of one series`);
  }
  return scan.series[0]!;
}

function checkComparable(reference: Series, test: Series): void {
  if (reference.rows !== test.rows || reference.columns !== test.columns) {
    throw usageError(
      `reference slices are ${reference.columns} x ${reference.rows} but test slices are ${test.columns} x ${test.rows}; metrics need the same grid`,
    );
  }
  if (reference.rows < 11 || reference.columns < 11) {
    throw usageError(`slices of ${reference.columns} x ${reference.rows} are smaller than SSIM's 11 x 11 window`);
  }
  if (reference.modality !== test.modality) {
    throw usageError(`reference is ${reference.modality || 'of unknown modality'} but test is ${test.modality || 'of unknown modality'}`);
  }
  if (reference.units !== test.units) {
    throw usageError(`reference is in ${reference.units} but test is in ${test.units}; metrics need the same units`);
  }
}

/**
 * Pairs each reference slice with the test slice at the same ImagePositionPatient (within a
 * quarter of the slice spacing); when either series lacks positions or none coincide, pairs by
 * sorted order, which needs equal slice counts. Reference slices without a partner get -1.
 */
export function pairSlices(reference: Series, test: Series): Pairing {
  const hasPositions = (s: Series) => s.slices.every((slice) => slice.position !== null);
  if (hasPositions(reference) && hasPositions(test)) {
    const spacing = Math.min(reference.spacing[2], test.spacing[2]);
    const tolerance = Math.max(0.01, 0.25 * (spacing > 0 ? spacing : 1));
    const pairs: Array<[number, number]> = reference.slices.map((slice, r) => {
      let best = -1;
      let bestDistance = tolerance;
      test.slices.forEach((candidate, t) => {
        const [x, y, z] = slice.position!;
        const [u, v, w] = candidate.position!;
        const d = Math.hypot(x - u, y - v, z - w);
        if (d <= bestDistance) {
          best = t;
          bestDistance = d;
        }
      });
      return [r, best];
    });
    if (pairs.some(([, t]) => t >= 0)) return { matchedBy: 'position', pairs };
  }
  if (reference.slices.length !== test.slices.length) {
    throw usageError(
      `cannot match slices: no slice positions in common and the reference has ${reference.slices.length} slices but the test ${test.slices.length}`,
    );
  }
  return { matchedBy: 'order', pairs: reference.slices.map((_, i) => [i, i]) };
}

/** CONTRACT defaults: CT [-1000, 1000] HU; PET [0, max of the reference series]. */
async function defaultSeriesRange(reference: Series, progress: (message: string) => void): Promise<IntensityRange> {
  if (reference.modality === 'CT') return CT_RANGE;
  if (reference.modality !== 'PT') {
    throw usageError(`no default metric range for modality ${reference.modality || '(none)'}; give --range lo,hi`);
  }
  progress(`finding the maximum of the reference (${reference.slices.length} slices) for the PET range`);
  let max = -Infinity;
  for (let i = 0; i < reference.slices.length; i++) {
    const { data } = await readSliceImage(reference, i);
    for (let k = 0; k < data.length; k++) if (data[k]! > max && Number.isFinite(data[k]!)) max = data[k]!;
  }
  if (!(max > 0)) throw usageError(`the PET reference has no positive value (max ${max}); give --range lo,hi`);
  return [0, max];
}

export function parseRange(text: string): IntensityRange {
  const parts = text.split(',').map((p) => p.trim());
  const numbers = parts.map(Number);
  if (parts.length !== 2 || parts.some((p) => p === '') || !numbers.every(Number.isFinite) || !(numbers[1]! > numbers[0]!)) {
    throw usageError(`--range must be "lo,hi" with lo < hi, got "${text}"`);
  }
  return [numbers[0]!, numbers[1]!];
}

function format(value: number | null, digits: number): string {
  return value === null ? 'inf' : value.toFixed(digits);
}

function humanReport(result: MetricsResult): string {
  const lines = [
    `range [${result.range[0]}, ${result.range[1]}] ${result.units}, ${result.slices.length} slice pair(s) matched by ${result.matchedBy}`,
    'slice   PSNR dB     SSIM      RMSE',
  ];
  for (const s of result.slices) {
    lines.push(`${String(s.index).padStart(5)}  ${format(s.psnr, 3).padStart(8)}  ${s.ssim.toFixed(5)}  ${s.rmse.toFixed(3).padStart(8)}`);
  }
  const m = result.mean;
  lines.push(` mean  ${format(m.psnr, 3).padStart(8)}  ${m.ssim.toFixed(5)}  ${m.rmse.toFixed(3).padStart(8)}`);
  if (result.errors.length > 0) {
    lines.push('', `${result.errors.length} file(s) could not be read:`);
    for (const e of result.errors) lines.push(`  [${e.code}] ${e.message}`);
  }
  return lines.join('\n');
}

export const register: CommandRegistrar = (program: Command, setExitCode) => {
  program
    .command('metrics')
    .description('PSNR, SSIM and RMSE per slice and overall between two series (matched by slice position, else by order)')
    .requiredOption('--reference <path>', 'the reference (normal-dose) series: its files or folder')
    .requiredOption('--test <path>', 'the series to score: its files or folder')
    .option('--range <lo,hi>', 'clip both to [lo, hi] for PSNR / SSIM (default CT -1000,1000 HU; PET 0,max of reference)', parseRange)
    .option('--json', 'machine-readable output on stdout')
    .action(async (opts: { reference: string; test: string; range?: IntensityRange; json?: boolean }) => {
      const out = createOutput(Boolean(opts.json));
      const { result, exitCode } = await runMetrics({
        reference: opts.reference,
        test: opts.test,
        ...(opts.range ? { range: opts.range } : {}),
        progress: (m) => out.info(m),
      });
      out.result(result);
      out.print(humanReport(result));
      setExitCode(exitCode);
    });
};

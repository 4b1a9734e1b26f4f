/**
 * `lowdose metrics --reference <path> --test <path> [--range lo,hi] [--region field|patient] [--lesions <file>] [--json]`:
 * PSNR, SSIM and RMSE per slice and their means between two series (docs/contract.md), over the
 * field or inside the patient, and
 * with `--lesions` SUVmean / SUVmax / SUVpeak per lesion and their recovery. The work is
 * src/pipeline/metrics.ts (`runMetrics`); this file registers the command, parses `--range` and
 * prints the result.
 */
import type { Command } from 'commander';
import type { IntensityRange } from '../../metrics/range.js';
import type { Lesion } from '../../metrics/lesions.js';
import { readLesionsFile } from '../../pipeline/lesions-file.js';
import { SFRC_DEFAULTS, type SfrcOptions } from '../../metrics/sfrc.js';
import { METRICS_REGIONS, runMetrics, type MetricsRegion, type MetricsResult } from '../../pipeline/metrics.js';
import type { CommandRegistrar } from '../command.js';
import { createOutput, parseIntOption, parseNumberOption, usageError } from '../output.js';

export function parseRange(text: string): IntensityRange {
  const parts = text.split(',').map((p) => p.trim());
  const numbers = parts.map(Number);
  if (parts.length !== 2 || parts.some((p) => p === '') || !numbers.every(Number.isFinite) || !(numbers[1]! > numbers[0]!)) {
    throw usageError(`--range must be "lo,hi" with lo < hi, got "${text}"`);
  }
  return [numbers[0]!, numbers[1]!];
}

export function parseRegion(text: string): MetricsRegion {
  const region = METRICS_REGIONS.find((r) => r === text);
  if (!region) throw usageError(`--region must be ${METRICS_REGIONS.join(' or ')}, got "${text}"`);
  return region;
}

function format(value: number | null, digits: number): string {
  return value === null ? 'inf' : value.toFixed(digits);
}

function humanReport(result: MetricsResult): string {
  const lines = [
    `range [${result.range[0]}, ${result.range[1]}] ${result.units}, ${result.slices.length} slice pair(s) matched by ${result.matchedBy}` +
      (result.region === 'patient' ? ', inside the patient outline of the reference' : ''),
    'slice   PSNR dB     SSIM      RMSE',
  ];
  for (const s of result.slices) {
    lines.push(`${String(s.index).padStart(5)}  ${format(s.psnr, 3).padStart(8)}  ${s.ssim.toFixed(5)}  ${s.rmse.toFixed(3).padStart(8)}`);
  }
  const m = result.mean;
  lines.push(` mean  ${format(m.psnr, 3).padStart(8)}  ${m.ssim.toFixed(5)}  ${m.rmse.toFixed(3).padStart(8)}`);
  if (result.lesions) {
    const u = result.units === 'SUVbw' ? 'SUV' : result.units;
    lines.push('', `lesion${' '.repeat(14)}voxels   ${u}mean ref -> test (ratio)   ${u}max ref -> test (ratio)   ${u}peak ref -> test (ratio)`);
    const cell = (r: number, t: number, ratio: number | null) => `${r.toFixed(3)} -> ${t.toFixed(3)} (${ratio === null ? 'n/a' : ratio.toFixed(3)})`.padEnd(30);
    for (const l of result.lesions) {
      lines.push(
        `${l.name.slice(0, 18).padEnd(18)}  ${String(l.reference.voxels).padStart(6)}   ${cell(l.reference.mean, l.test.mean, l.recovery.mean)}${cell(l.reference.max, l.test.max, l.recovery.max)}${cell(l.reference.peak, l.test.peak, l.recovery.peak)}`.trimEnd(),
      );
    }
  }
  const h = result.hallucination;
  if (h) {
    lines.push(
      '',
      `sFRC hallucination map: ${h.flagged.length} of ${h.patches} patches flagged (${(100 * h.flaggedFraction).toFixed(1)} %; ` +
        `${h.patchSize} px = ${h.patchSizeMm} mm, FRC < ${h.threshold} in ${h.band[0]}-${h.band[1]} cycles/mm) -> ${h.map.dir}`,
    );
    for (const f of [...h.flagged].sort((a, b) => a.score - b.score).slice(0, 10)) {
      lines.push(`  slice ${f.slice}  x ${f.xMm.toFixed(1)} mm  y ${f.yMm.toFixed(1)} mm  score ${f.score.toFixed(3)} at ${f.frequency.toFixed(3)} cycles/mm`);
    }
    if (h.flagged.length > 10) lines.push(`  ... ${h.flagged.length - 10} more in --json`);
  }
  if (result.errors.length > 0) {
    lines.push('', `${result.errors.length} file(s) could not be read:`);
    for (const e of result.errors) lines.push(`  [${e.code}] ${e.message}`);
  }
  return lines.join('\n');
}

interface MetricsCliOptions {
  reference: string;
  test: string;
  range?: IntensityRange;
  region?: MetricsRegion;
  lesions?: string;
  hallucination?: string;
  patchSize?: number;
  stride?: number;
  band?: [number, number];
  frcThreshold?: number;
  noiseCompensation: boolean;
  json?: boolean;
}

function parseBand(text: string): [number, number] {
  const parts = text.split(',').map((p) => Number(p.trim()));
  if (parts.length !== 2 || !parts.every(Number.isFinite) || !(parts[0]! >= 0) || !(parts[1]! > parts[0]!)) {
    throw usageError(`--band must be "lo,hi" in cycles/mm with 0 <= lo < hi, got "${text}"`);
  }
  return [parts[0]!, parts[1]!];
}

export const register: CommandRegistrar = (program: Command, setExitCode) => {
  program
    .command('metrics')
    .description('PSNR, SSIM and RMSE per slice and overall between two series (matched by slice position, else by order)')
    .requiredOption('--reference <path>', 'the reference (normal-dose) series: its files or folder')
    .requiredOption('--test <path>', 'the series to score: its files or folder')
    .option('--range <lo,hi>', 'clip both to [lo, hi] for PSNR / SSIM (default CT -1000,1000 HU; PET 0,max of reference)', parseRange)
    .option(
      '--region <field|patient>',
      'pixels PSNR / SSIM / RMSE count: field (default: every pixel of the scanned field) or patient (only those inside the ' +
        "reference slice's patient outline, lungs and gas included: the air around the body, a third to a half of a CT field " +
        'where every method scores near perfect, no longer dilutes differences in the body)',
      parseRegion,
    )
    .option('--lesions <file>', 'JSON { "lesions": [ { "name"?, "centre": [x, y, z], "radius" } ] } in patient mm: adds SUVmean / SUVmax / SUVpeak per lesion')
    .option('--hallucination <dir>', 'also write an sFRC hallucination map (DICOM series + PNG overlays) of test against reference into <dir>')
    .option('--patch-size <px>', `sFRC patch edge in pixels (default ${SFRC_DEFAULTS.patchSize})`, parseIntOption('--patch-size', 8, 512))
    .option('--stride <px>', 'sFRC step between patches (default patch size / 2)', parseIntOption('--stride', 1, 512))
    .option('--band <lo,hi>', `sFRC frequencies judged, cycles/mm (default ${SFRC_DEFAULTS.band.join(',')})`, parseBand)
    .option('--frc-threshold <t>', `sFRC: flagged when the FRC falls below t in the band (default ${SFRC_DEFAULTS.threshold})`, parseNumberOption('--frc-threshold', 0, 1))
    .option('--no-noise-compensation', "sFRC: the paper's plain FRC (no allowance for the images' noise)")
    .option('--json', 'machine-readable output on stdout')
    .action(async (opts: MetricsCliOptions) => {
      const out = createOutput(Boolean(opts.json));
      const sfrcOptions: SfrcOptions = {
        ...(opts.patchSize !== undefined ? { patchSize: opts.patchSize } : {}),
        ...(opts.stride !== undefined ? { stride: opts.stride } : {}),
        ...(opts.band ? { band: opts.band } : {}),
        ...(opts.frcThreshold !== undefined ? { threshold: opts.frcThreshold } : {}),
        noiseCompensation: opts.noiseCompensation,
      };
      const given = ['patchSize', 'stride', 'band', 'frcThreshold'].filter((k) => (opts as unknown as Record<string, unknown>)[k] !== undefined);
      if (!opts.hallucination && (given.length > 0 || !opts.noiseCompensation)) {
        throw usageError('--patch-size, --stride, --band, --frc-threshold and --no-noise-compensation need --hallucination <dir>');
      }
      // The file is checked before any image is read.
      const lesions: Lesion[] | undefined = opts.lesions !== undefined ? await readLesionsFile(opts.lesions) : undefined;
      const { result, exitCode } = await runMetrics({
        reference: opts.reference,
        test: opts.test,
        ...(opts.range ? { range: opts.range } : {}),
        ...(opts.region ? { region: opts.region } : {}),
        ...(lesions ? { lesions } : {}),
        ...(opts.hallucination ? { hallucination: { dir: opts.hallucination, options: sfrcOptions } } : {}),
        progress: (m) => out.info(m),
      });
      out.result(result);
      out.print(humanReport(result));
      setExitCode(exitCode);
    });
};

/**
 * `lowdose metrics --reference <path> --test <path> [--range lo,hi] [--lesions <file>] [--json]`:
 * PSNR, SSIM and RMSE per slice and their means between two series (docs/contract.md), and
 * with `--lesions` SUVmean / SUVmax / SUVpeak per lesion and their recovery. The work is
 * src/pipeline/metrics.ts (`runMetrics`); this file registers the command, parses `--range` and
 * prints the result.
 */
import type { Command } from 'commander';
import type { IntensityRange } from '../../metrics/range.js';
import type { Lesion } from '../../metrics/lesions.js';
import { readLesionsFile } from '../../pipeline/lesions-file.js';
import { runMetrics, type MetricsResult } from '../../pipeline/metrics.js';
import type { CommandRegistrar } from '../command.js';
import { createOutput, usageError } from '../output.js';

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
    .option('--lesions <file>', 'JSON { "lesions": [ { "name"?, "centre": [x, y, z], "radius" } ] } in patient mm: adds SUVmean / SUVmax / SUVpeak per lesion')
    .option('--json', 'machine-readable output on stdout')
    .action(async (opts: { reference: string; test: string; range?: IntensityRange; lesions?: string; json?: boolean }) => {
      const out = createOutput(Boolean(opts.json));
      // The file is checked before any image is read.
      const lesions: Lesion[] | undefined = opts.lesions !== undefined ? await readLesionsFile(opts.lesions) : undefined;
      const { result, exitCode } = await runMetrics({
        reference: opts.reference,
        test: opts.test,
        ...(opts.range ? { range: opts.range } : {}),
        ...(lesions ? { lesions } : {}),
        progress: (m) => out.info(m),
      });
      out.result(result);
      out.print(humanReport(result));
      setExitCode(exitCode);
    });
};

/**
 * `lowdose metrics --reference <path> --test <path> [--range lo,hi] [--json]`: PSNR, SSIM and RMSE
 * per slice and their means between two series (../shared/CONTRACT.md). The work is
 * src/pipeline/metrics.ts (`runMetrics`); this file registers the command, parses `--range` and
 * prints the result.
 */
import type { Command } from 'commander';
import type { IntensityRange } from '../../metrics/range.js';
import { runMetrics, type MetricsResult } from '../../pipeline/metrics.js';
import type { CommandRegistrar } from '../main.js';
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

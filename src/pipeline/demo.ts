/**
 * The demo (`npm start` = `lowdose demo`): the toolkit's main job end to end on built-in data.
 * A body phantom is "scanned" at full dose and at a reduced dose with the CT physics, the
 * low-dose scan is denoised with the shipped model (and a classical filter, for comparison), and
 * both are scored against the full-dose scan.
 */
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { readSliceImage, scanPaths, type Series } from '../dicom/index.js';
import { LowdoseError } from '../errors.js';
import { estimateNoise, SOFT_TISSUE_HU } from '../metrics/index.js';
import type { DeviceRequest } from '../runtime/index.js';
import { denoisePaths } from './denoise.js';
import { runPhantom } from './phantom.js';
import { runSimulate } from './simulate.js';
import type { DenoiseMethod, SeriesReport } from './types.js';

export interface DemoOptions {
  readonly outDir: string;
  readonly size?: number;
  readonly slices?: number;
  readonly dose?: number;
  readonly seed?: number;
  readonly device?: DeviceRequest;
  readonly model?: string;
  readonly methods?: readonly DenoiseMethod[];
  readonly log?: (message: string) => void;
}

export interface DemoRow {
  readonly name: string;
  readonly psnr: number | null;
  readonly ssim: number | null;
  /** Mean no-reference noise estimate over the slices (soft-tissue window), HU. */
  readonly noise: number;
  readonly msPerSlice: number | null;
  readonly device: string | null;
  readonly dir: string;
}

export interface DemoResult {
  readonly outDir: string;
  readonly phantomDir: string;
  readonly fullDoseDir: string;
  readonly lowDoseDir: string;
  readonly dose: number;
  readonly rows: DemoRow[];
  readonly reports: SeriesReport[];
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const log = options.log ?? (() => {});
  const outDir = path.resolve(options.outDir);
  const dose = options.dose ?? 0.25;
  const seed = options.seed ?? 1;
  // Each run starts clean: the demo's outputs are derived data, never user data.
  await rm(outDir, { recursive: true, force: true });

  log(`1/3 writing a body phantom (${options.slices ?? 4} slices of ${options.size ?? 512}x${options.size ?? 512})`);
  const phantom = await runPhantom('body', {
    outDir: path.join(outDir, 'phantom'),
    size: options.size ?? 512,
    slices: options.slices ?? 4,
    seed,
    progress: log,
  });

  log(`2/3 scanning it with the CT physics at full dose and at ${Math.round(dose * 100)} % dose`);
  const simulated = await runSimulate([phantom.dir], {
    dose,
    outDir: path.join(outDir, 'scans'),
    seed,
    mode: 'truth',
    withReference: true,
    progress: log,
  });
  const scan = simulated.result.series[0];
  if (!scan?.reference) throw new LowdoseError('E_INTERNAL', 'the simulation wrote no full-dose reference');

  const methods = options.methods ?? ['gaussian', 'diffusion'];
  log(`3/3 denoising the low-dose scan (${methods.join(', ')})`);
  const reports: SeriesReport[] = [];
  for (const method of methods) {
    const report = await denoisePaths([scan.output.dir], {
      outDir: path.join(outDir, method === 'diffusion' ? 'denoised' : `denoised-${method}`),
      method,
      seed,
      reference: [scan.reference.dir],
      overwrite: true,
      ...(options.device ? { device: options.device } : {}),
      ...(options.model ? { model: options.model } : {}),
      log,
    });
    if (report.errors.length > 0) {
      throw new LowdoseError('E_INTERNAL', `denoise (${method}) failed: ${report.errors.map((e) => e.message).join('; ')}`);
    }
    reports.push(...report.series);
  }

  const lowDose = reports[0]!.metrics;
  const rows: DemoRow[] = [
    {
      name: `low-dose input (${Math.round(dose * 100)} %)`,
      psnr: lowDose?.input?.psnr ?? null,
      ssim: lowDose?.input?.ssim ?? null,
      noise: await meanNoise(scan.output.dir),
      msPerSlice: null,
      device: null,
      dir: scan.output.dir,
    },
  ];
  for (const report of reports) {
    rows.push({
      name: report.method === 'diffusion' ? `diffusion ${report.model} (${report.steps} step${report.steps === 1 ? '' : 's'})` : report.method,
      psnr: report.metrics?.psnr ?? null,
      ssim: report.metrics?.ssim ?? null,
      noise: await meanNoise(report.output.dir),
      msPerSlice: report.msPerSlice,
      device: report.device,
      dir: report.output.dir,
    });
  }
  rows.push({
    name: 'full-dose reference',
    psnr: null,
    ssim: null,
    noise: await meanNoise(scan.reference.dir),
    msPerSlice: null,
    device: null,
    dir: scan.reference.dir,
  });
  return { outDir, phantomDir: phantom.dir, fullDoseDir: scan.reference.dir, lowDoseDir: scan.output.dir, dose, rows, reports };
}

async function meanNoise(dir: string): Promise<number> {
  const { series } = await scanPaths([dir]);
  const only: Series | undefined = series[0];
  if (!only) throw new LowdoseError('E_INTERNAL', `no series in ${dir}`);
  let sum = 0;
  for (let i = 0; i < only.slices.length; i++) sum += estimateNoise(await readSliceImage(only, i), { valueRange: SOFT_TISSUE_HU }).std;
  return sum / only.slices.length;
}

export function formatDemoTable(result: DemoResult): string {
  const header = ['', 'PSNR dB', 'SSIM', 'noise HU', 'ms/slice', 'device'];
  const body = result.rows.map((r) => [
    r.name,
    r.psnr === null ? '-' : r.psnr.toFixed(2),
    r.ssim === null ? '-' : r.ssim.toFixed(3),
    r.noise.toFixed(1),
    r.msPerSlice === null ? '-' : r.msPerSlice.toFixed(0),
    r.device ?? '-',
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((row) => row[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(header), ...body.map(line)].join('\n');
}

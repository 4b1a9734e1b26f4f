/**
 * The demo (`npm start` = `lowdose demo`): the toolkit's main job end to end on built-in data.
 * A body phantom is "scanned" at full dose and at a reduced dose with the CT physics, the
 * low-dose scan is denoised with the shipped model (and a classical filter, for comparison), and
 * both are scored against the full-dose scan.
 */
import path from 'node:path';
import { readdir, rm, stat } from 'node:fs/promises';
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

/** The top-level entries a demo writes into its output folder (`denoised-<method>` per classical method). */
const isDemoEntry = (name: string) => name === 'phantom' || name === 'scans' || name === 'denoised' || name.startsWith('denoised-');

/**
 * Empties `outDir` of an earlier demo's output. Anything else there (a file as `-o`, a folder
 * holding other entries: `-o .`, `-o ~`) is refused with E_EXISTS: `-o` must never delete data
 * the demo did not write, and it used to remove whatever path it was given.
 */
async function clearPreviousDemo(outDir: string): Promise<void> {
  let entries: string[];
  try {
    if (!(await stat(outDir)).isDirectory()) {
      throw new LowdoseError('E_EXISTS', `${outDir} is a file; the demo writes a folder there: choose another -o`, { path: outDir });
    }
    entries = await readdir(outDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const foreign = entries.filter((name) => !isDemoEntry(name));
  if (foreign.length > 0) {
    const shown = foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? `, ... (${foreign.length} entries)` : '');
    throw new LowdoseError(
      'E_EXISTS',
      `${outDir} holds ${shown}, which the demo did not write; it replaces its output folder on each run, so give it a new or empty folder (-o)`,
      { path: outDir },
    );
  }
  for (const name of entries) await rm(path.join(outDir, name), { recursive: true, force: true });
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const log = options.log ?? (() => {});
  const outDir = path.resolve(options.outDir);
  const dose = options.dose ?? 0.25;
  const seed = options.seed ?? 1;
  // Each run starts clean, but removes only what an earlier demo wrote there.
  await clearPreviousDemo(outDir);

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

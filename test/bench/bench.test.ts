import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatBenchReport, runBench, syntheticSlice, type BenchReport } from '../../src/bench/index.js';
import { runCli } from '../helpers/cli.js';

const FIXTURE_MODELS = path.resolve(import.meta.dirname, '../fixtures-models');
const PER_PIXEL = path.join(FIXTURE_MODELS, 'per-pixel.json');
const empty = mkdtempSync(path.join(os.tmpdir(), 'lowdose-bench-'));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

describe('lowdose bench', () => {
  it('reports the contract fields for the headline configuration and one run per steps x batch', async () => {
    const run = await runCli('bench', '--model', PER_PIXEL, '--size', '32', '--steps', '1,2', '--batch', '2',
      '--repeats', '1', '--device', 'cpu,cuda', '--json');
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as BenchReport;
    // CONTRACT: { device, model, size: [rows, cols], steps, msPerSlice, slicesPerSecond, peakRssMb }
    expect(report.device).toBe('cpu');
    expect(report.model).toBe('per-pixel');
    expect(report.size).toEqual([32, 32]);
    expect(report.steps).toBe(20); // the card's default steps, always added: the headline configuration
    expect(report.batch).toBe(1);
    expect(report.texture).toBe('smooth');
    expect(report.msPerSlice).toBeGreaterThan(0);
    expect((report.slicesPerSecond * report.msPerSlice) / 1000).toBeCloseTo(1, 2); // both rounded for the report
    expect(report.peakRssMb).toBeGreaterThan(10);
    // batch 1 is always added; steps 1, 2 and the card's 20.
    expect(report.runs.map((r) => [r.batch, r.steps])).toEqual([[1, 1], [1, 2], [1, 20], [2, 1], [2, 2], [2, 20]]);
    for (const r of report.runs) {
      expect(r).toMatchObject({ model: 'per-pixel', modality: 'CT', device: 'cpu', size: [32, 32], sampler: 'ddim', repeats: 1 });
      expect(r.modelMsPerSlice).toBeLessThanOrEqual(r.msPerSlice);
      expect(r.totalOverModel).toBeGreaterThanOrEqual(1);
      expect(r.modelCalls).toBe(r.steps);
      // The work outside the network, in wall time and (on Linux, which has a per-thread clock) main-thread CPU time.
      expect(r.engineMsPerSlice).toBeGreaterThanOrEqual(0);
      expect(r.engineMsPerSlice).toBeLessThanOrEqual(r.msPerSlice);
      // Measured on Linux; at 32 x 32 one run's share can round to 0.00 ms (checked over all runs below).
      if (process.platform === 'linux') expect(r.engineCpuMsPerSlice).toBeGreaterThanOrEqual(0);
      // Two batches in flight with the network on its worker thread, as denoise runs it: the
      // network waited between passes for no more than the whole run took.
      expect(r.pipelinedMsPerSlice).toBeGreaterThan(0);
      expect(r.networkIdleMsPerSlice).toBeGreaterThanOrEqual(0);
      expect(r.networkIdleMsPerSlice).toBeLessThanOrEqual(r.pipelinedMsPerSlice);
      if (process.platform === 'linux') expect(r.networkThreadCpuMsPerSlice).toBeGreaterThanOrEqual(0);
      expect(r.processPeakRssMb).toBeGreaterThanOrEqual(r.peakRssMb - 1);
    }
    expect(report.networkThread).toBe('worker');
    expect(report.machine.cpus).toBeGreaterThan(0);
    // The engine's CPU clock reads something: the 20-step runs do measurable work outside the network.
    if (process.platform === 'linux') expect(Math.max(...report.runs.map((r) => r.engineCpuMsPerSlice ?? 0))).toBeGreaterThan(0);
    expect(report.machine.node).toBe(process.version);
    // Each requested device is accounted for: cuda either ran or says why not.
    const cuda = report.devices.find((d) => d.requested === 'cuda')!;
    expect(cuda.used === 'cuda' || /cuda/i.test(cuda.reason ?? '')).toBe(true);
    expect(report.devices.find((d) => d.requested === 'cpu')!.used).toBe('cpu');
  });

  it('times the full-dose texture post-step with the rest when asked, and rejects an unknown texture', async () => {
    const report = await runBench({ models: [PER_PIXEL], size: 16, steps: [1], batches: [1], devices: ['cpu'], repeats: 1, texture: 'full-dose' });
    expect(report.texture).toBe('full-dose');
    expect(report.runs.every((r) => r.msPerSlice > 0)).toBe(true);
    const bad = await runCli('bench', '--model', PER_PIXEL, '--texture', 'grainy');
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringMatching(/--texture must be one of smooth, full-dose/)]);
  });

  it('prints a table row per configuration', async () => {
    const report = await runBench({ models: [PER_PIXEL], size: 16, steps: [1], batches: [1], repeats: 1, devices: ['cpu'] });
    const text = formatBenchReport(report);
    const rows = text.split('\n').filter((line) => line.startsWith('per-pixel  cpu'));
    expect(rows).toHaveLength(report.runs.length);
    expect(report.runs.map((r) => r.steps)).toEqual([1, 20]);
  });

  it('labels its memory in MiB, the unit its numbers are in (2^20 bytes, as getrusage / 1024)', async () => {
    const report = await runBench({ models: [PER_PIXEL], size: 16, steps: [1], batches: [1], repeats: 1, devices: ['cpu'] });
    // The process's high-water mark: getrusage's kbytes (KiB) / 1024, never / 1000 (5 % more).
    const maxRssMiB = process.resourceUsage().maxRSS / 1024;
    const run = report.runs[0]!;
    expect(run.processPeakRssMb).toBeGreaterThan(0.9 * maxRssMiB);
    expect(run.processPeakRssMb).toBeLessThanOrEqual(maxRssMiB + 0.05);
    expect(report.machine.memoryMb).toBe(Math.round(os.totalmem() / 2 ** 20));
    const text = formatBenchReport(report);
    expect(text).toMatch(/CPUs, \d+ MiB, /);
    expect(text).toMatch(/peak RSS MiB/);
    expect(text).toMatch(/peak RSS [\d.]+ MiB$/);
    expect(text).not.toMatch(/\bMB\b/);
  });

  it('skips shipped models that are not installed, and fails when nothing is left', async () => {
    await expect(runBench({ modelsDir: empty, repeats: 1 })).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    await expect(runBench({ models: ['no-such-model'], modelsDir: empty })).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
  });

  it('makes PET input in SUVbw: IEC background 1, hot spheres 4', () => {
    const slice = syntheticSlice('PT', 128);
    expect(slice.units).toBe('SUVbw');
    const values = Array.from(slice.image);
    expect(Math.max(...values)).toBeCloseTo(4, 3);
    const centre = slice.image[64 * 128 + 64]!; // the lung insert is cold; the ring between it and the spheres is background
    expect(centre).toBeLessThan(1);
    expect(values.filter((v) => Math.abs(v - 1) < 1e-3).length).toBeGreaterThan(1000);
  });

  it('rejects bad lists as usage errors', async () => {
    const run = await runCli('bench', '--model', PER_PIXEL, '--steps', '1,x', '--json');
    expect(run.code).toBe(2);
    // --json: the thrown usage error is the machine output (docs/contract.md "Every command")
    expect(JSON.parse(run.stdout)).toEqual({ errors: [expect.objectContaining({ code: 'E_USAGE' })] });
  });
});

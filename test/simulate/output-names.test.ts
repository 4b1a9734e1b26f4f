/**
 * `simulate` names its output folders after the run's CT mode, dose and seed: runs with another
 * seed, dose or mode into one `-o` sit side by side (each its own series), while the same settings
 * again find their own folder and are refused with E_EXISTS unless `--overwrite`.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { generateWater } from '../../src/phantoms/water.js';
import { runSettingsName, runSimulate, type SimulateOptions } from '../../src/pipeline/simulate.js';
import { runCli } from '../helpers/cli.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-simulate-names-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('simulate output folder names', () => {
  test('runs with another seed, dose or mode into one -o coexist; the same settings again are E_EXISTS unless --overwrite', async () => {
    const input = path.join(root, 'water');
    await writeVolumeSeries(generateWater({ size: 64, slices: 1, fov: 250 }).volume, input, { uidSeed: 'simulate-names' });
    const out = path.join(root, 'out');
    const run = (options: Partial<SimulateOptions>) => runSimulate([input], { dose: 0.25, outDir: out, seed: 1, workers: 1, i0: 100000, ...options });

    const runs = [await run({}), await run({ seed: 2 }), await run({ dose: 0.1, seed: 2 }), await run({ mode: 'truth', seed: 2, withReference: true })];
    for (const { exitCode, result } of runs) {
      expect(exitCode).toBe(0);
      expect(result.errors).toEqual([]);
    }
    const outputs = runs.map(({ result }) => path.basename(result.series[0]!.output.dir));
    expect(new Set(outputs).size).toBe(4);
    expect(new Set(runs.map(({ result }) => result.series[0]!.output.seriesInstanceUid)).size).toBe(4);
    const reference = runs[3]!.result.series[0]!.reference!;
    expect(path.basename(reference.dir)).toBe(`${outputs[3]}_fulldose`);
    expect(readdirSync(out).sort()).toEqual([...outputs, path.basename(reference.dir)].sort());
    // --i0 is not insertion's default (auto), so it is named too.
    expect(outputs[0]).toMatch(/_insert_dose25pct_seed1_i0-100000$/);
    expect(outputs[1]).toMatch(/_insert_dose25pct_seed2_i0-100000$/);

    // The same settings again: the folder is its own; refused, then replaced with --overwrite.
    await expect(run({ seed: 2 })).rejects.toMatchObject({ code: 'E_EXISTS' });
    const again = await run({ seed: 2, overwrite: true });
    expect(again.exitCode).toBe(0);
    expect(again.result.series[0]!.output.dir).toBe(runs[1]!.result.series[0]!.output.dir);
  });

  test('runs differing only in --kernel, --i0, --tcm, --bowtie or --electronic-noise coexist; a default given explicitly is the default run', async () => {
    const input = path.join(root, 'water-settings');
    await writeVolumeSeries(generateWater({ size: 64, slices: 1, fov: 250 }).volume, input, { uidSeed: 'simulate-names-settings' });
    const out = path.join(root, 'out-settings');
    const run = (options: Partial<SimulateOptions>) => runSimulate([input], { dose: 0.25, outDir: out, seed: 1, workers: 1, mode: 'truth', ...options });
    const variants: Array<Partial<SimulateOptions>> = [{}, { kernel: 'sharp' }, { i0: 50000 }, { tcm: 0 }, { bowtie: 'head' }, { electronicNoise: 10 }, { kernel: 'sharp', cutoff: 0.5 }];
    const runs = [];
    for (const variant of variants) runs.push(await run(variant));
    for (const { exitCode, result } of runs) {
      expect(exitCode).toBe(0);
      expect(result.errors).toEqual([]);
    }
    const outputs = runs.map(({ result }) => path.basename(result.series[0]!.output.dir));
    expect(new Set(outputs).size).toBe(variants.length);
    expect(readdirSync(out).sort()).toEqual([...outputs].sort());
    expect(outputs[0]).toMatch(/_truth_dose25pct_seed1$/);
    expect(outputs.slice(1).map((name) => name.slice(outputs[0]!.length))).toEqual([
      '_kernel-sharp',
      '_i0-50000',
      '_tcm-0',
      '_bowtie-head',
      '_enoise-10',
      '_kernel-sharp_cutoff-0.5',
    ]);
    // Each default named explicitly is the default run again: its folder, so E_EXISTS.
    await expect(run({ i0: 100000, tcm: 0.5, bowtie: 'body', electronicNoise: 5, kernel: 'auto' })).rejects.toMatchObject({ code: 'E_EXISTS' });
  });

  test.each([
    { case: 'no ConvolutionKernel (auto: standard)', convolutionKernel: undefined, same: 'standard', other: 'sharp' },
    { case: 'ConvolutionKernel B30f (auto: siemens-b30f)', convolutionKernel: 'B30f', same: 'siemens-b30f', other: 'standard' },
  ])('a --kernel that resolves to what auto picks writes the auto run: same folder name, UIDs and bytes ($case)', async ({ convolutionKernel, same, other }) => {
    const name = `water-kernel-${same}`;
    const input = path.join(root, name);
    await writeVolumeSeries(generateWater({ size: 64, slices: 2, fov: 250 }).volume, input, { uidSeed: name, ...(convolutionKernel ? { convolutionKernel } : {}) });
    const run = async (out: string, kernel?: string) => {
      const args = ['simulate', input, '-o', path.join(root, `${name}-${out}`), '--dose', '0.25', '--seed', '3', '--workers', '1', '--mode', 'truth', '--json'];
      const { code, stdout } = await runCli(...args, ...(kernel ? ['--kernel', kernel] : []));
      expect(code).toBe(0);
      return (JSON.parse(stdout) as { series: Array<{ output: { seriesInstanceUid: string; dir: string; files: string[] } }> }).series[0]!.output;
    };
    const auto = await run('auto');
    const explicitAuto = await run('explicit-auto', 'auto');
    const resolved = await run('resolved', same);
    const sharper = await run('other', other);
    for (const output of [explicitAuto, resolved]) {
      expect(path.basename(output.dir)).toBe(path.basename(auto.dir));
      expect(output.seriesInstanceUid).toBe(auto.seriesInstanceUid);
      expect(output.files.map((file) => readFileSync(file))).toEqual(auto.files.map((file) => readFileSync(file)));
    }
    expect(path.basename(sharper.dir)).toBe(`${path.basename(auto.dir)}_kernel-${other}`);
    expect(sharper.seriesInstanceUid).not.toBe(auto.seriesInstanceUid);
  });

  test("CT folder names leave out a kernel or cutoff that is the series' auto kernel's", () => {
    const base = { dose: 0.25, outDir: 'out' } as const;
    expect(runSettingsName('CT', { ...base, kernel: 'standard' })).toBe('');
    expect(runSettingsName('CT', { ...base, cutoff: 0.55 })).toBe('');
    expect(runSettingsName('CT', { ...base, kernel: 'hann', cutoff: 0.55 })).toBe('');
    expect(runSettingsName('CT', { ...base, kernel: 'siemens-b30f' }, 'B30f')).toBe('');
    expect(runSettingsName('CT', { ...base, kernel: 'standard' }, 'B30f')).toBe('_kernel-standard');
    expect(runSettingsName('CT', { ...base, kernel: 'sharp', cutoff: 0.7 })).toBe('_kernel-sharp');
    expect(runSettingsName('CT', { ...base, kernel: 'sharp', cutoff: 0.5 })).toBe('_kernel-sharp_cutoff-0.5');
    expect(runSettingsName('CT', { ...base, cutoff: 0.5 }, 'B30f')).toBe('_cutoff-0.5');
    expect(runSettingsName('CT', { ...base, cutoff: 0.5 })).toBe('_cutoff-0.5');
    expect(runSettingsName('CT', { ...base, kernel: 'auto', cutoff: 0.4 }, 'B30f')).toBe('');
  });

  test('PET folder names carry non-default OSEM settings and no CT setting', () => {
    const base = { dose: 0.25, outDir: 'out' } as const;
    expect(runSettingsName('PT', { ...base, kernel: 'sharp', i0: 5000, tcm: 0 })).toBe('');
    expect(runSettingsName('PT', { ...base, iterations: 3, subsets: 12, postFilterMm: 4 })).toBe('');
    expect(runSettingsName('PT', { ...base, iterations: 4, subsets: 8, postFilterMm: 6 })).toBe('_iterations-4_subsets-8_postfilter-6mm');
    expect(runSettingsName('CT', { ...base, iterations: 4 })).toBe('');
  });

  test('the CLI: --seed 2 after --seed 1 into the same -o exits 0; --seed 1 again exits 2 with E_EXISTS', async () => {
    const input = path.join(root, 'water-cli');
    await writeVolumeSeries(generateWater({ size: 64, slices: 1, fov: 250 }).volume, input, { uidSeed: 'simulate-names-cli' });
    const out = path.join(root, 'out-cli');
    const simulate = (seed: string) => runCli('simulate', input, '--dose', '0.25', '-o', out, '--seed', seed, '--i0', '100000', '--workers', '1', '--json');
    const first = await simulate('1');
    expect(first.code, first.stderr).toBe(0);
    const second = await simulate('2');
    expect(second.code, second.stderr).toBe(0);
    expect(readdirSync(out)).toHaveLength(2);
    const repeat = await simulate('1');
    expect(repeat.code).toBe(2);
    expect(repeat.stderr).toMatch(/already exists.*--overwrite.*\[E_EXISTS\]/);
  });
});

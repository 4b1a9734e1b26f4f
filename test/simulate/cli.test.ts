import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { runSimulate } from '../../src/pipeline/simulate.js';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { generateIec } from '../../src/phantoms/iec.js';
import { generateWater } from '../../src/phantoms/water.js';
import { circleStats, sameBytes } from './helpers.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-simulate-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function onlySeries(dir: string) {
  const scan = await scanPaths([dir]);
  expect(scan.errors).toEqual([]);
  expect(scan.series).toHaveLength(1);
  return scan.series[0]!;
}

describe('lowdose simulate', () => {
  test('writes a reduced-dose CT series with the added noise, reproducibly per seed', async () => {
    const input = path.join(root, 'water');
    await writeVolumeSeries(generateWater({ size: 128, slices: 2, fov: 250 }).volume, input, { uidSeed: 'water' });
    const source = await onlySeries(input);
    const run = (out: string, seed: number, workers = 1) => runSimulate([input], { dose: 0.25, outDir: path.join(root, out), seed, workers });

    const { result, exitCode } = await run('a', 7, 2);
    expect(exitCode).toBe(0);
    expect(result.errors).toEqual([]);
    expect(result.series).toHaveLength(1);
    const entry = result.series[0]!;
    expect(entry.mode).toBe('ct-insert');
    expect(entry.output.files).toHaveLength(2);
    // A noise-free phantom has no noise to calibrate against: the default photon count is used, with a warning.
    expect(entry.settings.i0).toBe(100000);
    expect(entry.warnings.join(' ')).toMatch(/calibration failed/);
    expect(entry.output.seriesInstanceUid).not.toBe(source.seriesInstanceUid);

    const written = await onlySeries(entry.output.dir);
    expect(written.modality).toBe('CT');
    expect(written.seriesInstanceUid).toBe(entry.output.seriesInstanceUid);
    const before = await readSliceImage(source, 0);
    const after = await readSliceImage(written, 0);
    // The phantom is noise-free: what the copy shows in the water is the inserted noise.
    expect(circleStats(before, 0, 0, 60).std).toBeLessThan(0.5);
    expect(circleStats(after, 0, 0, 60).std).toBeGreaterThan(10);
    expect(Math.abs(circleStats(after, 0, 0, 60).mean)).toBeLessThan(3);

    const again = await run('b', 7);
    const other = await run('c', 8);
    const a1 = await readSliceImage(await onlySeries(again.result.series[0]!.output.dir), 1);
    const b1 = await readSliceImage(written, 1);
    const c1 = await readSliceImage(await onlySeries(other.result.series[0]!.output.dir), 1);
    expect(sameBytes(a1.data, b1.data)).toBe(true);
    expect(sameBytes(a1.data, c1.data)).toBe(false);

    // A second run into the same directory refuses to overwrite.
    await expect(run('a', 7)).rejects.toMatchObject({ code: 'E_EXISTS' });
  });

  test('truth mode with --with-reference writes the low-dose and the matched full-dose series', async () => {
    const input = path.join(root, 'water-truth');
    await writeVolumeSeries(generateWater({ size: 128, slices: 1, fov: 250 }).volume, input, { uidSeed: 'truth' });
    const { result, exitCode } = await runSimulate([input], { dose: 0.25, outDir: path.join(root, 'truth'), mode: 'truth', withReference: true, workers: 1 });
    expect(exitCode).toBe(0);
    const entry = result.series[0]!;
    expect(entry.mode).toBe('ct-truth');
    expect(entry.reference?.files).toHaveLength(1);
    const low = await readSliceImage(await onlySeries(entry.output.dir), 0);
    const full = await readSliceImage(await onlySeries(entry.reference!.dir), 0);
    const ratio = circleStats(low, 0, 0, 60).std / circleStats(full, 0, 0, 60).std;
    expect(ratio).toBeGreaterThan(1.8);
    expect(ratio).toBeLessThan(2.2);
  });

  test('re-simulates a PET series in its own units (SUVbw) with a full-count reference', async () => {
    const input = path.join(root, 'iec');
    const options = { size: 64, slices: 2, spacing: 3, fov: 350 };
    await writeVolumeSeries(generateIec(options).volume, input, { uidSeed: 'iec' });
    const source = await onlySeries(input);
    const { result, exitCode } = await runSimulate([input], { dose: 0.5, outDir: path.join(root, 'pet'), withReference: true, seed: 3 });
    expect(exitCode).toBe(0);
    const entry = result.series[0]!;
    expect(entry.mode).toBe('pet');
    const written = await onlySeries(entry.output.dir);
    expect(written.units).toBe(source.units);
    const before = await readSliceImage(source, 1);
    const after = await readSliceImage(await onlySeries(entry.reference!.dir), 1);
    // Background (SUV 1 by construction) stays near 1 after re-simulation at full counts.
    const b = circleStats(before, 0, -110, 20).mean;
    const a = circleStats(after, 0, -110, 20).mean;
    expect(Math.abs(a / b - 1)).toBeLessThan(0.15);
  });

  test('--tcm and --bowtie-strength reach the CT physics and its settings; out-of-range values are usage errors', async () => {
    const input = path.join(root, 'water-physics');
    await writeVolumeSeries(generateWater({ size: 128, slices: 1, fov: 250 }).volume, input, { uidSeed: 'physics' });
    const run = async (out: string, extra: { tcm?: number; bowtieStrength?: number }) => {
      const { result } = await runSimulate([input], { dose: 0.25, outDir: path.join(root, out), mode: 'truth', i0: 1e5, workers: 1, ...extra });
      const entry = result.series[0]!;
      return { settings: entry.settings, image: await readSliceImage(await onlySeries(entry.output.dir), 0) };
    };
    const defaults = await run('physics-default', {});
    expect(defaults.settings).toMatchObject({ bowtie: 'body', bowtieStrength: 0.5, tcm: 0.5 });
    const flat = await run('physics-flat', { tcm: 0, bowtieStrength: 0 });
    const strong = await run('physics-strong', { tcm: 0, bowtieStrength: 1 });
    expect(strong.settings).toMatchObject({ bowtieStrength: 1, tcm: 0 });
    // A bowtie takes photons from the off-centre rays: more noise near the water's edge (the 20 cm
    // phantom sits where the 32 cm body bowtie is still thin, so the effect is modest: measured
    // +10 % SD from strength 0 to 1).
    const edge = (image: typeof strong.image) => Math.hypot(...[[70, 0], [0, 70], [-70, 0], [0, -70]].map(([x, y]) => circleStats(image, x!, y!, 15).std)) / 2;
    expect(edge(strong.image)).toBeGreaterThan(edge(flat.image) * 1.05);
    await expect(runSimulate([input], { dose: 0.25, outDir: path.join(root, 'bad'), tcm: 2 })).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(runSimulate([input], { dose: 0.25, outDir: path.join(root, 'bad'), bowtieStrength: -0.1 })).rejects.toMatchObject({ code: 'E_USAGE' });
  });

  test('exits 2 when there is no CT or PET series', async () => {
    const empty = path.join(root, 'empty');
    const { exitCode, result } = await runSimulate([empty], { dose: 0.5, outDir: path.join(root, 'none') });
    expect(exitCode).toBe(2);
    expect(result.series).toEqual([]);
  });
});

/**
 * A `simulate` rerun into the folder of an earlier run with the same settings never leaves a mix
 * of the earlier run's slices and its own in one series: without --overwrite it is refused
 * (E_EXISTS), with --overwrite the earlier series' files are removed before writing, so a series
 * with fewer slices now, or a run that stops half way, leaves none of the earlier slices behind.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import dicomParser from 'dicom-parser';
import { afterAll, describe, expect, test } from 'vitest';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import type { Volume } from '../../src/image.js';
import { generateWater } from '../../src/phantoms/water.js';
import { seriesFileNames } from '../../src/pipeline/earlier-series-files.js';
import { runSimulate, type SimulateOptions } from '../../src/pipeline/simulate.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-simulate-rerun-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A 4-slice water phantom written with fixed UIDs; `offsetHu` changes its pixels, not its UIDs. */
async function writeInput(dir: string, offsetHu = 0): Promise<string[]> {
  const volume = generateWater({ size: 48, slices: 4, fov: 250 }).volume;
  const shifted: Volume = { ...volume, slices: volume.slices.map((s) => Float32Array.from(s, (v) => v + offsetHu)) };
  rmSync(dir, { recursive: true, force: true });
  await writeVolumeSeries(shifted, dir, { uidSeed: `simulate-rerun-${path.basename(dir)}` });
  return readdirSync(dir)
    .filter((name) => name.endsWith('.dcm'))
    .sort()
    .map((name) => path.join(dir, name));
}

const seriesUid = (file: string) => dicomParser.parseDicom(readFileSync(file)).string('x0020000e');
const listed = (dir: string) => readdirSync(dir).filter((name) => name.endsWith('.dcm')).sort().map((name) => path.join(dir, name));

describe('simulate rerun into the same -o', () => {
  test('with --overwrite and fewer slices now, each output folder holds this run\'s slices only, one series', async () => {
    const input = path.join(root, 'fewer');
    const files = await writeInput(input);
    const out = path.join(root, 'out-fewer');
    const run = (options: Partial<SimulateOptions>) => runSimulate([input], { dose: 0.25, outDir: out, seed: 3, workers: 1, mode: 'truth', withReference: true, ...options });
    const first = (await run({})).result.series[0]!;
    expect(first.output.files).toHaveLength(4);

    unlinkSync(files[3]!);
    const { exitCode, result } = await run({ overwrite: true });
    expect(exitCode).toBe(0);
    const again = result.series[0]!;
    for (const [written, earlier] of [[again.output, first.output], [again.reference!, first.reference!]] as const) {
      expect(written.dir).toBe(earlier.dir);
      expect(written.files).toHaveLength(3);
      // No fourth slice of the earlier run beside the three of this one.
      expect(listed(written.dir)).toEqual(written.files);
      for (const file of listed(written.dir)) expect(seriesUid(file)).toBe(written.seriesInstanceUid);
    }

    // The same settings again without --overwrite: refused, naming what the folder holds.
    await expect(run({})).rejects.toMatchObject({ code: 'E_EXISTS', message: expect.stringMatching(/holds 3 file\(s\) of this series from an earlier run .*--overwrite/) });
  });

  test('a --overwrite run that stops half way leaves none of the earlier run\'s slices, made from the input as it was', async () => {
    const input = path.join(root, 'stopped');
    await writeInput(input);
    const out = path.join(root, 'out-stopped');
    const options: SimulateOptions = { dose: 0.25, outDir: out, seed: 4, workers: 1, mode: 'truth', i0: 50000 };
    const first = (await runSimulate([input], options)).result.series[0]!;
    const earlier = new Set(first.output.files.map((file) => readFileSync(file).toString('base64')));

    // The input corrected (other pixels, the same UIDs); its last slice cannot be read once the run
    // has scanned the series, so the run stops after writing the first slices.
    const files = await writeInput(input, 20);
    const { exitCode, result } = await runSimulate([input], {
      ...options,
      overwrite: true,
      progress: (message) => {
        if (message.startsWith('simulating')) truncateSync(files[3]!, 600);
      },
    });
    expect(exitCode).not.toBe(0);
    expect(result.series).toEqual([]);
    expect(result.errors).toHaveLength(1);
    const left = listed(first.output.dir);
    expect(left.length).toBeGreaterThan(0);
    expect(left.length).toBeLessThan(4);
    for (const file of left) expect(earlier.has(readFileSync(file).toString('base64'))).toBe(false);
  });

  test('without --overwrite, a run over two series of which an earlier run wrote one is refused before it writes the other', async () => {
    const first = path.join(root, 'two-a');
    const second = path.join(root, 'two-b');
    await writeInput(first);
    await writeInput(second, 10);
    const out = path.join(root, 'out-two');
    const options: SimulateOptions = { dose: 0.25, outDir: out, seed: 5, workers: 1, mode: 'truth', i0: 50000 };
    // The earlier run wrote the series this run takes second (series are taken in scan order).
    const earlier = (await runSimulate([second], options)).result.series[0]!;
    const before = readdirSync(out).sort();
    expect(before).toHaveLength(1);

    await expect(runSimulate([first, second], options)).rejects.toMatchObject({ code: 'E_EXISTS', message: expect.stringContaining(earlier.output.dir) });
    // The other series' folder was not made: the folder is as the earlier run left it.
    expect(readdirSync(out).sort()).toEqual(before);
  });

  test('a series\' own files are those of its prefix at any index; another frame\'s, temporaries and other files are not', () => {
    const names = ['IM0001.dcm', 'IM12345.dcm', 't01-IM0001.dcm', 't02-IM0001.dcm', 't01-REF0001.dcm', '.IM0001.dcm.0a1b2c3d.tmp', 'IM001.dcm', 'notes.txt', '.lowdose.lock'];
    expect(seriesFileNames(names, 'IM')).toEqual(['IM0001.dcm', 'IM12345.dcm']);
    expect(seriesFileNames(names, 't01-IM')).toEqual(['t01-IM0001.dcm']);
    expect(seriesFileNames(names, 'REF')).toEqual([]);
  });
});

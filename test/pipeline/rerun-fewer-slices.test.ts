/**
 * A `denoise` rerun that redoes a series (with --overwrite, or after a run that stopped before its
 * completion marker) leaves only this run's slices in the series' folder: a series with fewer
 * slices now (a slice removed from the input) kept the earlier run's last slice beside the new
 * ones, under another SeriesInstanceUID, with a marker listing fewer files than the folder held.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import dicomParser from 'dicom-parser';
import { afterAll, describe, expect, test } from 'vitest';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { generateWater } from '../../src/phantoms/water.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { COMPLETION_MARKER } from '../../src/pipeline/frame-output.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-denoise-fewer-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A 4-slice water phantom with fixed UIDs; returns its files in order. */
async function writeInput(dir: string): Promise<string[]> {
  await writeVolumeSeries(generateWater({ size: 48, slices: 4, fov: 250 }).volume, dir, { uidSeed: `denoise-fewer-${path.basename(dir)}` });
  return readdirSync(dir)
    .filter((name) => name.endsWith('.dcm'))
    .sort()
    .map((name) => path.join(dir, name));
}

const dicomFiles = (dir: string) => readdirSync(dir).filter((name) => name.endsWith('.dcm')).sort().map((name) => path.join(dir, name));
const seriesUid = (file: string) => dicomParser.parseDicom(readFileSync(file)).string('x0020000e');

describe('denoise redoing a series that has fewer slices now', () => {
  test.each([
    ['--overwrite', true],
    ['a run that stopped before its completion marker', false],
  ])('after %s, the folder holds this run\'s slices only, one series, as its marker lists', async (label, overwrite) => {
    const input = path.join(root, `in-${overwrite}`);
    const files = await writeInput(input);
    const out = path.join(root, `out-${overwrite}`);
    const run = (again: boolean) => denoisePaths([input], { method: 'gaussian', outDir: out, overwrite: again && overwrite, log: () => {} });
    const first = (await run(false)).series[0]!;
    expect(first.output!.files).toHaveLength(4);
    if (!overwrite) rmSync(path.join(first.output!.dir, COMPLETION_MARKER)); // as a killed run leaves it

    unlinkSync(files[3]!);
    const again = (await run(true)).series[0]!;
    expect(again.skipped, label).toBeFalsy();
    expect(again.output!.files).toHaveLength(3);
    expect(dicomFiles(again.output!.dir)).toEqual([...again.output!.files].sort());
    for (const file of dicomFiles(again.output!.dir)) expect(seriesUid(file)).toBe(again.output!.seriesInstanceUid);
  });
});

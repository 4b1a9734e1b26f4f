/**
 * The server's data index grows without rescans: an upload or a finished job adds its folder, and
 * only that folder is read; the series already indexed keep their header facts.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanPaths } from '../../src/dicom/index.js';
import { runPhantom } from '../../src/pipeline/phantom.js';
import { DataIndex, type ScanFunction } from '../../src/server/data/data-index.js';
import { writeFixtureStudy } from './fixture-study.js';

let root: string;
let spare: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'lowdose-index-'));
  spare = await mkdtemp(path.join(os.tmpdir(), 'lowdose-index-spare-'));
  await writeFixtureStudy(path.join(root, 'study'), { denoised: 'none', size: 32, slices: 3 });
  // A series written outside the data folder, to be "uploaded" into it later, whole or in parts.
  await runPhantom('water', { outDir: path.join(spare, 'water'), size: 32, slices: 4, uidSeed: 'data-index-test' });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(spare, { recursive: true, force: true });
});

/** scanPaths, recording what each call read. */
function countingScan(): { scan: ScanFunction; calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    scan: (paths, options) => {
      calls.push([...paths]);
      return scanPaths(paths, options);
    },
  };
}

describe('the data index', () => {
  it('adds an uploaded folder by reading only that folder, keeping what it had', async () => {
    const { scan, calls } = countingScan();
    const index = new DataIndex([root], undefined, scan);
    await index.refresh();
    expect(calls).toEqual([[root]]);
    const before = index.studies().studies.flatMap((s) => s.series);
    expect(before).toHaveLength(2);
    const kept = index.series(before[0]!.id);

    const upload = path.join(root, 'uploads', 'u1');
    await cp(path.join(spare, 'water'), upload, { recursive: true });
    calls.length = 0;
    await index.add([upload]);
    expect(calls).toEqual([[upload]]);
    const after = index.studies().studies.flatMap((s) => s.series);
    expect(after).toHaveLength(3);
    expect(index.seriesUnder(upload).map((s) => [s.modality, s.slices])).toEqual([['CT', 4]]);
    // The series indexed before are the same objects: their headers were not read again.
    expect(index.series(before[0]!.id)).toBe(kept);
  });

  it('reads a series again with all its files when a later folder holds more of its slices', async () => {
    const { scan, calls } = countingScan();
    const dataRoot = path.join(root, 'split');
    const index = new DataIndex([dataRoot], undefined, scan);
    const files = (await scanPaths([path.join(spare, 'water')])).series[0]!.slices.map((s) => s.file);
    await cp(files[0]!, path.join(dataRoot, 'a', path.basename(files[0]!)));
    await cp(files[1]!, path.join(dataRoot, 'a', path.basename(files[1]!)));
    await index.refresh();
    expect(index.studies().studies.flatMap((s) => s.series.map((x) => x.slices))).toEqual([2]);

    const later = path.join(dataRoot, 'b');
    for (const file of files.slice(2)) await cp(file, path.join(later, path.basename(file)));
    calls.length = 0;
    await index.add([later]);
    // The new folder, then the grown series' own files: never the whole data folder.
    expect(calls[0]).toEqual([later]);
    expect(calls.flat()).not.toContain(dataRoot);
    expect(index.studies().studies.flatMap((s) => s.series.map((x) => x.slices))).toEqual([4]);

    // A full rescan agrees with the index built step by step.
    const incremental = JSON.stringify(index.studies());
    await index.refresh();
    expect(JSON.stringify(index.studies())).toBe(incremental);
  });
});

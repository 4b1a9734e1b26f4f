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
import { writeJunkFolder } from '../helpers/junk-folder.js';
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

  it('scans with a capped list of unreadable files, counts them all, and still finds a report.json after more skipped files than the cap', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'lowdose-index-junk-'));
    try {
      // Walked before the study: 150 files named .dcm that are not DICOM (errors) and 150 .txt files (skipped).
      writeJunkFolder(path.join(folder, 'aaa', 'bad'), { notDicom: 150 });
      writeJunkFolder(path.join(folder, 'aaa', 'notes'), { notDicom: 150, extension: '.txt', seed: 2 });
      await writeFixtureStudy(path.join(folder, 'study'), { size: 32, slices: 3 });
      const answers: Array<{ errors: number; errorCount: number; skipped: number; skippedCount: number }> = [];
      const index = new DataIndex([folder], undefined, async (paths, options) => {
        const scan = await scanPaths(paths, options);
        answers.push({ errors: scan.errors.length, errorCount: scan.errorCount, skipped: scan.skipped.length, skippedCount: scan.skippedCount });
        return scan;
      });
      await index.refresh();
      expect(answers[0]).toMatchObject({ errors: 100, errorCount: 150 });
      // Of the skipped files (the 150 .txt, the study's report.json and its other files that are not DICOM)
      // 100 are listed, and the report.json whatever the cap: its links make the comparison's report.
      expect(answers[0]!.skipped).toBeLessThanOrEqual(101);
      expect(answers[0]!.skippedCount).toBeGreaterThan(150);
      expect(index.studies().unreadableFiles).toBe(150);
      const [comparison] = index.studies().studies.flatMap((s) => s.comparisons);
      expect(comparison).toBeDefined();
      expect(index.comparisonDetail(comparison!.id).report).not.toBeNull();
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('adding a folder of unreadable files lists the first 100 of a code and counts them all (the PACS open route\'s unreadableCount)', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'lowdose-index-add-junk-'));
    try {
      await writeFixtureStudy(path.join(folder, 'study'), { size: 32, slices: 3 });
      const index = new DataIndex([folder]);
      await index.refresh();
      writeJunkFolder(path.join(folder, 'pulled'), { notDicom: 150 });
      const { keys, errors, errorCount } = await index.addReading([path.join(folder, 'pulled')]);
      expect(keys).toEqual([]);
      expect(errors).toHaveLength(100);
      expect(errorCount).toBe(150);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

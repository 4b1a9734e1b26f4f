/**
 * `lowdose metrics --hallucination <dir>` on the IEC fixture (fixtures/iec: 4 slices of 3 mm,
 * dose25 against dose100) and partial copies of it: which slice a flagged patch names when the
 * test holds only some of the reference's slices, and what a run does with a folder that already
 * holds an earlier run's map. The paper's plain FRC on 16-pixel patches flags this 25 % dose in
 * many places (178 of 250 patches on slices 3 and 4), so there are flags to name.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanPaths } from '../../src/dicom/index.js';
import { runCli } from '../helpers/cli.js';

const IEC = path.resolve(import.meta.dirname, '../../fixtures/iec');
const REFERENCE = path.join(IEC, 'dose100');
const LOW = path.join(IEC, 'dose25');
const SFRC = ['--no-noise-compensation', '--patch-size', '16', '--stride', '8'];

let root: string;
let partial: string;

/** A folder holding links to the 25 % dose slices numbered `keep` (1-based, by name: IM0001 is the reference's REF0001's position). */
async function lowDoseSlices(name: string, keep: number[]): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir);
  const files = readdirSync(LOW).sort();
  for (const k of keep) symlinkSync(path.join(LOW, files[k - 1]!), path.join(dir, files[k - 1]!));
  return dir;
}

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'lowdose-hallucination-iec-'));
  partial = await lowDoseSlices('slices-3-4', [3, 4]);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Flag {
  slice: number;
  referenceSlice?: number;
  zMm: number;
}

describe('metrics --hallucination with a test that holds only some of the reference slices', () => {
  it("names each flagged patch's reference slice as the per-slice table does, beside the test slice its map file is", async () => {
    const run = await runCli('metrics', '--reference', REFERENCE, '--test', partial, '--hallucination', path.join(root, 'partial-json'), ...SFRC, '--json');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { slices: Array<{ index: number }>; hallucination: { flagged: Flag[]; map: { files: string[] } } };
    expect(result.slices.map((s) => s.index)).toEqual([2, 3]);
    const flagged = result.hallucination.flagged;
    expect(flagged.length).toBeGreaterThan(0);
    const reference = (await scanPaths([REFERENCE])).series[0]!;
    const test = (await scanPaths([partial])).series[0]!;
    for (const f of flagged) {
      // `slice` stays the test series' index (the map's own slices); `referenceSlice` is the table's.
      expect([0, 1]).toContain(f.slice);
      expect(f.referenceSlice).toBe(f.slice + 2);
      expect(f.zMm).toBeCloseTo(test.slices[f.slice]!.position![2], 2);
      expect(f.zMm).toBeCloseTo(reference.slices[f.referenceSlice!]!.position![2], 2);
    }
    expect(result.hallucination.map.files).toHaveLength(2);
  });

  it('prints the flagged patches with the slice numbers of the table above them', async () => {
    const run = await runCli('metrics', '--reference', REFERENCE, '--test', partial, '--hallucination', path.join(root, 'partial-text'), ...SFRC);
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    const table = lines.filter((l) => /^\s+\d+\s+\d/.test(l)).map((l) => Number(l.trim().split(/\s+/)[0]));
    expect(table).toEqual([2, 3]);
    const named = lines.filter((l) => /^ {2}slice /.test(l)).map((l) => Number(l.trim().split(/\s+/)[1]));
    expect(named.length).toBeGreaterThan(0);
    for (const n of named) expect(table).toContain(n);
  });
});

describe('metrics --hallucination into a folder that holds an earlier map', () => {
  /** The names in `dir`'s map/ and overlays/, and each file's bytes. */
  function contents(dir: string): Map<string, Buffer> {
    const files = new Map<string, Buffer>();
    for (const sub of ['map', 'overlays']) {
      for (const name of readdirSync(path.join(dir, sub)).sort()) files.set(`${sub}/${name}`, readFileSync(path.join(dir, sub, name)));
    }
    return files;
  }

  it('refuses with E_EXISTS naming the folder (exit 2) and leaves the earlier map as it was', async () => {
    const dir = path.join(root, 'refused');
    const first = await runCli('metrics', '--reference', REFERENCE, '--test', LOW, '--hallucination', dir, ...SFRC, '--json');
    expect(first.code).toBe(0);
    const before = contents(dir);
    expect(before.size).toBeGreaterThan(4);
    const again = await runCli('metrics', '--reference', REFERENCE, '--test', partial, '--hallucination', dir, ...SFRC, '--json');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('E_EXISTS');
    expect(again.stderr).toContain(path.join(dir, 'map'));
    expect(again.stderr).toMatch(/--overwrite/);
    expect(contents(dir)).toEqual(before);
  });

  it('with --overwrite replaces it: map/ then holds the new series alone, overlays/ the new overlays alone', async () => {
    const dir = path.join(root, 'replaced');
    const first = await runCli('metrics', '--reference', REFERENCE, '--test', LOW, '--hallucination', dir, ...SFRC, '--json');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout).hallucination.map.files).toHaveLength(4);
    const again = await runCli('metrics', '--reference', REFERENCE, '--test', partial, '--hallucination', dir, ...SFRC, '--overwrite', '--json');
    expect(again.code).toBe(0);
    const h = JSON.parse(again.stdout).hallucination as { map: { seriesInstanceUid: string; files: string[] }; overlays: string[] };
    const scan = await scanPaths([path.join(dir, 'map')]);
    expect(scan.series.map((s) => s.seriesInstanceUid)).toEqual([h.map.seriesInstanceUid]);
    expect(scan.series[0]!.slices).toHaveLength(2);
    // The new series' files and its completion marker, nothing of the earlier map.
    expect(readdirSync(path.join(dir, 'map')).map((n) => path.join(dir, 'map', n)).sort()).toEqual([...h.map.files, path.join(dir, 'map', '.lowdose-map.json')].sort());
    expect(readdirSync(path.join(dir, 'overlays')).map((n) => path.join(dir, 'overlays', n)).sort()).toEqual([...h.overlays].sort());
  });

  it('with --overwrite keeps the earlier map when the run is refused before it would write one (a test on another grid)', async () => {
    const dir = path.join(root, 'kept');
    expect((await runCli('metrics', '--reference', REFERENCE, '--test', LOW, '--hallucination', dir, ...SFRC)).code).toBe(0);
    const before = contents(dir);
    const otherGrid = path.resolve(import.meta.dirname, '../../fixtures/water/dose25');
    const refused = await runCli('metrics', '--reference', REFERENCE, '--test', otherGrid, '--hallucination', dir, ...SFRC, '--overwrite');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('E_USAGE');
    expect(contents(dir)).toEqual(before);
  });

  it('refuses --overwrite (exit 2) when the map folder holds the series being compared, and --overwrite without --hallucination', async () => {
    const dir = path.join(root, 'input-inside');
    await mkdir(path.join(dir, 'map'), { recursive: true });
    const files = readdirSync(LOW).sort();
    for (const f of files) symlinkSync(path.join(LOW, f), path.join(dir, 'map', f));
    const run = await runCli('metrics', '--reference', REFERENCE, '--test', path.join(dir, 'map'), '--hallucination', dir, ...SFRC, '--overwrite');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/holds an input file/);
    expect(readdirSync(path.join(dir, 'map')).sort()).toEqual(files);
    const bare = await runCli('metrics', '--reference', REFERENCE, '--test', LOW, '--overwrite');
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/need --hallucination/);
  });
});

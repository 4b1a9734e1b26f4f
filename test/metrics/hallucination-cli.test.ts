/** `lowdose metrics --hallucination <dir>` end to end on a real quarter / full-dose CT pair. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patientPosition } from '../../src/dicom/geometry.js';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import { runCli } from '../helpers/cli.js';

const MAYO = path.resolve(import.meta.dirname, '../../../shared/ldct-mayo/L192/B30f');

let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'lowdose-hallucination-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('metrics --hallucination', () => {
  it('writes the map as a DICOM series, overlays for flagged slices, and the CONTRACT fields in --json', async () => {
    const out = path.join(root, 'quarter');
    // The quarter-dose image itself, scored with the paper's plain FRC, is flagged in places: a real run with flags.
    const run = await runCli(
      'metrics', '--reference', path.join(MAYO, 'full'), '--test', path.join(MAYO, 'quarter'),
      '--hallucination', out, '--no-noise-compensation', '--patch-size', '64', '--stride', '64', '--json',
    );
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    const h = result.hallucination;
    const test = (await scanPaths([path.join(MAYO, 'quarter')])).series[0]!;
    expect(h.patchSizeMm).toBeCloseTo(64 * test.spacing[0], 1);
    expect(h.patches).toBeGreaterThan(100);
    expect(h.flagged.length).toBeGreaterThan(0);
    expect(h.noiseCompensation).toBe(false);
    for (const f of h.flagged) {
      expect(Object.keys(f)).toEqual(expect.arrayContaining(['slice', 'xMm', 'yMm', 'sizeMm', 'score']));
      expect(f.score).toBeLessThan(0.5);
      // The centre in patient coordinates is the patch's middle pixel, from the test series' geometry.
      const [x, y] = patientPosition(test, f.slice, f.row + 31.5, f.column + 31.5);
      expect(f.xMm).toBeCloseTo(x, 1);
      expect(f.yMm).toBeCloseTo(y, 1);
    }
    // The map: one derived slice per compared slice, values in [0, 1], 1 in the air.
    const map = (await scanPaths([h.map.dir])).series[0]!;
    expect(map.slices).toHaveLength(test.slices.length);
    expect(map.seriesInstanceUid).toBe(h.map.seriesInstanceUid);
    const first = await readSliceImage(map, h.flagged[0].slice);
    let min = Infinity;
    for (const v of first.data) min = Math.min(min, v);
    expect(min).toBeLessThan(0.5);
    expect(first.data[0]).toBeCloseTo(1, 3);
    const slicesWithFlags = new Set(h.flagged.map((f: { slice: number }) => f.slice));
    expect(h.overlays).toHaveLength(slicesWithFlags.size);
    for (const file of h.overlays) expect(existsSync(file)).toBe(true);
  });

  it('with the default (noise-compensated) settings, flags little of the real quarter-dose image', async () => {
    const run = await runCli('metrics', '--reference', path.join(MAYO, 'full'), '--test', path.join(MAYO, 'quarter'), '--hallucination', path.join(root, 'default'), '--json');
    expect(run.code).toBe(0);
    const h = JSON.parse(run.stdout).hallucination;
    expect(h.patchSize).toBe(32);
    expect(h.stride).toBe(16);
    // Measured 0.7 % (models/eval/sfrc-ct.md); the quarter dose is faithful, only noisier.
    expect(h.flaggedFraction).toBeLessThan(0.05);
  });

  it('names the overlays with absolute paths, as the map, when --hallucination is a relative folder', async () => {
    const relative = path.relative(process.cwd(), path.join(root, 'relative'));
    expect(path.isAbsolute(relative)).toBe(false);
    const run = await runCli(
      'metrics', '--reference', path.join(MAYO, 'full'), '--test', path.join(MAYO, 'quarter'),
      '--hallucination', relative, '--no-noise-compensation', '--patch-size', '64', '--stride', '64', '--json',
    );
    expect(run.code).toBe(0);
    const h = JSON.parse(run.stdout).hallucination;
    expect(h.overlays.length).toBeGreaterThan(0);
    expect(path.isAbsolute(h.map.dir)).toBe(true);
    for (const file of h.overlays) expect(file).toBe(path.resolve(relative, 'overlays', path.basename(file)));
  });

  it('refuses sFRC options without --hallucination, and a band with no ring (exit 2)', async () => {
    const a = await runCli('metrics', '--reference', path.join(MAYO, 'full'), '--test', path.join(MAYO, 'quarter'), '--patch-size', '32');
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/need --hallucination/);
    const b = await runCli('metrics', '--reference', path.join(MAYO, 'full'), '--test', path.join(MAYO, 'quarter'), '--hallucination', path.join(root, 'bad'), '--band', '0,0.05');
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/no judged ring/);
  });
});

/**
 * `metrics --hallucination <dir> --overwrite` replaces an earlier map only once the new one is
 * complete (src/util/staged-folders.ts): the new map is written beside it in a hidden folder, so a
 * run that fails after it began writing leaves the earlier map/ and overlays/ as they were, and
 * what a killed run left there is settled by the next run. On the IEC fixture (fixtures/iec,
 * dose25 against dose100) and copies of its 25 % dose slices that pydicom re-encodes as RLE
 * Lossless with a corrupt RLE header (99 segments): the files scan, and their pixels fail only when
 * the comparison decodes them.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireFolderLock } from '../../src/util/folder-lock.js';
import { runCli } from '../helpers/cli.js';
import { hasPydicom } from '../helpers/pet-timing.js';
import { folderContents } from '../helpers/folder-contents.js';

const IEC = path.resolve(import.meta.dirname, '../../fixtures/iec');
const REFERENCE = path.join(IEC, 'dose100');
const LOW = path.join(IEC, 'dose25');
const SFRC = ['--no-noise-compensation', '--patch-size', '16', '--stride', '8'];

let root = '';
let cut = '';
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'lowdose-hallucination-safe-'));
  cut = path.join(root, 'corrupt');
  mkdirSync(cut);
  if (!hasPydicom) return;
  const script = [
    'import sys, os, glob, struct, pydicom',
    'for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.dcm"))):',
    '    d = pydicom.dcmread(f)',
    '    d.compress(pydicom.uid.RLELossless)',
    '    b = bytearray(d.PixelData)',
    '    frame = 8 + struct.unpack("<I", b[4:8])[0]',
    '    b[frame + 8:frame + 12] = struct.pack("<I", 99)',
    '    d.PixelData = bytes(b)',
    '    d.save_as(os.path.join(sys.argv[2], os.path.basename(f)))',
  ].join('\n');
  execFileSync('/usr/bin/python3', ['-c', script, LOW, cut]);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function firstMap(name: string): Promise<{ dir: string; before: Map<string, Buffer> }> {
  const dir = path.join(root, name);
  const first = await runCli('metrics', '--reference', REFERENCE, '--test', LOW, '--hallucination', dir, ...SFRC, '--json');
  expect(first.code, first.stderr).toBe(0);
  const before = folderContents(dir);
  // The map's 4 slices and its completion marker.
  expect([...before.keys()].filter((k) => k.startsWith('map/')).sort()).toEqual(['map/.lowdose-map.json', 'map/IM0001.dcm', 'map/IM0002.dcm', 'map/IM0003.dcm', 'map/IM0004.dcm']);
  expect([...before.keys()].some((k) => k.startsWith('overlays/'))).toBe(true);
  return { dir, before };
}

describe('metrics --hallucination --overwrite', () => {
  it.runIf(hasPydicom)('a run that fails after it began (no test slice\'s pixels can be read) exits 2 and leaves the earlier map as it was, with nothing of its own', async () => {
    const { dir, before } = await firstMap('failed');
    const failed = await runCli('metrics', '--reference', REFERENCE, '--test', cut, '--hallucination', dir, ...SFRC, '--overwrite');
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain('no slice pair could be read');
    expect(folderContents(dir)).toEqual(before);
    expect(readdirSync(dir).sort()).toEqual(['map', 'overlays']);
  });

  it('an unfinished map a killed run left beside the earlier one is removed by the next run; the earlier map stays', async () => {
    const { dir, before } = await firstMap('killed');
    // What a run killed while it computed leaves: its hidden folder, part of a map, no .complete.
    mkdirSync(path.join(dir, '.lowdose-new-0a1b2c', 'map'), { recursive: true });
    writeFileSync(path.join(dir, '.lowdose-new-0a1b2c', 'map', 'IM0001.dcm'), 'half a map');
    const refused = await runCli('metrics', '--reference', REFERENCE, '--test', LOW, '--hallucination', dir, ...SFRC);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('E_EXISTS');
    expect(folderContents(dir)).toEqual(before);
    expect(readdirSync(dir).sort()).toEqual(['map', 'overlays']);
  });

  it('a second run writing the same folder at once exits 2 with E_LOCKED and leaves it as it was', async () => {
    const { dir, before } = await firstMap('locked');
    const other = await acquireFolderLock(dir);
    try {
      const run = await runCli('metrics', '--reference', REFERENCE, '--test', LOW, '--hallucination', dir, ...SFRC, '--overwrite');
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('E_LOCKED');
      expect(folderContents(dir)).toEqual(before);
    } finally {
      await other.release();
    }
  });

  it('--overwrite that succeeds puts the new map in place of the earlier one and leaves no hidden folder', async () => {
    const { dir } = await firstMap('replaced');
    const again = await runCli('metrics', '--reference', REFERENCE, '--test', LOW, '--hallucination', dir, ...SFRC, '--overwrite', '--json');
    expect(again.code, again.stderr).toBe(0);
    const h = JSON.parse(again.stdout).hallucination as { map: { dir: string; files: string[] }; overlays: string[] };
    expect(h.map.dir).toBe(path.join(dir, 'map'));
    // The new series' files and its completion marker, nothing of the earlier map.
    expect(readdirSync(path.join(dir, 'map')).map((n) => path.join(dir, 'map', n)).sort()).toEqual([...h.map.files, path.join(dir, 'map', '.lowdose-map.json')].sort());
    expect(readdirSync(path.join(dir, 'overlays')).map((n) => path.join(dir, 'overlays', n)).sort()).toEqual([...h.overlays].sort());
    expect(readdirSync(dir).sort()).toEqual(['map', 'overlays']);
  });
});

/**
 * The data index keeps what its folder scan read of each file by the file's revision (size, mtime,
 * ctime, inode): a refresh with nothing changed opens no DICOM file, a rewritten file is read again
 * (also one whose mtime was put back, and one whose permissions alone changed), a removed one is
 * forgotten (by a refresh, and by a read of the folder it was in), and the scan's answer (series,
 * errors sampled per code, skipped files) is the one a fresh scan gives.
 */
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as parse from '../../src/dicom/parse.js';
import { KnownHeaders, scanPaths, type ScanResult } from '../../src/dicom/index.js';
import { runPhantom } from '../../src/pipeline/phantom.js';
import { DataIndex } from '../../src/server/data/data-index.js';
import { scanKeepingHeaders } from '../../src/server/data/index-scan.js';

// Every DICOM file parsed (the header read of a scan and of the series facts), counted by path.
vi.mock('../../src/dicom/parse.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/dicom/parse.js')>();
  return { ...actual, readDicomFile: vi.fn(actual.readDicomFile) };
});
const fileReads = vi.mocked(parse.readDicomFile);
const readPaths = () => fileReads.mock.calls.map(([p]) => p);

let root: string;
let ct: string[];
/** A phantom file of a series of its own, outside the data folder. */
let elsewhere: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'lowdose-scan-cache-'));
  for (const i of [1, 2]) await runPhantom('iec', { outDir: path.join(root, `s${i}`), size: 16, slices: 3, uidSeed: `scan-cache-${i}` });
  const spare = path.join(root, '..', `${path.basename(root)}-spare`);
  await runPhantom('iec', { outDir: spare, size: 16, slices: 1, uidSeed: 'scan-cache-spare' });
  elsewhere = path.join(spare, (await readdir(spare)).find((n) => n.endsWith('.dcm'))!);
  ct = (await readdir(path.join(root, 's1'))).filter((n) => n.endsWith('.dcm')).map((n) => path.join(root, 's1', n));
  // Files that are no usable image: two truncated DICOM files (errors) and two notes (skipped).
  await mkdir(path.join(root, 'other'));
  for (const n of ['a', 'b']) {
    await writeFile(path.join(root, 'other', `broken-${n}.dcm`), Buffer.concat([Buffer.alloc(128), Buffer.from('DICM')]));
    await writeFile(path.join(root, 'other', `notes-${n}.txt`), 'not DICOM');
  }
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(path.dirname(elsewhere), { recursive: true, force: true });
});

/** What a scan answers, as plain data (errors by code, message and path). */
function answer(scan: ScanResult) {
  return {
    series: scan.series.map((s) => [s.key, s.slices.map((slice) => `${slice.file}#${slice.frame}`)]),
    errors: scan.errors.map((e) => [e.code, e.message, e.path]),
    errorsByCode: scan.errorsByCode,
    errorCount: scan.errorCount,
    skipped: scan.skipped,
    skippedByCode: scan.skippedByCode,
    fileCount: scan.fileCount,
  };
}

describe('the data index refreshing its folders', () => {
  it('opens no DICOM file when nothing changed, reads a rewritten file again and drops a removed one', async () => {
    const index = new DataIndex([root]);
    await index.refresh();
    const series = index.studies().studies.flatMap((s) => s.series.map((x) => x.id));
    expect(series).toHaveLength(2);
    const unreadable = index.studies().unreadableFiles;
    expect(unreadable).toBe(2);

    fileReads.mockClear();
    await index.refresh();
    expect(readPaths()).toEqual([]);
    expect(index.studies().studies.flatMap((s) => s.series.map((x) => x.id))).toEqual(series);
    expect(index.studies().unreadableFiles).toBe(unreadable);

    // One file's mtime moved: that file is read again (and its series' facts), no file of the other series.
    const later = new Date(Date.now() + 5000);
    await utimes(ct[0]!, later, later);
    fileReads.mockClear();
    await index.refresh();
    expect(readPaths()).toContain(ct[0]);
    expect(readPaths().filter((p) => !p.startsWith(path.join(root, 's1')))).toEqual([]);

    // A broken file repaired (a good one copied over it) is read again: a series, no longer unreadable.
    await copyFile(elsewhere, path.join(root, 'other', 'broken-a.dcm'));
    await index.refresh();
    expect(index.studies().unreadableFiles).toBe(unreadable - 1);
    expect(index.studies().studies.flatMap((s) => s.series)).toHaveLength(3);

    // A removed file is gone from its series at once.
    await rm(ct[2]!);
    fileReads.mockClear();
    await index.refresh();
    expect([...index.sliceCounts().values()].sort()).toEqual([1, ct.length - 1, ct.length]);
    expect(readPaths().filter((p) => !p.startsWith(path.join(root, 's1')))).toEqual([]);
  });
});

describe('a scan given the headers read before', () => {
  it('answers what a fresh scan answers, errors sampled per code included, and keeps only the files it met', async () => {
    const known = new KnownHeaders();
    const options = { listedPerCode: 1, keepSkippedNamed: ['report.json'] };
    const first = await scanPaths([root], { ...options, knownHeaders: known, forgetUnmet: true });
    expect(answer(first)).toEqual(answer(await scanPaths([root], options)));
    expect(first.errorCount).toBeGreaterThan(0);
    expect(first.skippedCount).toBe(2);

    fileReads.mockClear();
    const again = await scanPaths([root], { ...options, knownHeaders: known, forgetUnmet: true });
    expect(readPaths()).toEqual([]);
    expect(answer(again)).toEqual(answer(first));

    // A file added, one rewritten to be broken, one removed: the same answer as a fresh scan's.
    await writeFile(path.join(root, 'other', 'broken-c.dcm'), 'DICM');
    await writeFile(path.join(root, 'other', 'notes-b.txt'), Buffer.concat([Buffer.alloc(128), Buffer.from('DICM')]));
    await rm(path.join(root, 'other', 'notes-a.txt'));
    fileReads.mockClear();
    const changed = await scanPaths([root], { ...options, knownHeaders: known, forgetUnmet: true });
    expect(readPaths().sort()).toEqual([path.join(root, 'other', 'broken-c.dcm'), path.join(root, 'other', 'notes-b.txt')]);
    expect(answer(changed)).toEqual(answer(await scanPaths([root], options)));
    expect(known.size).toBe(changed.fileCount);

    // Scanning one folder of the tree without forgetUnmet keeps the rest.
    await scanPaths([path.join(root, 's2')], { ...options, knownHeaders: known });
    expect(known.size).toBe(changed.fileCount);
  });
});

describe('the data index noticing what size and mtime do not show, and forgetting between refreshes', () => {
  let dir: string;
  let files: string[];
  /** A whole millisecond, so that utimes can put a file's mtime back exactly. */
  const stamp = new Date('2026-01-02T03:04:05.678Z');

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-scan-ctime-'));
    await runPhantom('iec', { outDir: path.join(dir, 'ct'), size: 16, slices: 3, uidSeed: 'scan-ctime' });
    files = (await readdir(path.join(dir, 'ct'))).filter((n) => n.endsWith('.dcm')).map((n) => path.join(dir, 'ct', n));
    for (const file of files) await utimes(file, stamp, stamp);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file again after a permission change alone (chmod moves its ctime, not its size, mtime or inode)', async () => {
    const index = new DataIndex([dir]);
    await index.refresh();
    fileReads.mockClear();
    await index.refresh();
    expect(readPaths()).toEqual([]);
    await chmod(files[1]!, 0o600);
    fileReads.mockClear();
    await index.refresh();
    expect(readPaths()).toContain(files[1]);
    expect(readPaths()).not.toContain(files[2]);
  });

  it('shows a file rewritten in place whose mtime was put back (cp -p, rsync -t) as it is now, its series\' facts included', async () => {
    const index = new DataIndex([dir]);
    await index.refresh();
    const described = () => index.studies().studies.map((s) => s.description);
    expect(described()).toEqual(['lowdose phantom iec']);
    // StudyDescription (0008,1030), LO, rewritten to another text of the same length in every file: same size, same inode.
    for (const file of files) {
      const bytes = await readFile(file);
      const at = bytes.indexOf(Buffer.from([0x08, 0x00, 0x30, 0x10, 0x4c, 0x4f]));
      const length = bytes.readUInt16LE(at + 6);
      bytes.write('rewritten in place'.padEnd(length).slice(0, length), at + 8, 'latin1');
      await writeFile(file, bytes);
      await utimes(file, stamp, stamp);
    }
    await index.refresh();
    expect(described()).toEqual(['rewritten in place']);
  });

  it('forgets what it kept of a file removed from a folder it reads again (as an upload or a PACS series opened again), without waiting for a refresh', async () => {
    const known = new KnownHeaders();
    const index = new DataIndex([dir], undefined, scanKeepingHeaders(known));
    await index.refresh();
    const before = known.size;
    const added = path.join(dir, 'added');
    await runPhantom('iec', { outDir: added, size: 16, slices: 2, uidSeed: 'scan-ctime-added' });
    const [key] = await index.add([added]);
    expect(known.size).toBe(before + 2);
    await rm(path.join(added, (await readdir(added)).find((n) => n.endsWith('.dcm'))!));
    expect(await index.add([added])).toEqual([key]);
    expect(index.sliceCounts().get(key!)).toBe(1);
    expect(known.size).toBe(before + 1);
  });
});

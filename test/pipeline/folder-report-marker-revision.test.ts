/**
 * report.json's writer (src/pipeline/folder-report.ts) reads each completion marker again when the
 * marker's revision moved (src/util/file-revision.ts), not only its size or mtime: a marker another
 * run renamed over it (an --overwrite of that series) or rewrote in place, with the same size and
 * its mtime put back, is listed as it is now, not as this run first read it.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FolderReport } from '../../src/pipeline/folder-report.js';
import type { SeriesReport } from '../../src/pipeline/types.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-folder-report-revision-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A whole millisecond, so that utimes can put a marker's mtime back exactly. */
const stamp = new Date('2026-01-02T03:04:05.678Z');

/** A marker's text for output series `uid` (UIDs of one length: the markers have one size). */
const markerText = (dir: string, uid: string) => JSON.stringify({ input: { files: [], seriesInstanceUid: '1.2.3' }, output: { dir, seriesInstanceUid: uid } });

/** A folder holding one finished series, its marker naming output series 9.9.1, and the FolderReport that has read it. */
async function folderWithMarker(name: string): Promise<{ report: FolderReport; marker: string; dir: string }> {
  const out = path.join(root, name);
  const dir = path.join(out, 'series-a');
  mkdirSync(dir, { recursive: true });
  const marker = path.join(dir, '.lowdose-complete.json');
  writeFileSync(marker, markerText(dir, '9.9.1'));
  utimesSync(marker, stamp, stamp);
  const report = new FolderReport(out);
  expect((await report.earlierSeries([])).map((s) => s.output.seriesInstanceUid)).toEqual(['9.9.1']);
  // Past the file system's timestamp granularity, so that a later write's ctime is another.
  await new Promise((resolve) => setTimeout(resolve, 20));
  return { report, marker, dir };
}

const listed = async (report: FolderReport) => (await report.earlierSeries([])).map((s: SeriesReport) => s.output.seriesInstanceUid);

describe("report.json's earlier series while their markers change", () => {
  it('lists a marker renamed over the one it read (another run redoing the series), its size and mtime the same, as the new marker says', async () => {
    const { report, marker, dir } = await folderWithMarker('renamed-over');
    const replacement = `${marker}.tmp`;
    writeFileSync(replacement, markerText(dir, '9.9.2'));
    utimesSync(replacement, stamp, stamp);
    renameSync(replacement, marker);
    expect(await listed(report)).toEqual(['9.9.2']);
  });

  it('lists a marker rewritten in place with its mtime put back (cp -p, rsync -t) as it is now', async () => {
    const { report, marker, dir } = await folderWithMarker('in-place');
    writeFileSync(marker, markerText(dir, '9.9.3'));
    utimesSync(marker, stamp, stamp);
    expect(await listed(report)).toEqual(['9.9.3']);
  });
});

/**
 * A large file in a study folder that is not DICOM (a .zip of the study, a video, a NIfTI volume)
 * is told apart by its first bytes: it is never read whole. Sparse files of 3 GiB (no disk used)
 * stand in: read whole, one is past what Node reads into one buffer (2 GiB) and fails with E_IO;
 * looked at by its first bytes, it is E_NOT_DICOM, passed over in a walked folder and an error when
 * named `.dcm`, as a small file of the same kind is. A DICOM file is read whole and parsed.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDicomFile, scanPaths } from '../../src/dicom/index.js';
import { runPhantom } from '../../src/pipeline/phantom.js';
import { Rng } from '../../src/util/random.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-large-non-dicom-'));
const GiB = 1024 ** 3;

/** A sparse file of `size` bytes whose first bytes are `head` (the rest reads as zeros). */
function sparseFile(file: string, size: number, head: Uint8Array): void {
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, head, 0, head.length, 0);
    writeSync(fd, new Uint8Array(1), 0, 1, size - 1);
  } finally {
    closeSync(fd);
  }
}

const zipHead = (): Uint8Array => {
  const rng = new Rng(3);
  const bytes = new Uint8Array(4096);
  for (let i = 0; i < bytes.length; i++) bytes[i] = rng.nextUint32() & 0xff;
  bytes.set([0x50, 0x4b, 0x03, 0x04], 0); // "PK\3\4": a zip's local file header
  return bytes;
};

beforeAll(async () => {
  await runPhantom('water', { outDir: path.join(root, 'study', 'series'), size: 32, slices: 2, uidSeed: 'large-non-dicom' });
  sparseFile(path.join(root, 'study', 'study-backup.zip'), 3 * GiB, zipHead());
  mkdirSync(path.join(root, 'named'));
  sparseFile(path.join(root, 'named', 'huge.dcm'), 3 * GiB, zipHead());
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('a large file that is not DICOM is judged by its first bytes', () => {
  it('readDicomFile: E_NOT_DICOM for a 3 GiB zip, as for a small one', async () => {
    const file = path.join(root, 'named', 'huge.dcm');
    await expect(readDicomFile(file)).rejects.toMatchObject({
      code: 'E_NOT_DICOM',
      message: `${file}: not DICOM (no "DICM" marker and no recognisable data element)`,
    });
  });

  it('a walked folder passes the 3 GiB zip over and reads its series; named .dcm it is an E_NOT_DICOM error', async () => {
    const scan = await scanPaths([path.join(root, 'study'), path.join(root, 'named')]);
    expect(scan.series).toHaveLength(1);
    expect(scan.series[0]!.slices).toHaveLength(readdirSync(path.join(root, 'study', 'series')).length);
    expect(scan.skipped).toEqual([expect.objectContaining({ path: path.join(root, 'study', 'study-backup.zip'), code: 'E_NOT_DICOM' })]);
    expect(scan.errors.map((e) => ({ path: e.path, code: e.code }))).toEqual([{ path: path.join(root, 'named', 'huge.dcm'), code: 'E_NOT_DICOM' }]);
  });

  it('a DICOM file is still read whole and parsed', async () => {
    const series = path.join(root, 'study', 'series');
    const parsed = await readDicomFile(path.join(series, readdirSync(series).sort()[0]!));
    expect(parsed.dataSet.string('x00080060')).toBe('CT');
  });
});

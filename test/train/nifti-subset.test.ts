import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readNiftiVolume, writeNiftiSubset } from '../../scripts/train/nifti-volume.js';

// The GPU-machine kit carries only the training slices of the shared volumes (docs/device.md):
// a packed file must read back as exactly those slices of the original.
const SOURCE = path.resolve(import.meta.dirname, '../../../shared/pet/sts-001-pet.nii.gz');
const dir = mkdtempSync(path.join(tmpdir(), 'lowdose-nifti-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeNiftiSubset', () => {
  const original = readNiftiVolume(SOURCE);

  it('keeps the chosen slices, in order, with the original geometry and values', () => {
    const last = original.volume.slices.length - 1;
    const picked = [0, 5, 6, last];
    const target = path.join(dir, 'subset.nii.gz');
    writeNiftiSubset(SOURCE, target, picked);
    copyFileSync(SOURCE.replace('.nii.gz', '.json'), path.join(dir, 'subset.json'));
    const packed = readNiftiVolume(target);
    expect(packed.volume.slices).toHaveLength(picked.length);
    expect([packed.volume.rows, packed.volume.columns]).toEqual([original.volume.rows, original.volume.columns]);
    expect(packed.volume.spacing).toEqual(original.volume.spacing);
    expect(packed.suvFactor).toBe(original.suvFactor);
    picked.forEach((k, j) => expect(packed.volume.slices[j]).toEqual(original.volume.slices[k]));
  });

  it('refuses a slice the volume does not have', () => {
    const count = original.volume.slices.length;
    expect(() => writeNiftiSubset(SOURCE, path.join(dir, 'bad.nii.gz'), [0, count])).toThrow(`slice ${count} is not in 0..${count - 1}`);
  });
});

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sliceOf } from '../../src/image.js';
import { Rng } from '../../src/util/random.js';
import { readNiftiVolume } from '../../scripts/train/nifti-volume.js';
import { insertPetLesions } from '../../scripts/train/pet-lesions.js';

// The training export's lesion mask (lesion.f32, train.py --lesion-weight) must mark exactly the
// pixels the inserted spheres changed, and asking for it must not change the lesions themselves.
const SOURCE = path.resolve(import.meta.dirname, '../../../shared/pet/sts-001-pet.nii.gz');

describe('insertPetLesions coverage', () => {
  const nv = readNiftiVolume(SOURCE);
  const slice = sliceOf(nv.volume, 120);
  const thickness = nv.volume.spacing[2];

  it('marks exactly the pixels the lesions changed, with coverage in 0..1', () => {
    const coverage = new Float32Array(slice.rows * slice.columns);
    const out = insertPetLesions(slice, new Rng(3000, 120), thickness, coverage);
    let covered = 0;
    let full = 0;
    for (let i = 0; i < coverage.length; i++) {
      const c = coverage[i]!;
      expect(c).toBeGreaterThanOrEqual(0);
      expect(c).toBeLessThanOrEqual(1);
      if (c === 0) expect(out.data[i]).toBe(slice.data[i]);
      else covered++;
      if (c > 0.99) full++;
    }
    expect(covered).toBeGreaterThan(0);
    expect(full).toBeGreaterThan(0);
  });

  it('inserts the same lesions whether or not the coverage is asked for', () => {
    const plain = insertPetLesions(slice, new Rng(3000, 121), thickness);
    const withMask = insertPetLesions(slice, new Rng(3000, 121), thickness, new Float32Array(slice.rows * slice.columns));
    expect(withMask.data).toEqual(plain.data);
  });
});

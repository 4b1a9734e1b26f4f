import { describe, expect, test } from 'vitest';
import { generateIec, iecAttenuation } from '../../src/phantoms/iec.js';
import { generateWater } from '../../src/phantoms/water.js';
import { SimulationPool, simulateVolume, type SliceJob } from '../../src/simulate/index.js';
import { sameBytes } from './helpers.js';

// A smaller scanner keeps these fast; the determinism being tested does not depend on its size.
const geometry = { views: 492, channels: 444, channelPitch: 2 * 1.0239 };

describe('volume simulation on worker threads', () => {
  test('CT slices from 2 workers are byte-identical to a single thread, and slices differ from each other', async () => {
    const { volume } = generateWater({ size: 128, slices: 3, fov: 250 });
    const job: SliceJob = { kind: 'ct-truth', options: { dose: 0.25, seed: 42, geometry } };
    const single = await simulateVolume(volume, job, { workers: 1 });
    const done: number[] = [];
    const pooled = await simulateVolume(volume, job, { workers: 2, onSlice: (k) => done.push(k) });
    expect(done.sort()).toEqual([0, 1, 2]);
    for (let k = 0; k < 3; k++) {
      expect(sameBytes(single.lowDose.slices[k]!, pooled.lowDose.slices[k]!)).toBe(true);
      expect(sameBytes(single.fullDose!.slices[k]!, pooled.fullDose!.slices[k]!)).toBe(true);
    }
    // Same phantom slice, different noise stream per slice index.
    expect(sameBytes(single.lowDose.slices[0]!, single.lowDose.slices[1]!)).toBe(false);
    expect(single.lowDose.description).toMatch(/25% dose/);

    const insert = await simulateVolume(volume, { kind: 'ct-insert', options: { dose: 0.5, seed: 1, geometry } }, { workers: 2 });
    expect(insert.fullDose).toBeNull();
    expect(insert.lowDose.slices).toHaveLength(3);
  });

  test('PET slices with per-slice attenuation maps are identical across worker counts', async () => {
    const options = { size: 64, slices: 2, spacing: 3, fov: 350 };
    const { volume } = generateIec(options);
    const muMapsPerCm = iecAttenuation(options);
    const job: SliceJob = { kind: 'pet', options: { countsFraction: 0.5, seed: 3, iterations: 2, subsets: 6 } };
    const single = await simulateVolume(volume, job, { workers: 1, muMapsPerCm });
    const pooled = await simulateVolume(volume, job, { workers: 2, muMapsPerCm });
    for (let k = 0; k < 2; k++) expect(sameBytes(single.lowDose.slices[k]!, pooled.lowDose.slices[k]!)).toBe(true);
  });

  test('errors in a worker reach the caller as LowdoseErrors with their code', async () => {
    const pool = new SimulationPool(2);
    const image = { rows: 16, columns: 16, data: new Float32Array(256), pixelSpacing: [1, 1] as const };
    await expect(pool.run({ kind: 'ct-insert', options: { dose: 3 } }, { image, sliceIndex: 0 })).rejects.toMatchObject({
      code: 'E_USAGE',
    });
    await pool.close();
  });

  test('refuses a CT job on a PET volume', async () => {
    const { volume } = generateIec({ size: 32, slices: 1, spacing: 3, fov: 350 });
    await expect(simulateVolume(volume, { kind: 'ct-insert', options: { dose: 0.5 } })).rejects.toMatchObject({ code: 'E_USAGE' });
  });
});

import { describe, expect, it, vi } from 'vitest';
import type { Series } from '../../src/dicom/index.js';
import { resolveModelFiles } from '../../src/models/load.js';
import { LowdoseError } from '../../src/errors.js';
import { Denoiser } from '../../src/models/denoiser.js';
import { createSliceDenoiser, planSliceDenoiser } from '../../src/pipeline/slice-denoiser.js';
import { Rng } from '../../src/util/random.js';

/** What prepare() reads of a series: units, size and spacing. */
const series = { units: 'HU', rows: 64, columns: 64, spacing: [0.7, 0.7, 3], warnings: [], slices: [] } as unknown as Series;
const rng = new Rng(5);
// Soft tissue with a dense disc and quarter-dose-like noise.
const image = Float32Array.from({ length: 64 * 64 }, (_, i) => ((i % 64) - 32) ** 2 + (Math.floor(i / 64) - 32) ** 2 < 200 ? 300 : 40 + 30 * rng.normal());

async function denoise(options: { strength?: number }) {
  const d = await createSliceDenoiser('CT', { outDir: '', model: 'lowdose-ct', device: 'cpu', threads: 1, ...options }, () => {});
  try {
    await d.prepare(series);
    const out = await d.denoise([{ index: 0, image }]);
    return { description: d.derivationDescription, data: out.denoised[0]! };
  } finally {
    await d.release();
  }
}

describe('slice denoiser options', () => {
  it("passes a warm-start strength to the sampler: the card's value changes nothing, another one changes the output and is named", async () => {
    const cardStrength = (await resolveModelFiles('lowdose-ct')).card.sampler.strength!;
    const otherStrength = cardStrength > 0.5 ? cardStrength / 2 : cardStrength + 0.2;
    const card = await denoise({});
    const same = await denoise({ strength: cardStrength });
    const other = await denoise({ strength: otherStrength });
    expect(card.description).not.toContain('strength');
    expect(other.description).toContain(`strength ${otherStrength}`);
    expect(same.data).toEqual(card.data);
    expect(other.data).not.toEqual(card.data);
  });
});

describe('planSliceDenoiser: what a run makes, known without loading the model (denoise --skip-by-uid)', () => {
  // Settings that each change what the plan must say: the card's defaults, steps and seed, a
  // calibrated ensemble with a threshold, orientations, full-dose texture at a dose, a warm-start strength; and a filter.
  const cases: Array<{ modality: 'CT' | 'PT'; options: Record<string, unknown> }> = [
    { modality: 'CT', options: {} },
    { modality: 'CT', options: { steps: 3, seed: 7 } },
    { modality: 'CT', options: { uncertainty: true, uncertaintyThreshold: 12 } },
    { modality: 'CT', options: { orientations: 4 } },
    { modality: 'CT', options: { texture: 'full-dose', doseLevel: 0.25 } },
    { modality: 'CT', options: { strength: 0.3 } },
    { modality: 'PT', options: { model: 'lowdose-pet', samples: 2 } },
    { modality: 'CT', options: { method: 'gaussian' } },
  ];
  for (const { modality, options } of cases) {
    it(`${modality} ${JSON.stringify(options)}: the same method, model, DerivationDescription, model files' sha256, samples and calibration as the loaded denoiser`, async () => {
      const run = { outDir: '', device: 'cpu' as const, threads: 1, ...options };
      const plan = await planSliceDenoiser(modality, run);
      const loaded = await createSliceDenoiser(modality, run, () => {});
      try {
        expect(plan).toEqual({
          method: loaded.method,
          modelName: loaded.modelName,
          modelFingerprint: loaded.modelFingerprint,
          derivationDescription: loaded.derivationDescription,
          samples: loaded.samples,
          uncertainty: loaded.uncertainty,
        });
      } finally {
        await loaded.release();
      }
    });
  }

  it('refuses what the load refuses, with the same error, and opens no model', async () => {
    const run = { outDir: '', device: 'cpu' as const, threads: 1, uncertainty: true, orientations: 2 };
    const load = vi.spyOn(Denoiser, 'load');
    try {
      const planned = await planSliceDenoiser('CT', run).catch((e: unknown) => e);
      expect(load).not.toHaveBeenCalled();
      const loaded = await createSliceDenoiser('CT', run, () => {}).catch((e: unknown) => e);
      expect(planned).toBeInstanceOf(LowdoseError);
      expect(planned).toEqual(loaded);
    } finally {
      load.mockRestore();
    }
  });
});

import { describe, expect, it } from 'vitest';
import type { Series } from '../../src/dicom/index.js';
import { resolveModelFiles } from '../../src/models/load.js';
import { createSliceDenoiser } from '../../src/pipeline/slice-denoiser.js';
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

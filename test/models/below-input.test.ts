/**
 * E_MODEL_BELOW_INPUT: a model whose card lists evaluation sets where it measured below the
 * untouched input says so in every report of a run with it (src/models/denoiser.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseModelCard } from '../../src/models/card.js';
import { belowInputWarning, Denoiser } from '../../src/models/denoiser.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const card = (name: string) => parseModelCard(JSON.parse(readFileSync(path.join(REPO, 'models', `${name}.json`), 'utf8')), `/x/${name}.json`);

describe('belowInputWarning', () => {
  it("names the shipped latent model's sets below the input, and says nothing for lowdose-ct and lowdose-pet", () => {
    const latent = belowInputWarning(card('lowdose-ct-latent'))!;
    expect(latent.code).toBe('E_MODEL_BELOW_INPUT');
    const listed = card('lowdose-ct-latent').quality['belowInput'] as string[];
    expect(listed.length).toBeGreaterThan(0);
    for (const set of listed) expect(latent.message).toContain(set);
    expect(belowInputWarning(card('lowdose-ct'))).toBeNull();
    expect(belowInputWarning(card('lowdose-pet'))).toBeNull();
    expect(belowInputWarning({ name: 'x', quality: { belowInput: [] } })).toBeNull();
  });

  it('is one of the warnings a Denoiser of the latent model gives every series', async () => {
    const denoiser = await Denoiser.load('lowdose-ct-latent', { device: 'cpu', threads: 1 });
    try {
      expect(denoiser.warnings.map((w) => w.code)).toContain('E_MODEL_BELOW_INPUT');
    } finally {
      await denoiser.release();
    }
  });
});

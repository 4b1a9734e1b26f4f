/**
 * E_PIXEL_SPACING: a series whose pixels are far from the model card's training pixel spacings is
 * denoised with a warning (src/models/pixel-spacing.ts); the card's `pixelSpacing` is validated.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseModelCard } from '../../src/models/card.js';
import { pixelSpacingWarning } from '../../src/models/pixel-spacing.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { fixtureModel } from '../diffusion/helpers.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-pixel-spacing-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('pixelSpacingWarning', () => {
  const card = { name: 'ct-test', pixelSpacing: { minMm: 0.7, maxMm: 0.84 } };

  it('stays quiet within 1.2 times the trained range, the 0.98 mm of a 500 mm field included', () => {
    for (const mm of [0.59, 0.7, 0.84, 0.98, 1.0]) expect(pixelSpacingWarning(card, 'S', [mm, mm])).toBeNull();
  });

  it('warns beyond it on either side, or for either axis, naming the spacing and the range', () => {
    const coarse = pixelSpacingWarning(card, '1.2.3', [1.45, 1.45])!;
    expect(coarse.code).toBe('E_PIXEL_SPACING');
    expect(coarse.message).toMatch(/^1\.2\.3: pixel spacing 1\.45 x 1\.45 mm is outside the 0\.70 to 0\.84 mm model ct-test was trained and tested on \(warned beyond 0\.58 to 1\.01 mm\)/);
    expect(pixelSpacingWarning(card, 'S', [0.5, 0.5])?.code).toBe('E_PIXEL_SPACING');
    expect(pixelSpacingWarning(card, 'S', [0.8, 1.2])?.code).toBe('E_PIXEL_SPACING');
  });

  it('says nothing for a card without a pixelSpacing', () => {
    expect(pixelSpacingWarning({ name: 'pet' }, 'S', [4, 4])).toBeNull();
  });
});

describe("the model card's pixelSpacing", () => {
  const base = JSON.parse(readFileSync(fixtureModel('per-pixel'), 'utf8')) as Record<string, unknown>;

  it('is read when given as minMm <= maxMm in mm, and refused otherwise', () => {
    expect(parseModelCard({ ...base, pixelSpacing: { minMm: 0.7, maxMm: 0.84 } }, '/x/c.json').pixelSpacing).toEqual({ minMm: 0.7, maxMm: 0.84 });
    expect(() => parseModelCard({ ...base, pixelSpacing: { minMm: 0.9, maxMm: 0.8 } }, '/x/c.json')).toThrow(/pixelSpacing\.maxMm: expected a spacing in mm >= minMm/);
    expect(() => parseModelCard({ ...base, pixelSpacing: { minMm: 0, maxMm: 0.8 } }, '/x/c.json')).toThrow(/pixelSpacing\.minMm/);
    expect(() => parseModelCard({ ...base, pixelSpacing: 0.8 }, '/x/c.json')).toThrow(/pixelSpacing: expected/);
  });

  it("of the shipped CT model is its training data's: 0.70 to 0.84 mm", () => {
    const shipped = JSON.parse(readFileSync(path.join(REPO, 'models/lowdose-ct.json'), 'utf8')) as { pixelSpacing: unknown };
    expect(shipped.pixelSpacing).toMatchObject({ minMm: 0.7, maxMm: 0.84 });
  });
});

describe('denoise with the shipped CT model', () => {
  it('reports E_PIXEL_SPACING for the 1.45 mm body fixture, keeps it on a rerun that skips the series, and the filters do not', async () => {
    const input = path.join(REPO, 'fixtures/body/dose25');
    const out = path.join(root, 'diffusion');
    const report = await denoisePaths([input], { outDir: out, model: 'lowdose-ct', seed: 1 });
    const codes = report.series[0]!.warnings.map((w) => w.code);
    expect(codes).toEqual(['E_PIXEL_SPACING']);
    expect(report.series[0]!.warnings[0]!.message).toMatch(/pixel spacing 1\.45 x 1\.45 mm .* model lowdose-ct/);
    const again = await denoisePaths([input], { outDir: out, model: 'lowdose-ct', seed: 1 });
    expect(again.series[0]!.skipped).toBe(true);
    expect(again.series[0]!.warnings.map((w) => w.code)).toEqual(['E_PIXEL_SPACING']);
    const filtered = await denoisePaths([input], { outDir: path.join(root, 'nlm'), method: 'nlm' });
    expect(filtered.series[0]!.warnings).toEqual([]);
  });
});

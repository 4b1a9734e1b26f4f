/**
 * The viewer's one-line lesion SUV caveat under a denoised PET pane's ROI readout reads the numbers
 * of the run's E_LESION_BIAS warning as src/models/lesion-bias.ts writes it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseModelCard } from '../../src/models/card.js';
import { lesionBiasWarning } from '../../src/models/lesion-bias.js';
import { lesionCaveat } from '../../viewer/src/lesion-caveat.js';

const CARD = path.resolve(import.meta.dirname, '../../models/lowdose-pet.json');
const pet = parseModelCard(JSON.parse(readFileSync(CARD, 'utf8')), CARD);

describe('lesionCaveat', () => {
  it("shortens the warning to its count level and worst biases", () => {
    for (const dose of [0.25, 0.1, 0]) {
      const warning = lesionBiasWarning(pet, 'PT', dose)!;
      const caveat = lesionCaveat([{ code: 'E_DOSE_UNKNOWN', message: 'x' }, warning])!;
      const worstMean = /worst SUVmean (\S+ %)/.exec(warning.message)![1];
      const worstMax = /worst SUVmax (\S+ %)/.exec(warning.message)![1];
      expect(caveat.line).toBe(`lesion bias ≥17 mm at ${dose === 0.25 ? 25 : 10} %: SUVmean ${worstMean}, SUVmax ${worstMax}`);
      expect(caveat.message).toBe(warning.message);
    }
  });

  it('is null without the warning and a plain line for a message in another wording', () => {
    expect(lesionCaveat(undefined)).toBeNull();
    expect(lesionCaveat([{ code: 'E_PIXEL_SPACING', message: 'x' }])).toBeNull();
    expect(lesionCaveat([{ code: 'E_LESION_BIAS', message: 'something else' }])?.line).toMatch(/lesion SUV bias measured/);
  });
});

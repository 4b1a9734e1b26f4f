/**
 * The viewer's one-line lesion SUV caveat under a denoised PET pane's ROI readout reads the numbers
 * of the run's E_LESION_BIAS warning as src/models/lesion-bias.ts writes it: its `lesionBias`
 * field, or the message's wording in a report written before the field.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseModelCard } from '../../src/models/card.js';
import { lesionBiasAt, lesionBiasWarning } from '../../src/models/lesion-bias.js';
import { lesionRecoveryOf } from '../../src/models/card.js';
import { lesionCaveat } from '../../viewer/src/lesion-caveat.js';

const CARD = path.resolve(import.meta.dirname, '../../models/lowdose-pet.json');
const pet = parseModelCard(JSON.parse(readFileSync(CARD, 'utf8')), CARD);

describe('lesionCaveat', () => {
  it("shortens the warning to its count level and worst biases, from the warning's numbers", () => {
    const recovery = lesionRecoveryOf(pet)!;
    // A card measured only with the dose declared quotes those numbers for an unknown dose, and says so.
    const unknownPath = recovery.sets.some((s) => s.doseDeclared === false) ? ', dose unknown' : ', dose unknown, measured with dose declared';
    for (const dose of [0.25, 0.1, 0]) {
      const warning = lesionBiasWarning(pet, 'PT', dose)!;
      const caveat = lesionCaveat([{ code: 'E_DOSE_UNKNOWN', message: 'x' }, warning])!;
      const worstMean = /worst SUVmean (\S+ %)/.exec(warning.message)![1];
      const worstMax = /worst SUVmax (\S+ %)/.exec(warning.message)![1];
      expect(caveat.line).toBe(`lesion bias ≥17 mm at ${dose === 0.25 ? 25 : 10} %${dose === 0 ? unknownPath : ''}: SUVmean ${worstMean}, SUVmax ${worstMax}`);
      expect(caveat.message).toBe(warning.message);
      // The numbers, not the words: a message in another wording changes nothing.
      expect(lesionCaveat([{ ...warning, message: 'reworded' }])!.line).toBe(caveat.line);
    }
  });

  it('says when the numbers were measured on the other path than the run took', () => {
    const recovery = lesionRecoveryOf(pet)!;
    const declaredOnly = { ...recovery, sets: recovery.sets.filter((s) => (s.doseDeclared ?? recovery.doseDeclared)) };
    const lesionBias = lesionBiasAt(declaredOnly, 0)!;
    expect(lesionCaveat([{ code: 'E_LESION_BIAS', message: 'm', lesionBias }])!.line).toMatch(/^lesion bias ≥17 mm at 10 %, dose unknown, measured with dose declared: SUVmean -\d+\.\d %, SUVmax [+-]\d+\.\d %$/);
  });

  it('reads the numbers out of the message of a report written before the field', () => {
    const { lesionBias: _numbers, ...old } = lesionBiasWarning(pet, 'PT', 0.25)!;
    const worstMean = /worst SUVmean (\S+ %)/.exec(old.message)![1]!;
    expect(lesionCaveat([old])!.line).toMatch(new RegExp(`^lesion bias ≥17 mm at 25 %: SUVmean ${worstMean.replace('+', '\\+')}, SUVmax `));
  });

  it('is null without the warning and a plain line for a message in another wording', () => {
    expect(lesionCaveat(undefined)).toBeNull();
    expect(lesionCaveat([{ code: 'E_PIXEL_SPACING', message: 'x' }])).toBeNull();
    expect(lesionCaveat([{ code: 'E_LESION_BIAS', message: 'something else' }])?.line).toMatch(/lesion SUV bias measured/);
  });
});

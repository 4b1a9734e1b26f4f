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
      // Without a dose: the worst over both measured levels, each with the level it comes from.
      const levelOf = (m: { level?: number }) => (dose === 0 ? ` (${(m.level ?? NaN) * 100} %)` : '');
      const at = dose === 0 ? '10 % and 25 %' : `${dose === 0.25 ? 25 : 10} %`;
      expect(caveat.line).toBe(`lesion bias ≥17 mm at ${at}${dose === 0 ? unknownPath : ''}: SUVmean ${worstMean}${levelOf(warning.lesionBias.suvmean)}, SUVmax ${worstMax}${levelOf(warning.lesionBias.suvmax)}`);
      expect(caveat.message).toBe(warning.message);
      // The numbers, not the words: a message in another wording changes nothing.
      expect(lesionCaveat([{ ...warning, message: 'reworded' }])!.line).toBe(caveat.line);
    }
  });

  it('says when the numbers were measured on the other path than the run took', () => {
    const recovery = lesionRecoveryOf(pet)!;
    const declaredOnly = { ...recovery, sets: recovery.sets.filter((s) => (s.doseDeclared ?? recovery.doseDeclared)) };
    const lesionBias = lesionBiasAt(declaredOnly, 0)!;
    expect(lesionCaveat([{ code: 'E_LESION_BIAS', message: 'm', lesionBias }])!.line).toMatch(
      /^lesion bias ≥17 mm at 10 % and 25 %, dose unknown, measured with dose declared: SUVmean -\d+\.\d % \((10|25) %\), SUVmax [+-]\d+\.\d % \((10|25) %\)$/,
    );
  });

  it('names the level of each number when they come from different levels, and one level for a report written before `levels`', () => {
    const measured = (percent: number, level?: number) => ({ percent, source: 's', diameterMm: 17, ...(level === undefined ? {} : { level }) });
    const base = { level: 0.1, picked: 'dose unknown' as const, minDiameterMm: 17, smallerSuvmean: null, doseDeclared: false };
    const lesionBias = { ...base, levels: [0.1, 0.25], suvmean: measured(-8, 0.1), suvmax: measured(30, 0.25) };
    expect(lesionCaveat([{ code: 'E_LESION_BIAS', message: 'm', lesionBias }])!.line).toBe('lesion bias ≥17 mm at 10 % and 25 %, dose unknown: SUVmean -8.0 % (10 %), SUVmax +30.0 % (25 %)');
    const before = { ...base, suvmean: measured(-8), suvmax: measured(30) };
    expect(lesionCaveat([{ code: 'E_LESION_BIAS', message: 'm', lesionBias: before }])!.line).toBe('lesion bias ≥17 mm at 10 %, dose unknown: SUVmean -8.0 %, SUVmax +30.0 %');
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

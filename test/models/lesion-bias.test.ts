/**
 * E_LESION_BIAS: a PET card's measured lesion SUV bias (`quality.lesionRecovery`), generated from
 * the committed evaluation files, and the warning that quotes it at the input's count level
 * (src/models/lesion-bias.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lesionRecoveryOf, parseModelCard, type LesionRecovery } from '../../src/models/card.js';
import { LESION_BIAS_MIN_DIAMETER_MM, lesionBiasAt, lesionBiasWarning, readLesionBias, setDoseDeclared } from '../../src/models/lesion-bias.js';
import { modelFingerprint } from '../../src/models/fingerprint.js';
import { lesionRecoveryFromEvals, readEvals } from '../../scripts/evaluate/lesion-recovery.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const readJson = (file: string) => JSON.parse(readFileSync(path.join(REPO, file), 'utf8'));
const rawCard = (name: string) => readJson(`models/${name}.json`) as Record<string, unknown> & { quality: Record<string, unknown> };
const card = (name: string) => parseModelCard(rawCard(name), `/x/${name}.json`);
const pet = card('lowdose-pet');
const recovery = lesionRecoveryOf(pet)!;
/** The PET card's files' fingerprint now, which the committed QA results must record. */
const petFingerprint = await modelFingerprint(path.join(REPO, 'models', 'lowdose-pet.json'));

/** The card's worst |bias| at one level over sizes >= 17 mm measured on one path (default: the dose declared), found here without the module's code. */
function worstFromCard(level: number, key: 'suvmeanBiasPercent' | 'suvmaxBiasPercent', declared = true): number {
  const values = recovery.sets.filter((s) => s.dose === level && (s.doseDeclared ?? recovery.doseDeclared) === declared).flatMap((s) => s.bySize.filter((b) => b.diameterMm >= 17).map((b) => b[key]));
  return values.reduce((w, v) => (Math.abs(v) > Math.abs(w) ? v : w), 0);
}
const shown = (percent: number) => `${percent > 0 ? '+' : ''}${percent.toFixed(1)} %`;

function withRecovery(value: unknown): Record<string, unknown> {
  const raw = rawCard('lowdose-pet');
  return { ...raw, quality: { ...raw.quality, lesionRecovery: value } };
}

describe('quality.lesionRecovery on the card', () => {
  it('is on the shipped PET card, with both count levels and both sources on both paths (dose declared or not), and on no CT card', () => {
    expect(recovery.doseDeclared).toBe(true);
    const keys = recovery.sets.map((s) => `${s.source} ${s.dose} ${setDoseDeclared(recovery, s)}`);
    expect(new Set(keys)).toEqual(new Set(['IEC phantom', 'sts-001 inserted lesions'].flatMap((source) => [0.25, 0.1].flatMap((dose) => [true, false].map((d) => `${source} ${dose} ${d}`)))));
    expect(keys).toHaveLength(8);
    for (const set of recovery.sets) expect(set.bySize.some((b) => b.diameterMm >= LESION_BIAS_MIN_DIAMETER_MM)).toBe(true);
    expect(lesionRecoveryOf(card('lowdose-ct'))).toBeNull();
  });

  it('is exactly what scripts/evaluate/lesion-recovery-card.ts builds from the committed evaluation files', () => {
    const built = lesionRecoveryFromEvals(rawCard('lowdose-pet') as never, readEvals(readJson), petFingerprint);
    expect(built).toEqual(recovery);
  });

  it('refuses an evaluation file scored with other consistency settings than the card has', () => {
    const raw = rawCard('lowdose-pet') as unknown as { name: string; sampler: { consistency: Record<string, unknown> } };
    const changed = { ...raw, sampler: { ...raw.sampler, consistency: { ...raw.sampler.consistency, threshold: 1 } } };
    expect(() => lesionRecoveryFromEvals(changed, readEvals(readJson), petFingerprint)).toThrow(/no expected row/);
  });

  it('refuses a QA result whose recorded model fingerprint is not of the card\'s files now, and takes one without a fingerprint on trust', () => {
    const evals = readEvals(readJson);
    expect(evals.iec.every((e) => (e.report.settings['modelFingerprint'] as { petModel?: unknown } | undefined)?.petModel !== undefined)).toBe(true);
    const otherWeights = { ...petFingerprint, sha256: '0'.repeat(64), onnx: { 'lowdose-pet.onnx': '1'.repeat(64) } };
    const stale = { ...evals, iec: evals.iec.map((e) => ({ ...e, report: { ...e.report, settings: { ...e.report.settings, modelFingerprint: { petModel: otherWeights } } } })) };
    expect(() => lesionRecoveryFromEvals(rawCard('lowdose-pet') as never, stale, petFingerprint)).toThrow(/qa-iec\.json: a QA run of other files than lowdose-pet's now \(lowdose-pet\.onnx: recorded 111111111111/);
    const unfingerprinted = { ...evals, iec: evals.iec.map((e) => ({ ...e, report: { ...e.report, settings: { ...e.report.settings, modelFingerprint: undefined } } })) };
    expect(lesionRecoveryFromEvals(rawCard('lowdose-pet') as never, unfingerprinted, petFingerprint)).toEqual(recovery);
  });

  it('refuses an evaluation file of the other path (dose declared or not) than its place says', () => {
    const evals = readEvals(readJson);
    const swapped = { ...evals, iec: evals.iec.map((e) => ({ ...e, doseDeclared: !e.doseDeclared })) };
    expect(() => lesionRecoveryFromEvals(rawCard('lowdose-pet') as never, swapped, petFingerprint)).toThrow(/qa-iec-dose-unknown\.json: a QA run without the dose declared, expected with/);
    const sts = { ...evals, sts: evals.sts.map((e) => ({ ...e, doseDeclared: !e.doseDeclared })) };
    expect(() => lesionRecoveryFromEvals(rawCard('lowdose-pet') as never, sts, petFingerprint)).toThrow(/pet-lesions-expected-unknown\/dose25\.json: scored without the dose declared, expected with/);
  });

  it('refuses a malformed block with E_MODEL naming the field', () => {
    const good = rawCard('lowdose-pet').quality['lesionRecovery'] as LesionRecovery;
    const badSize = { ...good, sets: [{ ...good.sets[0]!, bySize: [{ diameterMm: 17, lesions: 1, suvmeanBiasPercent: -3 }] }] };
    expect(() => parseModelCard(withRecovery(badSize), '/x/bad.json')).toThrow(/quality\.lesionRecovery\.sets\[0\]\.bySize\[0\]\.suvmaxBiasPercent/);
    expect(() => parseModelCard(withRecovery({ ...good, sets: [{ ...good.sets[0]!, dose: 0 }] }), '/x/bad.json')).toThrow(/sets\[0\]\.dose: expected a count fraction/);
    expect(() => parseModelCard(withRecovery({ ...good, sets: [] }), '/x/bad.json')).toThrow(/lesionRecovery\.sets/);
    expect(() => parseModelCard(withRecovery({ ...good, sets: [{ ...good.sets[0]!, doseDeclared: 'no' }] }), '/x/bad.json')).toThrow(/sets\[0\]\.doseDeclared: expected true or false/);
    expect(() => parseModelCard(withRecovery('yes'), '/x/bad.json')).toThrow(expect.objectContaining({ code: 'E_MODEL' }));
  });
});

describe('lesionBiasWarning', () => {
  it("quotes the card's worst SUVmean and SUVmax of lesions >= 17 mm at the declared count level", () => {
    for (const dose of [0.25, 0.1]) {
      const warning = lesionBiasWarning(pet, 'PT', dose)!;
      expect(warning.code).toBe('E_LESION_BIAS');
      expect(warning.message).toContain(`at ${dose * 100} % counts (the nearest measured level at or below the declared ${dose * 100} %; measured with the dose declared, as here)`);
      expect(warning.message).toContain(`worst SUVmean ${shown(worstFromCard(dose, 'suvmeanBiasPercent'))}`);
      expect(warning.message).toContain(`worst SUVmax ${shown(worstFromCard(dose, 'suvmaxBiasPercent'))}`);
      expect(warning.message).toMatch(/smaller lesions lose more: SUVmean -\d+\.\d % \(sts-001 inserted lesions, 10 mm\)/);
      expect(warning.message).toContain('models/README.md');
    }
  });

  it('takes the nearest measured level at or below the declared dose, the lowest below one, and every level without one', () => {
    expect(lesionBiasAt(recovery, 0.5)).toMatchObject({ level: 0.25, picked: 'at or below' });
    expect(lesionBiasAt(recovery, 0.2)).toMatchObject({ level: 0.1, picked: 'at or below' });
    expect(lesionBiasAt(recovery, 0.05)).toMatchObject({ level: 0.1, picked: 'below every measured level' });
    expect(lesionBiasWarning(pet, 'PT', 0.05)!.message).toContain('the declared 5 % is below every measured one');
    const unknown = lesionBiasWarning(pet, 'PT', 0)!;
    expect(lesionBiasAt(recovery, 0)).toMatchObject({ level: 0.1, levels: [0.1, 0.25], picked: 'dose unknown', doseDeclared: false });
    expect(unknown.message).toContain('at 10 % and 25 % counts (the worst over the measured levels, each with the level it was measured at: the count level is unknown (no --dose)');
    // Each quantity's worst over both levels, quoted with the level it comes from (on the shipped
    // card SUVmean's at 25 %, SUVmax's at 10 %).
    const worstOfLevels = (key: 'suvmeanBiasPercent' | 'suvmaxBiasPercent') =>
      [0.25, 0.1].map((level) => ({ level, value: worstFromCard(level, key, false) })).reduce((w, v) => (Math.abs(v.value) > Math.abs(w.value) ? v : w));
    const quoted = (worst: { level: number; value: number }) => `${shown(worst.value)} (${Math.round(worst.level * 100)} %, `;
    expect(unknown.message).toContain(`worst SUVmean ${quoted(worstOfLevels('suvmeanBiasPercent'))}`);
    expect(unknown.message).toContain(`worst SUVmax ${quoted(worstOfLevels('suvmaxBiasPercent'))}`);
    expect(unknown.message).toContain('measured without the dose declared, as here');
  });

  it('carries the numbers it quotes as data, which read back from JSON unchanged', () => {
    for (const dose of [0.25, 0.1, 0.05, 0]) {
      const warning = lesionBiasWarning(pet, 'PT', dose)!;
      expect(warning.lesionBias).toEqual(lesionBiasAt(recovery, dose));
      expect(warning.lesionBias.minDiameterMm).toBe(LESION_BIAS_MIN_DIAMETER_MM);
      const level = dose > 0 ? '' : `${(warning.lesionBias.suvmean.level ?? NaN) * 100} %, `;
      expect(warning.message).toContain(`worst SUVmean ${shown(warning.lesionBias.suvmean.percent)} (${level}${warning.lesionBias.suvmean.source}, ${warning.lesionBias.suvmean.diameterMm} mm)`);
      expect(readLesionBias(JSON.parse(JSON.stringify(warning.lesionBias)))).toEqual(warning.lesionBias);
    }
  });

  it('reads no numbers out of a malformed or missing field', () => {
    const good = lesionBiasAt(recovery, 0.25)!;
    expect(readLesionBias(undefined)).toBeNull();
    expect(readLesionBias({ ...good, picked: 'nearest' })).toBeNull();
    expect(readLesionBias({ ...good, suvmax: { percent: '12', source: 'x', diameterMm: 37 } })).toBeNull();
    expect(readLesionBias({ ...good, smallerSuvmean: { percent: 1 } })).toBeNull();
    expect(readLesionBias({ ...good, doseDeclared: undefined })).toBeNull();
    expect(readLesionBias({ ...good, smallerSuvmean: null })).toEqual({ ...good, smallerSuvmean: null });
    expect(readLesionBias({ ...good, levels: [] })).toBeNull();
    expect(readLesionBias({ ...good, suvmean: { ...good.suvmean, level: '25 %' } })).toBeNull();
    // A report written before `levels` and the per-quantity `level`: read without them.
    const { levels: _levels, ...before } = good;
    const strip = ({ level: _level, ...m }: { level?: number; percent: number; source: string; diameterMm: number }) => m;
    const old = { ...before, suvmean: strip(good.suvmean), suvmax: strip(good.suvmax), smallerSuvmean: good.smallerSuvmean && strip(good.smallerSuvmean) };
    expect(readLesionBias(old)).toEqual(old);
  });

  it('quotes, without a dose, the worst of every measured level for each number, and the level it comes from', () => {
    const size = (diameterMm: number, suvmeanBiasPercent: number, suvmaxBiasPercent: number) => ({ diameterMm, lesions: 6, suvmeanBiasPercent, suvmaxBiasPercent });
    const set = (source: string, dose: number, bySize: ReturnType<typeof size>[]) => ({ source, dose, doseDeclared: false, averagedOver: 'x', file: 'f.json', command: 'c', bySize });
    // SUVmax and the small lesions worst at 25 %, SUVmean at 10 %: the lowest level alone hides two of them.
    const levels: LesionRecovery = {
      reference: 'r',
      doseDeclared: false,
      command: 'c',
      sets: [
        set('a', 0.25, [size(10, -20, 0), size(17, -3, 30), size(37, -1, 2)]),
        set('b', 0.1, [size(10, -12, 0), size(22, -8, 10), size(37, -2, -15)]),
      ],
    };
    expect(lesionBiasAt(levels, 0)).toEqual({
      level: 0.1,
      levels: [0.1, 0.25],
      picked: 'dose unknown',
      minDiameterMm: 17,
      suvmean: { percent: -8, source: 'b', diameterMm: 22, level: 0.1 },
      suvmax: { percent: 30, source: 'a', diameterMm: 17, level: 0.25 },
      smallerSuvmean: { percent: -20, source: 'a', diameterMm: 10, level: 0.25 },
      doseDeclared: false,
    });
    const message = lesionBiasWarning({ name: 'm', quality: { lesionRecovery: levels } }, 'PT', 0)!.message;
    expect(message).toContain('at 10 % and 25 % counts (the worst over the measured levels, each with the level it was measured at: the count level is unknown (no --dose)');
    expect(message).toContain('worst SUVmean -8.0 % (10 %, b, 22 mm), worst SUVmax +30.0 % (25 %, a, 17 mm)');
    expect(message).toContain('smaller lesions lose more: SUVmean -20.0 % (25 %, a, 10 mm)');
    // A declared dose still quotes its one level, without levels in the message.
    expect(lesionBiasAt(levels, 0.1)).toMatchObject({ level: 0.1, levels: [0.1], suvmax: { percent: -15, level: 0.1 } });
    expect(lesionBiasWarning({ name: 'm', quality: { lesionRecovery: levels } }, 'PT', 0.1)!.message).toContain('worst SUVmax -15.0 % (b, 37 mm)');
  });

  it('quotes the sets measured on the path the run took: declared dose or not', () => {
    const size = (diameterMm: number, suvmeanBiasPercent: number, suvmaxBiasPercent: number) => ({ diameterMm, lesions: 6, suvmeanBiasPercent, suvmaxBiasPercent });
    const set = (dose: number, doseDeclared: boolean | undefined, mean: number) => ({
      source: 'sts-001 inserted lesions',
      dose,
      ...(doseDeclared === undefined ? {} : { doseDeclared }),
      averagedOver: 'x',
      file: 'f.json',
      command: 'c',
      bySize: [size(10, 2 * mean, 0), size(17, mean, 5)],
    });
    const both: LesionRecovery = { reference: 'r', doseDeclared: true, command: 'c', sets: [set(0.25, true, -4), set(0.1, true, -9), set(0.25, false, -3), set(0.1, false, -2)] };
    expect(lesionBiasAt(both, 0.25)).toMatchObject({ level: 0.25, doseDeclared: true, suvmean: { percent: -4 } });
    expect(lesionBiasAt(both, 0.1)).toMatchObject({ level: 0.1, doseDeclared: true, suvmean: { percent: -9 } });
    // Unknown dose: the worst over the levels measured without the dose declared, never a declared set.
    expect(lesionBiasAt(both, 0)).toMatchObject({ level: 0.1, picked: 'dose unknown', doseDeclared: false, suvmean: { percent: -3, level: 0.25 }, smallerSuvmean: { percent: -6, level: 0.25 } });
    const named = { name: 'm', quality: { lesionRecovery: both } };
    expect(lesionBiasWarning(named, 'PT', 0)!.message).toContain('(the worst over the measured levels, each with the level it was measured at: the count level is unknown (no --dose); measured without the dose declared, as here)');
    expect(lesionBiasWarning(named, 'PT', 0.25)!.message).toContain('(the nearest measured level at or below the declared 25 %; measured with the dose declared, as here)');
    // Without --dose it also says what declaring the count level was measured to give at that level; with --dose it does not.
    expect(lesionBiasWarning(named, 'PT', 0)!.message).toMatch(/Declaring the count level \(--dose\) when it is known .*measured with --dose 0\.1, worst SUVmean -9\.0 %, worst SUVmax \+5\.0 %$/);
    expect(lesionBiasWarning(named, 'PT', 0.1)!.message).not.toContain('Declaring the count level');
    // A card measured on one path only (sets that do not say: the block's doseDeclared) quotes it on the other and says so.
    const declaredOnly: LesionRecovery = { ...both, sets: [set(0.25, undefined, -4), set(0.1, undefined, -9)] };
    expect(lesionBiasAt(declaredOnly, 0)).toMatchObject({ level: 0.1, levels: [0.1, 0.25], picked: 'dose unknown', doseDeclared: true, suvmean: { percent: -9, level: 0.1 } });
    expect(lesionBiasWarning({ name: 'm', quality: { lesionRecovery: declaredOnly } }, 'PT', 0)!.message).toContain('measured with the dose declared only');
    expect(lesionBiasWarning({ name: 'm', quality: { lesionRecovery: declaredOnly } }, 'PT', 0)!.message).not.toContain('Declaring the count level');
    const unknownOnly: LesionRecovery = { ...both, sets: [set(0.25, false, -3), set(0.1, false, -2)] };
    expect(lesionBiasAt(unknownOnly, 0.25)).toMatchObject({ level: 0.25, picked: 'at or below', doseDeclared: false, suvmean: { percent: -3 } });
    expect(lesionBiasWarning({ name: 'm', quality: { lesionRecovery: unknownOnly } }, 'PT', 0.25)!.message).toContain('measured without the dose declared only');
  });

  it('says nothing for CT, nor for a card without the measurements', () => {
    expect(lesionBiasWarning(pet, 'CT', 0.25)).toBeNull();
    expect(lesionBiasWarning(card('lowdose-ct'), 'CT', 0.25)).toBeNull();
    expect(lesionBiasWarning({ name: 'x', quality: {} }, 'PT', 0.25)).toBeNull();
  });
});

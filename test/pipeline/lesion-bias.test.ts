/**
 * E_LESION_BIAS in the denoise report: every PET series denoised with a card that carries its
 * measured lesion SUV bias says so, at the run's count level and from the measurements of the run's
 * path (dose declared or not); CT series and classical filters do not; a rerun that skips a
 * finished series keeps it (RUN_WARNING_CODES).
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { lesionRecoveryOf, parseModelCard } from '../../src/models/card.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';

const PET_DIR = fileURLToPath(new URL('../../fixtures/iec/dose10', import.meta.url));
const CT_DIR = fileURLToPath(new URL('../../fixtures/water/dose25', import.meta.url));
const CT_MODEL = fileURLToPath(new URL('../fixtures-models/bench-conv.json', import.meta.url));
const PET_CARD = fileURLToPath(new URL('../../models/lowdose-pet.json', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'lowdose-lesion-bias-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const petCardJson = JSON.parse(readFileSync(PET_CARD, 'utf8')) as { quality: Record<string, unknown> };
const recovery = lesionRecoveryOf(parseModelCard(petCardJson, PET_CARD))!;
const codes = (report: DenoiseReport) => report.series.flatMap((s) => s.warnings.map((w) => w.code));
const lesionWarning = (report: DenoiseReport) => report.series[0]!.warnings.find((w) => w.code === 'E_LESION_BIAS');
const run = (name: string, paths: string[], options: Record<string, unknown>) =>
  denoisePaths(paths, { outDir: join(root, name), device: 'cpu', threads: 1, writeReport: true, ...options });

describe('E_LESION_BIAS in the denoise report', () => {
  it("warns on a PET series denoised with the shipped card at its declared dose, with the card's numbers", async () => {
    const report = await run('pet-declared', [PET_DIR], { doseLevel: 0.1 });
    const warning = lesionWarning(report)!;
    expect(warning).toBeDefined();
    const at10 = recovery.sets.filter((s) => s.dose === 0.1).flatMap((s) => s.bySize.filter((b) => b.diameterMm >= 17));
    const worstMean = at10.reduce((w, b) => (Math.abs(b.suvmeanBiasPercent) > Math.abs(w) ? b.suvmeanBiasPercent : w), 0);
    expect(warning.message).toContain('at 10 % counts (the nearest measured level at or below the declared 10 %; measured with the dose declared, as here)');
    expect(warning.message).toContain(`worst SUVmean ${worstMean.toFixed(1)} %`);
    // The same numbers as data, in the report.json on disk too.
    expect(warning.lesionBias).toMatchObject({ level: 0.1, picked: 'at or below', minDiameterMm: 17, doseDeclared: true, suvmean: { percent: worstMean } });
    const onDisk = JSON.parse(readFileSync(join(root, 'pet-declared', 'report.json'), 'utf8')) as DenoiseReport;
    expect(lesionWarning(onDisk)).toEqual(warning);
    // The rerun skips the finished series and keeps the run's warning from its marker, numbers and all.
    const again = await run('pet-declared', [PET_DIR], { doseLevel: 0.1 });
    expect(again.series[0]!.skipped).toBe(true);
    expect(lesionWarning(again)).toEqual(warning);
  });

  it('says the count level is unknown when no dose is declared', async () => {
    const report = await run('pet-unknown', [PET_DIR], {});
    const warning = lesionWarning(report)!;
    expect(warning.message).toContain('at 10 % and 25 % counts (the worst over the measured levels, each with the level it was measured at: the count level is unknown (no --dose)');
    // Quoted from the card's sets measured without the dose declared, the path this run took, the worst of both levels.
    const unknown = recovery.sets.filter((s) => s.doseDeclared === false).flatMap((s) => s.bySize.filter((b) => b.diameterMm >= 17).map((b) => ({ ...b, level: s.dose })));
    const worst = unknown.reduce((w, b) => (Math.abs(b.suvmaxBiasPercent) > Math.abs(w.suvmaxBiasPercent) ? b : w));
    expect(warning.lesionBias).toMatchObject({ level: 0.1, levels: [0.1, 0.25], picked: 'dose unknown', doseDeclared: false, suvmax: { percent: worst.suvmaxBiasPercent, level: worst.level } });
    expect(warning.message).toContain('measured without the dose declared, as here');
  });

  it('does not warn for a classical filter on PET, nor for CT even when its card carries the block', async () => {
    expect(codes(await run('pet-gaussian', [PET_DIR], { method: 'gaussian', doseLevel: 0.1 }))).not.toContain('E_LESION_BIAS');
    const dir = mkdtempSync(join(root, 'ct-card-'));
    const ctCard = JSON.parse(readFileSync(CT_MODEL, 'utf8')) as { quality?: Record<string, unknown> };
    writeFileSync(join(dir, 'bench-conv.json'), JSON.stringify({ ...ctCard, quality: { ...ctCard.quality, lesionRecovery: petCardJson.quality['lesionRecovery'] } }));
    copyFileSync(CT_MODEL.replace(/\.json$/, '.onnx'), join(dir, 'bench-conv.onnx'));
    const ct = await run('ct', [CT_DIR], { model: join(dir, 'bench-conv.json'), doseLevel: 0.25 });
    expect(ct.series).toHaveLength(1);
    expect(codes(ct)).not.toContain('E_LESION_BIAS');
  });
});

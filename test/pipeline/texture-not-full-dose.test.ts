/**
 * E_TEXTURE_NOT_FULL_DOSE: `--texture full-dose` at a dose where the model card's measurement
 * (`quality.fullDoseTexture`) says the output's noise is not a full-dose scan's (noise SD within
 * 25 %, NPS peak within 15 % of the full dose's) says so in every series' report, with the measured
 * numbers and the command; smooth output, doses where it holds and cards without the block do not.
 * A dose between two measured ones passes only when both do; below every measured one it warns.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fullDoseTextureOf, parseModelCard, type FullDoseTextureMeasured } from '../../src/models/card.js';
import { Denoiser } from '../../src/models/denoiser.js';
import { decidingRows, textureNotFullDoseWarning } from '../../src/models/texture-fidelity.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { signedPercentText } from '../../src/util/percent.js';
import { runCli } from '../helpers/cli.js';

const CT_CARD = fileURLToPath(new URL('../../models/lowdose-ct.json', import.meta.url));
const WATER_10 = fileURLToPath(new URL('../../fixtures/water/dose10', import.meta.url));
const SMALL_MODEL = fileURLToPath(new URL('../fixtures-models/bench-conv.json', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'lowdose-texture-warning-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const shipped = fullDoseTextureOf(parseModelCard(JSON.parse(readFileSync(CT_CARD, 'utf8')), CT_CARD))!;
const CODE = 'E_TEXTURE_NOT_FULL_DOSE';
const codes = (warnings: readonly { code: string }[]) => warnings.map((w) => w.code);

async function warningsOf(settings: { texture: 'smooth' | 'full-dose'; doseLevel?: number }) {
  const denoiser = await Denoiser.load('lowdose-ct', { modality: 'CT', device: 'cpu', threads: 1, ...settings });
  try {
    return denoiser.warnings;
  } finally {
    await denoiser.release();
  }
}

/** A card with rows at 10 % (misses), 20 % (misses) and 25 % and 50 % (hold). */
const measured: FullDoseTextureMeasured = {
  measuredOn: 'water',
  command: 'npx tsx x.ts',
  rows: [
    { dose: 0.1, noiseVsFull: 0.12, npsPeakVsFull: -0.8 },
    { dose: 0.2, noiseVsFull: 0.3, npsPeakVsFull: -0.1 },
    { dose: 0.25, noiseVsFull: 0.05, npsPeakVsFull: -0.02 },
    { dose: 0.5, noiseVsFull: -0.1, npsPeakVsFull: 0.1 },
  ],
};
const card = { name: 'm', quality: { fullDoseTexture: measured } };
const fullDoseAt = (dose: number) => ({ mode: 'full-dose', dose, doseFrom: 'input' as const });

describe('E_TEXTURE_NOT_FULL_DOSE', () => {
  it('warns when full-dose texture is asked for at 10 % dose with the shipped CT model, quoting its measured numbers and the command', async () => {
    const row = shipped.rows.find((r) => r.dose === 0.1)!;
    expect(Math.abs(row.npsPeakVsFull)).toBeGreaterThan(0.15);
    const warning = (await warningsOf({ texture: 'full-dose', doseLevel: 0.1 })).find((w) => w.code === CODE)!;
    expect(warning).toMatchObject({ path: null, code: CODE });
    expect(warning.message).toContain('full-dose texture at 10 % dose is not a full-dose scan');
    const range = ([lo, hi]: readonly [number, number]) => `(${signed(lo)} to ${signed(hi)})`;
    expect(warning.message).toContain(
      `10 %: noise SD ${signed(row.noiseVsFull)} ${range(row.realisations!.noiseVsFull)}, NPS peak ${signed(row.npsPeakVsFull)} ${range(row.realisations!.npsPeakVsFull)}, NPS peak outside.`,
    );
    expect(warning.message).toContain(shipped.command);
  });

  it('does not warn at 25 % dose with the shipped CT model, nor for smooth output at 10 %', async () => {
    expect(codes(await warningsOf({ texture: 'full-dose', doseLevel: 0.25 }))).not.toContain(CODE);
    expect(codes(await warningsOf({ texture: 'smooth', doseLevel: 0.1 }))).not.toContain(CODE);
  });

  it("judges an unknown dose at the card's default dose, as full-dose texture assumes it", async () => {
    // lowdose-ct's default is 25 %: the dose warning only.
    expect(codes(await warningsOf({ texture: 'full-dose' }))).toEqual(['E_DOSE_UNKNOWN']);
    const assumed = textureNotFullDoseWarning(card, { mode: 'full-dose', dose: 0.1, doseFrom: 'model card' }, false);
    expect(assumed?.message).toContain("at 10 % (assumed: the model card's default, no --dose) dose");
  });

  it('does not warn with a card without the measurement', () => {
    expect(textureNotFullDoseWarning({ name: 'm', quality: {} }, fullDoseAt(0.1), false)).toBeNull();
    expect(textureNotFullDoseWarning({ name: 'm', quality: {} }, fullDoseAt(0.01), false)).toBeNull();
  });

  it('passes a dose between two measured ones only when both hold, and warns below every measured dose', () => {
    expect(decidingRows(measured, 0.25).rows.map((r) => r.dose)).toEqual([0.25]);
    expect(textureNotFullDoseWarning(card, fullDoseAt(0.3), false)).toBeNull();
    expect(textureNotFullDoseWarning(card, fullDoseAt(0.8), false)).toBeNull();
    // 22 %: between the failing 20 % (noise +30 %) and the passing 25 %.
    const between = textureNotFullDoseWarning(card, fullDoseAt(0.22), false)!;
    expect(between.message).toContain('It lies between two measured doses and passes only where both do: 20 %: noise SD +30.0 %, NPS peak -10.0 %, noise outside; 25 %: noise SD +5.0 %, NPS peak -2.0 %, within the limits.');
    const below = textureNotFullDoseWarning({ name: 'm', quality: { fullDoseTexture: { ...measured, rows: measured.rows.slice(2) } } }, fullDoseAt(0.2), false)!;
    expect(below.message).toContain('It is below every measured dose (not measured there); the lowest: 25 %: noise SD +5.0 %');
    expect(textureNotFullDoseWarning(card, fullDoseAt(0.1), true)!.message).toContain('Measured without low-band denoising, which this run adds');
  });

  it('is in the report.json of a denoise run and in its text output, and a rerun that skips the series keeps it', async () => {
    const out = join(root, 'water10');
    const report = await denoisePaths([WATER_10], { outDir: out, device: 'cpu', threads: 1, writeReport: true, texture: 'full-dose', doseLevel: 0.1 });
    const onDisk = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as DenoiseReport;
    const warning = onDisk.series[0]!.warnings.find((w) => w.code === CODE);
    expect(warning?.message).toContain('NPS peak');
    expect(report.series[0]!.warnings.find((w) => w.code === CODE)).toEqual(warning);
    const again = await denoisePaths([WATER_10], { outDir: out, device: 'cpu', threads: 1, texture: 'full-dose', doseLevel: 0.1 });
    expect(again.series[0]!.skipped).toBe(true);
    expect(again.series[0]!.warnings.find((w) => w.code === CODE)).toEqual(warning);
    const text = await runCli('denoise', WATER_10, '-o', join(root, 'text'), '--texture', 'full-dose', '--dose', '0.1', '--threads', '1', '--no-progress');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/warning \[E_TEXTURE_NOT_FULL_DOSE\] full-dose texture at 10 % dose/);
    // A small CT model whose card has no measurement: no warning.
    const none = await runCli('denoise', WATER_10, '-o', join(root, 'small'), '--model', SMALL_MODEL, '--texture', 'full-dose', '--dose', '0.1', '--json', '--no-progress');
    expect(none.code).toBe(0);
    expect(codes((JSON.parse(none.stdout) as DenoiseReport).series[0]!.warnings)).not.toContain(CODE);
  }, 120_000);
});

/** -0.811 -> "-81.1 %" (the message's form). */
const signed = (fraction: number) => signedPercentText(fraction * 100);

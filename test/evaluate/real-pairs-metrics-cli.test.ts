/**
 * The model card's real quarter-dose table (models/README.md) scores the field with the Siemens
 * corners left out (scripts/evaluate/real-pairs.ts), while `lowdose metrics` counts them. The card's
 * table "The input's numbers with `lowdose metrics`" says both, with the command of each: its field
 * row is models/eval/ct-real.json's input row, and its other two rows are what `lowdose metrics`
 * (runMetrics, the command's library call) gives on the same slices, by default and with
 * `--region patient`, which is also ct-real.json's `patient` column.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RealPairsResult } from '../../scripts/evaluate/real-pairs/report.js';
import { runMetrics } from '../../src/pipeline/metrics.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const DATA = path.resolve(REPO, '../shared/ldct-mayo');
const GROUPS = ['L143/B30f', 'L143/D45f', 'L192/B30f', 'L192/D45f'] as const;

/** The card's row whose first cell starts with `label`: the four groups' "PSNR / SSIM" cells. */
function cardRow(label: string): string[] {
  const line = readFileSync(path.join(REPO, 'models/README.md'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`| ${label}`));
  expect(line, `models/README.md has no row "${label}"`).toBeDefined();
  return line!.split('|').slice(2, 2 + GROUPS.length).map((c) => c.trim());
}

describe.runIf(existsSync(DATA))("the model card's input numbers and the commands that give them", () => {
  const committed = JSON.parse(readFileSync(path.join(REPO, 'models/eval/ct-real.json'), 'utf8')) as RealPairsResult;
  const input = committed.methods.find((m) => m.id === 'input')!;

  it('the field row is the real-pairs evaluation of the input (corners left out)', () => {
    expect(cardRow('the field, corners left out')).toEqual(GROUPS.map((g) => `${input.groups[g]!.psnr.hu.toFixed(2)} / ${input.groups[g]!.ssim.hu.toFixed(4)}`));
  });

  it('the every-pixel and patient rows are what lowdose metrics prints, the patient one also the evaluation\'s patient column', async () => {
    const all: string[] = [];
    const patient: string[] = [];
    for (const group of GROUPS) {
      const paths = { reference: path.join(DATA, group, 'full'), test: path.join(DATA, group, 'quarter') };
      const field = (await runMetrics(paths)).result;
      const inside = (await runMetrics({ ...paths, region: 'patient' })).result;
      expect(field.mean.psnr, group).not.toBeNull();
      all.push(`${field.mean.psnr!.toFixed(3)} / ${field.mean.ssim.toFixed(5)}`);
      patient.push(`${inside.mean.psnr!.toFixed(3)} / ${inside.mean.ssim.toFixed(5)}`);
      expect(inside.mean.psnr!.toFixed(2), group).toBe(input.groups[group]!.psnr.huPatient.toFixed(2));
      expect(inside.mean.ssim.toFixed(4), group).toBe(input.groups[group]!.ssim.huPatient.toFixed(4));
    }
    expect(cardRow("every pixel (`lowdose metrics`' default)")).toEqual(all);
    expect(cardRow('inside the patient outline')).toEqual(patient);
  }, 120_000);
});

/**
 * The comparison API says what `lowdose metrics` / `denoise --reference` say of a pair that lines
 * up but is suspect (src/metrics/pairing-warnings.ts): GET /api/comparisons/:id `pairingWarnings`,
 * for the low-dose and the denoised series against the reference, however the comparison was
 * paired. A reference of another ConvolutionKernel found by the DICOM headers alone (the body
 * phantom study of ./fixture-study.ts, its files relabelled B30f / D45f), one named by
 * `denoise --reference`'s report.json (the water fixture, relabelled alike), and a gate of a gated
 * PET acquisition denoised against an ungated series (make-pet-timing.py's gated set, pydicom).
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { ComparisonDetail } from '../../src/server/api-types.js';
import { relabelFiles } from '../helpers/mutate-dicom.js';
import { hasPydicom, makeGateAndUngated, makePetTiming } from '../helpers/pet-timing.js';
import { listedComparisons, serverOver } from '../helpers/server-app.js';
import { writeFixtureStudy } from './fixture-study.js';

const WATER = fileURLToPath(new URL('../../fixtures/water/', import.meta.url));

let root = '';
const apps: FastifyInstance[] = [];

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-pairing-warnings-'));
});

afterAll(async () => {
  for (const app of apps) await app.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Every .dcm file of `dir` written with ConvolutionKernel (0018,1210) `kernel`. */
const relabelKernel = (dir: string, kernel: string) => relabelFiles(dir, 'x00181210', 'SH', kernel);

/** The server over `data` and the detail of each comparison it lists. */
async function comparisonsOver(name: string, data: string): Promise<ComparisonDetail[]> {
  const app = await serverOver(path.join(root, name), data);
  apps.push(app);
  const details: ComparisonDetail[] = [];
  for (const summary of await listedComparisons(app)) {
    const response = await app.inject({ url: `/api/comparisons/${summary.id}` });
    expect(response.statusCode).toBe(200);
    details.push(response.json() as ComparisonDetail);
  }
  return details;
}

describe('pairing warnings in the comparison API', () => {
  it('says W_KERNEL_MISMATCH for the low-dose and the denoised scores against a reference of another kernel found by the headers alone', async () => {
    const study = await writeFixtureStudy(path.join(root, 'headers'), { size: 32, slices: 3, denoised: 'headers' });
    const same = path.join(root, 'headers-same-kernel');
    cpSync(study.root, same, { recursive: true });
    relabelKernel(study.fullDoseDir, 'B30f');
    relabelKernel(study.lowDoseDir, 'D45f');
    relabelKernel(study.denoisedDir!, 'D45f');

    const [comparison, ...others] = await comparisonsOver('server-headers', study.root);
    expect(others).toEqual([]);
    expect([comparison!.pairedBy, comparison!.reference !== null]).toEqual(['headers', true]);
    expect(comparison!.pairingWarnings).toEqual([
      { code: 'W_KERNEL_MISMATCH', scores: 'lowDose', message: expect.stringMatching(/^the reference was reconstructed with kernel B30f and the low-dose with D45f: /) as unknown },
      { code: 'W_KERNEL_MISMATCH', scores: 'denoised', message: expect.stringMatching(/^the reference was reconstructed with kernel B30f and the denoised with D45f: /) as unknown },
    ]);

    // The same study as written (no kernel named): nothing to say.
    const [plain] = await comparisonsOver('server-headers-same', same);
    expect([plain!.pairedBy, plain!.reference !== null, plain!.pairingWarnings]).toEqual(['headers', true, []]);
  }, 60_000);

  it('says W_KERNEL_MISMATCH for a reference of another kernel named by denoise --reference in report.json, and nothing for one of the same kernel', async () => {
    const data = path.join(root, 'report');
    for (const [name, kernel] of [['dose100', 'B30f'], ['dose25', 'D45f'], ['dose10', 'B30f']] as const) {
      cpSync(path.join(WATER, name), path.join(data, name), { recursive: true });
      relabelKernel(path.join(data, name), kernel);
    }
    const report = await denoisePaths([path.join(data, 'dose25'), path.join(data, 'dose10')], {
      outDir: path.join(data, 'denoised'),
      method: 'gaussian',
      reference: [path.join(data, 'dose100')],
    });
    expect(report.errors).toEqual([]);

    const comparisons = await comparisonsOver('server-report', data);
    expect(comparisons.map((c) => [c.pairedBy, c.reference !== null])).toEqual([
      ['report', true],
      ['report', true],
    ]);
    const warned = comparisons.filter((c) => c.pairingWarnings!.length > 0);
    expect(warned).toHaveLength(1);
    expect(warned[0]!.pairingWarnings!.map((w) => [w.code, w.scores, /^the reference was reconstructed with kernel B30f and the (low-dose|denoised) with D45f/.test(w.message)])).toEqual([
      ['W_KERNEL_MISMATCH', 'lowDose', true],
      ['W_KERNEL_MISMATCH', 'denoised', true],
    ]);
  }, 60_000);

  it.skipIf(!hasPydicom)('says W_GATE_AGAINST_UNGATED, naming the gate, for a gate denoised against an ungated reference', async () => {
    const dir = path.join(root, 'gates');
    makePetTiming(path.join(dir, 'in'));
    const data = path.join(root, 'gates-data');
    const { gate2, ungated } = makeGateAndUngated(path.join(dir, 'in', 'gated'), data);
    const report = await denoisePaths([gate2], { outDir: path.join(data, 'denoised'), method: 'gaussian', reference: [ungated] });
    expect(report.errors).toEqual([]);

    const [comparison, ...others] = await comparisonsOver('server-gates', data);
    expect(others).toEqual([]);
    expect([comparison!.pairedBy, comparison!.reference !== null]).toEqual(['report', true]);
    expect(comparison!.pairingWarnings!.map((w) => [w.code, w.scores, w.message.split(':')[0]])).toEqual([
      ['W_GATE_AGAINST_UNGATED', 'lowDose', expect.stringMatching(/^the low-dose is gate 2 of 6 \(TriggerTime 250 ms\) of a gated acquisition and the reference .* is not gated$/)],
      ['W_GATE_AGAINST_UNGATED', 'denoised', expect.stringMatching(/^the denoised is gate 2 of 6 \(TriggerTime 250 ms\) of a gated acquisition and the reference .* is not gated$/)],
    ]);
  }, 120_000);
});

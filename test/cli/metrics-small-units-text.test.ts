/** `lowdose metrics` text output in units whose values are far below 1 (GE PET in PROPCPS). */
import path from 'node:path';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
// GE PET slice in PROPCPS without a patient weight (SUV refused): values up to 1.9e-3.
const GH610 = path.resolve(ROOT, '../shared/dicom/fo-dicom__fo-dicom/Tests/FO-DICOM.Tests/Test Data/GH610.dcm');

describe('metrics text output in small units', () => {
  it('prints lesion means, maxima and peaks in PROPCPS with significant digits instead of 0.000', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-small-units-'));
    try {
      const lesions = path.join(dir, 'lesions.json');
      await writeFile(lesions, JSON.stringify({ lesions: [{ name: 'body', centre: [0, 0, -782.19], radius: 100 }] }));
      const run = await runCli('metrics', '--reference', GH610, '--test', GH610, '--lesions', lesions);
      expect(run.code).toBe(0);
      const line = run.stdout.split('\n').find((l) => l.startsWith('body'));
      expect(line).toBeDefined();
      // Mean 1.543e-4 and maximum 5.175e-4 PROPCPS in the sphere: shown with 4 significant digits, cells still apart.
      expect(line).toMatch(/^body\s+1044\s+0\.0001543 -> 0\.0001543 \(1\.000\)\s+0\.0005175 -> 0\.0005175 \(1\.000\)\s+0\.000\d+ -> /);
      expect(line).not.toMatch(/\b0\.000 ->/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '..', '..');

interface Row {
  readonly set: string;
  readonly samples: number;
  readonly declaredDose: number;
  readonly lowCount: boolean;
  readonly heldOut: boolean;
  readonly rmsError: number;
}

describe('scripts/uncertainty/calibrate.ts dose paths (PET)', () => {
  it('denoises each IEC series with its dose unknown and declared, and the declared 10 % series takes the card low-count step', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'lowdose-calibrate-'));
    try {
      // K = 2 only: one seeded denoiser run per series, 4 slices of 128 x 128 each.
      await promisify(execFile)(path.join(REPO, 'node_modules', '.bin', 'tsx'), ['scripts/uncertainty/calibrate.ts', '--modality', 'PT', '--samples', '2', '--weights', 'card', '--out', out], {
        cwd: REPO,
        maxBuffer: 1 << 24,
      });
      const report = JSON.parse(readFileSync(path.join(out, 'uncertainty-pet-card-weights.json'), 'utf8')) as { dosePaths: string[]; rows: Row[]; command: string };
      expect(report.dosePaths).toEqual(['unknown', 'declared']);
      const row = (set: string) => report.rows.find((r) => r.set === set)!;
      expect(row('iec dose10')).toMatchObject({ declaredDose: 0, lowCount: false, heldOut: true });
      expect(row('iec dose10 declared')).toMatchObject({ declaredDose: 0.1, lowCount: true, heldOut: true });
      // 25 % is above the card's belowDose (0.16): declared, but no low-count step.
      expect(row('iec dose25 declared')).toMatchObject({ declaredDose: 0.25, lowCount: false });
      expect(row('iec dose12 declared')).toMatchObject({ declaredDose: 0.125, lowCount: true });
      // The declared run is another denoiser output, not the unknown-dose one relabelled.
      expect(row('iec dose10 declared').rmsError).not.toBe(row('iec dose10').rmsError);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});

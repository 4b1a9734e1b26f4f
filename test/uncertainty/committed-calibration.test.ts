/**
 * The PET model card's uncertainty calibration is what today's code fits and measures: the
 * calibration the card quotes (models/eval/uncertainty-pet.json, written with the card's
 * `uncertainty` block by `scripts/uncertainty/calibrate.ts --modality PT --write-card`) is re-run
 * with the command it records (IEC fixture, K = 2, 4, 8, both dose paths; about 40 s) and compared
 * number by number, and the card's block is checked against the file: the weights of every K and
 * the held-out coverage and rank correlation at the card's K. A change to the sampler, the
 * consistency step, the ensemble, the uncertainty formula or its statistics that moves them fails
 * here; the fix is to re-run the command and re-read what quotes it (docs/uncertainty.md).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { jsonDifferences } from '../helpers/json-differences.js';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const COMMITTED = path.join(REPO, 'models/eval/uncertainty-pet.json');
const CARD = path.join(REPO, 'models/lowdose-pet.json');

/** The file keeps 4 to 5 significant digits; another CPU's kernels move the last bits of the output. */
const TOLERANCE = 1e-3;

interface Fit {
  readonly samples: number;
  readonly spreadScale: number;
  readonly noiseScale: number;
  readonly noiseLevelScale: number;
  readonly windowMm: number;
}
interface Row {
  readonly set: string;
  readonly samples: number;
  readonly heldOut: boolean;
  readonly after: { readonly spearman: number; readonly coverage: number };
}
interface CalibrationReport {
  readonly command: string;
  readonly fits: Fit[];
  readonly rows: Row[];
}
interface CardBlock {
  readonly samples: number;
  readonly calibration: Array<{ samples: number; spreadScale: number; noiseScale: number; noiseWindowMm: number; noiseLevelScale: number }>;
  readonly heldOut: Array<{ set: string; spearman: number; coverage: number }>;
}

describe('committed PET uncertainty calibration', () => {
  const committed = JSON.parse(readFileSync(COMMITTED, 'utf8')) as CalibrationReport;

  it("the card's uncertainty block is the committed calibration's", () => {
    const block = (JSON.parse(readFileSync(CARD, 'utf8')) as { uncertainty: CardBlock }).uncertainty;
    expect(block.calibration).toEqual(
      committed.fits.map((f) => ({ samples: f.samples, spreadScale: f.spreadScale, noiseScale: f.noiseScale, noiseWindowMm: f.windowMm, noiseLevelScale: f.noiseLevelScale })),
    );
    expect(block.heldOut).toEqual(
      committed.rows.filter((r) => r.heldOut && r.samples === block.samples).map((r) => ({ set: r.set, spearman: r.after.spearman, coverage: r.after.coverage })),
    );
  });

  it('models/eval/uncertainty-pet.json is what the command it records gives today', async () => {
    const words = committed.command.split(/\s+/);
    expect(words.slice(0, 3)).toEqual(['npx', 'tsx', 'scripts/uncertainty/calibrate.ts']);
    const args = words.slice(3).filter((w) => w !== '--write-card');
    const out = mkdtempSync(path.join(os.tmpdir(), 'lowdose-calibration-committed-'));
    try {
      await promisify(execFile)(path.join(REPO, 'node_modules', '.bin', 'tsx'), ['scripts/uncertainty/calibrate.ts', ...args, '--threads', '1', '--out', out], {
        cwd: REPO,
        maxBuffer: 1 << 24,
      });
      const now = JSON.parse(readFileSync(path.join(out, 'uncertainty-pet.json'), 'utf8')) as CalibrationReport;
      const changes = jsonDifferences({ ...committed, command: null }, { ...now, command: null }, 'uncertainty-pet', TOLERANCE);
      expect(changes, 'models/eval/uncertainty-pet.json no longer matches the code').toEqual([]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 240_000);
});

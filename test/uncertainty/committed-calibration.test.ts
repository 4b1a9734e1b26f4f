/**
 * The model cards' uncertainty calibrations are what today's code fits and measures.
 *
 * PET: the calibration the card quotes (models/eval/uncertainty-pet.json, written with the card's
 * `uncertainty` block by `scripts/uncertainty/calibrate.ts --modality PT --write-card`) is re-run
 * with the command it records (IEC fixture, K = 2, 4, 8, both dose paths; about 40 s) and compared
 * number by number.
 *
 * CT: the full calibration is 22 series (one simulated series alone takes 20 to 40 s on one
 * thread), so the card's weights are re-measured on one held-out series of each kind (`--weights
 * card --sets`: the real Mayo L192 pairs, a simulated test volume, a phantom; about 60 s) and each
 * row compared with the committed one. The fit itself is not re-run: a change to the fit alone
 * passes here, a change to what the denoiser gives or how a row is measured fails.
 *
 * For both, the card's block is checked against the file: the weights of every K and the held-out
 * coverage and rank correlation at the card's K. A change to the sampler, the consistency step, the
 * ensemble, the uncertainty formula or its statistics that moves them fails here; the fix is to
 * re-run the command and re-read what quotes it (docs/uncertainty.md).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { jsonDifferences } from '../helpers/json-differences.js';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const TSX = path.join(REPO, 'node_modules', '.bin', 'tsx');

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
  readonly [field: string]: unknown;
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

const readJson = <T>(file: string): T => JSON.parse(readFileSync(path.join(REPO, file), 'utf8')) as T;

/** Runs calibrate.ts with `args` into a temporary folder and returns the report it wrote there as `name`. */
async function calibrate(args: readonly string[], name: string): Promise<CalibrationReport> {
  const out = mkdtempSync(path.join(os.tmpdir(), 'lowdose-calibration-committed-'));
  try {
    await promisify(execFile)(TSX, ['scripts/uncertainty/calibrate.ts', ...args, '--threads', '1', '--out', out], { cwd: REPO, maxBuffer: 1 << 24 });
    return JSON.parse(readFileSync(path.join(out, name), 'utf8')) as CalibrationReport;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

describe.each([
  { modality: 'PET', committedFile: 'models/eval/uncertainty-pet.json', cardFile: 'models/lowdose-pet.json' },
  { modality: 'CT', committedFile: 'models/eval/uncertainty-ct.json', cardFile: 'models/lowdose-ct.json' },
])('committed $modality uncertainty calibration', ({ committedFile, cardFile }) => {
  it("the card's uncertainty block is the committed calibration's", () => {
    const committed = readJson<CalibrationReport>(committedFile);
    const block = readJson<{ uncertainty: CardBlock }>(cardFile).uncertainty;
    expect(block.calibration).toEqual(
      committed.fits.map((f) => ({ samples: f.samples, spreadScale: f.spreadScale, noiseScale: f.noiseScale, noiseWindowMm: f.windowMm, noiseLevelScale: f.noiseLevelScale })),
    );
    expect(block.heldOut).toEqual(
      committed.rows.filter((r) => r.heldOut && r.samples === block.samples).map((r) => ({ set: r.set, spearman: r.after.spearman, coverage: r.after.coverage })),
    );
  });
});

describe('committed uncertainty calibrations re-measured', () => {
  it('models/eval/uncertainty-pet.json is what the command it records gives today', async () => {
    const committed = readJson<CalibrationReport>('models/eval/uncertainty-pet.json');
    const words = committed.command.split(/\s+/);
    expect(words.slice(0, 3)).toEqual(['npx', 'tsx', 'scripts/uncertainty/calibrate.ts']);
    const now = await calibrate(words.slice(3).filter((w) => w !== '--write-card'), 'uncertainty-pet.json');
    const changes = jsonDifferences({ ...committed, command: null }, { ...now, command: null }, 'uncertainty-pet', TOLERANCE);
    expect(changes, 'models/eval/uncertainty-pet.json no longer matches the code').toEqual([]);
  }, 240_000);

  it("models/eval/uncertainty-ct.json's held-out rows at the card's K are what the card's weights give today", async () => {
    const committed = readJson<CalibrationReport>('models/eval/uncertainty-ct.json');
    const K = readJson<{ uncertainty: CardBlock }>('models/lowdose-ct.json').uncertainty.samples;
    // One of each kind of held-out data: real quarter dose (both kernels), a simulated test volume, a phantom.
    const sets = ['Mayo L192 B30f', 'Mayo L192 D45f', 'crlm-1006-abdomen dose25', 'body dose25'];
    const now = await calibrate(['--modality', 'CT', '--weights', 'card', '--samples', String(K), '--sets', sets.join(',')], 'uncertainty-ct-card-weights-sets.json');
    expect(now.rows.map((r) => r.set)).toEqual(sets);
    for (const row of now.rows) {
      const before = committed.rows.find((r) => r.set === row.set && r.samples === K);
      expect(before, `${row.set} is not in models/eval/uncertainty-ct.json`).toBeDefined();
      expect(jsonDifferences(before, row, row.set, TOLERANCE), 'models/eval/uncertainty-ct.json no longer matches the code').toEqual([]);
    }
  }, 300_000);
});

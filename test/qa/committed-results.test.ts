/**
 * The QA results committed under models/eval/ are what today's code and models measure. The model
 * card, docs/qa.md and the QA gate of a promotion (`qa-gate.ts --baseline-json`) quote them; their
 * `settings.modelFingerprint` says which model files ran, but not which code: a change to the
 * sampler, a consistency step, a check or the fixtures' reading would leave them stale without
 * this test. Each file is re-run here with the settings it records (fixtures and thresholds of this
 * checkout) and every check is compared with it. A failure names the checks that moved; the fix
 * is to regenerate the file with the command in docs/qa.md (`node bin/lowdose.js qa ... --json`)
 * and re-read what quotes it, not to edit the numbers.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { closeTo, jsonDifferences } from '../helpers/json-differences.js';
import { jsonResult, loadQaConfig, runQa, type QaCheck, type QaOptions, type QaResult } from '../../src/qa/index.js';

const EVAL = fileURLToPath(new URL('../../models/eval', import.meta.url));
const scratch = mkdtempSync(path.join(tmpdir(), 'lowdose-qa-committed-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

type QaJson = ReturnType<typeof jsonResult>;

/**
 * Equal up to what another CPU's kernels may move (onnxruntime picks its SIMD path per machine):
 * the files written on an earlier machine read up to 6.9e-4 of a value apart on an AMD EPYC with the
 * same code (lcd/dose25/detectability-ratio/10mm-10-hu limitMarginSe 14.6243 -> 14.6142; df5c04b
 * fails there alike), so 1e-3 of its size; a code change that matters moves a check value by more.
 */
const TOLERANCE = 1e-3;
const close = (a: number, b: number) => closeTo(a, b, TOLERANCE);

/** Whether a check's value lies within TOLERANCE of one of its limits. */
function nearLimit(check: QaCheck): boolean {
  const limits = typeof check.threshold === 'number' ? [check.threshold] : [...check.threshold];
  return check.value !== null && limits.some((limit) => close(check.value!, limit));
}

/** Re-runs `lowdose qa` with the settings a committed result records. */
async function rerun(committed: QaJson, name: string): Promise<QaResult> {
  const s = committed.settings;
  return runQa({
    config: loadQaConfig(),
    outDir: path.join(scratch, name),
    phantoms: s.phantoms,
    doses: s.doses,
    declareDose: s.doseDeclared,
    ...(s.realisations !== null ? { realisations: s.realisations } : {}),
    denoise: {
      method: s.method as NonNullable<NonNullable<QaOptions['denoise']>['method']>,
      ...(s.model !== null ? { model: s.model } : {}),
      ...(s.petModel !== null ? { petModel: s.petModel } : {}),
      device: 'cpu',
      threads: 1,
      seed: s.seed,
      samples: s.samples,
      texture: s.texture as NonNullable<NonNullable<QaOptions['denoise']>['texture']>,
      ...(s.steps !== null ? { steps: s.steps } : {}),
      ...(s.consistency !== null ? { consistency: s.consistency } : {}),
      ...(s.orientations != null ? { orientations: s.orientations } : {}),
      ...(s.lowBand !== null ? { lowBand: s.lowBand } : {}),
    },
  });
}

describe('committed QA results', () => {
  for (const file of ['qa-iec.json', 'qa-iec-dose-unknown.json', 'qa-ct.json', 'qa-ct-dose-unknown.json']) {
    it(`models/eval/${file} is what today's code and models measure`, async () => {
      const committed = JSON.parse(readFileSync(path.join(EVAL, file), 'utf8')) as QaJson;
      const now = jsonResult(await rerun(committed, path.basename(file, '.json')));
      // The model files first: a promoted model without re-measured results is the common case.
      expect(now.settings.modelFingerprint, `${file} was measured with other model files: regenerate it`).toEqual(committed.settings.modelFingerprint);
      expect(now.errors).toEqual([]);
      expect(now.checks.map((c) => c.name)).toEqual(committed.checks.map((c) => c.name));
      const moved = now.checks.flatMap((check, i) => {
        const before = committed.checks[i]!;
        // `detail` is the measured numbers in words, compared above as numbers.
        const changes = jsonDifferences({ ...before, detail: null }, { ...check, detail: null }, check.name, TOLERANCE);
        // A verdict flip within the tolerance of a limit is the machine, not the code.
        return changes.filter((c) => !(c.startsWith(`${check.name}.pass:`) && nearLimit(check)));
      });
      expect(moved, `${file} no longer matches what QA measures`).toEqual([]);
      expect(now.summary).toEqual(committed.summary);
    }, 180_000);
  }
});

/** Every string in `value` that is an absolute path (POSIX, or a Windows drive), with where it is. */
function absolutePaths(value: unknown, at = ''): string[] {
  if (typeof value === 'string') return /^(\/|[A-Za-z]:[\\/])/.test(value) ? [`${at}: ${value}`] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => absolutePaths(v, `${at}[${i}]`));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => absolutePaths(v, at ? `${at}.${k}` : k));
  return [];
}

describe('committed QA results name no machine', () => {
  // The QA results and QA gate comparisons under models/eval/, as `lowdose qa --json` and
  // scripts/train/qa-gate.ts --json write them from the repository root: paths relative to it.
  const files = readdirSync(EVAL, { recursive: true, encoding: 'utf8' }).filter((f) => /(^|\/)qa(-gate)?-[^/]*\.json$/.test(f));
  it('finds the committed results', () => {
    expect(files).toEqual(expect.arrayContaining(['qa-ct.json', 'qa-iec.json', 'qa-ct-dose-unknown.json', 'qa-iec-dose-unknown.json']));
  });
  it.each(files)('models/eval/%s holds no absolute path', (file) => {
    expect(absolutePaths(JSON.parse(readFileSync(path.join(EVAL, file), 'utf8')))).toEqual([]);
  });
});

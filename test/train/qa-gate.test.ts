/**
 * The QA promotion gate (scripts/train/qa-gate.ts): the check-by-check comparison of two QA
 * results (lost, gained, unchanged; a loss QA calls not firm on both sides not counted; results
 * measured differently refused), and the script itself on the shipped CT model against itself.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { judge, type QaCheck } from '../../src/qa/index.js';
import type { ModelFingerprint } from '../../src/models/fingerprint.js';
import { baselineFingerprintCheck, compareQa, formatComparison, parseQaJson, QaGateMismatch, settingsDifferences, toolkitCommitNote, type QaJson } from '../../scripts/train/qa-compare.js';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const TSX = path.join(REPO, 'node_modules', '.bin', 'tsx');
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

const settings: QaJson['settings'] = {
  method: 'diffusion',
  model: 'lowdose-ct',
  petModel: 'lowdose-pet',
  device: 'auto',
  steps: null,
  seed: 0,
  samples: 1,
  consistency: null,
  orientations: null,
  lowBand: null,
  texture: 'smooth',
  realisations: null,
  doseDeclared: true,
  phantoms: ['water', 'acr'],
  doses: [0.25, 0.1],
  fixtures: '/work/a/fixtures',
  config: '/work/a/qa/thresholds.json',
};

/** A `hu-error` check on the ACR bone insert: ±5 HU, with a standard error when given. */
function huError(value: number, standardError?: number, dose = 0.1): QaCheck {
  const measured = standardError === undefined ? {} : { realisations: 8, standardError };
  return judge({ check: 'hu-error', phantom: 'acr', dose, subject: 'bone', unit: 'HU', detail: '', measured }, value, { min: -5, max: 5 });
}

function noiseReduction(value: number, dose = 0.25): QaCheck {
  return judge({ check: 'noise-reduction', phantom: 'water', dose, unit: 'fraction', detail: '' }, value, { min: 0.4, max: null });
}

function result(checks: QaCheck[], overrides: Partial<QaJson['settings']> = {}): QaJson {
  const passed = checks.filter((c) => c.pass).length;
  return {
    checks,
    pass: passed === checks.length,
    summary: { total: checks.length, passed, failed: checks.length - passed, passedNotFirm: 0, failedNotFirm: 0 },
    settings: { ...settings, ...overrides },
    errors: [],
    outDir: '/tmp/qa',
    report: '/tmp/qa/qa-report.html',
  };
}

describe('compareQa', () => {
  it('lists a check the baseline passes and the candidate fails as lost, and fails the gate', () => {
    const comparison = compareQa(result([noiseReduction(0.69), huError(1, 0.5)]), result([noiseReduction(0.35), huError(1.2, 0.5)]));
    expect(comparison.lost).toEqual(['water/dose25/noise-reduction']);
    expect(comparison.gained).toEqual([]);
    expect(comparison.pass).toBe(false);
    expect(comparison.rows.map((r) => r.change)).toEqual(['lost', 'passed']);
  });

  it('lists a check the baseline fails and the candidate passes as gained, which passes the gate', () => {
    const comparison = compareQa(result([noiseReduction(0.3), huError(-6, 0.2)]), result([noiseReduction(0.5), huError(-6.1, 0.2)]));
    expect(comparison.gained).toEqual(['water/dose25/noise-reduction']);
    expect(comparison.rows.map((r) => r.change)).toEqual(['gained', 'failed']);
    expect(comparison.pass).toBe(true);
  });

  it('passes a candidate whose every verdict is the baseline\'s', () => {
    const checks = [noiseReduction(0.69), huError(2, 0.5)];
    const comparison = compareQa(result(checks), result(checks));
    expect(comparison).toMatchObject({ pass: true, lost: [], lostNotFirm: [], gained: [] });
  });

  it('does not count a loss where QA calls both verdicts not firm', () => {
    // 4.8 ± 0.5 HU passes 0.4 SE inside the limit, 5.2 ± 0.5 fails 0.4 SE outside: both not firm.
    const comparison = compareQa(result([huError(4.8, 0.5)]), result([huError(5.2, 0.5)]));
    expect(comparison.lostNotFirm).toEqual(['acr/dose10/hu-error/bone']);
    expect(comparison.lost).toEqual([]);
    expect(comparison.pass).toBe(true);
    expect(comparison.rows[0]!.withinNoise).toBe(true);
  });

  it('counts a loss within the noise when the baseline pass was firm', () => {
    // 3.9 ± 0.5 is a firm pass (2.2 SE inside); 5.2 ± 0.5 a not-firm failure; the change is within 2 combined SE.
    const comparison = compareQa(result([huError(3.9, 0.5)]), result([huError(5.2, 0.5)]));
    expect(comparison.lost).toEqual(['acr/dose10/hu-error/bone']);
    expect(comparison.rows[0]!.withinNoise).toBe(true);
    expect(formatComparison(comparison)).toMatch(/LOST, within noise/);
  });

  it('counts a loss on a check without a standard error, which QA cannot call not firm', () => {
    const comparison = compareQa(result([noiseReduction(0.401)]), result([noiseReduction(0.399)]));
    expect(comparison.lost).toEqual(['water/dose25/noise-reduction']);
    expect(comparison.rows[0]!.withinNoise).toBeNull();
  });

  it('counts a passed check the candidate lacks as lost, and a check only the candidate has as new', () => {
    const comparison = compareQa(result([noiseReduction(0.69), huError(1, 0.5)]), result([huError(1, 0.5), noiseReduction(0.6, 0.1)]));
    expect(comparison.lost).toEqual(['water/dose25/noise-reduction']);
    expect(comparison.rows.find((r) => r.name === 'water/dose10/noise-reduction')).toMatchObject({ change: 'new', baseline: null });
  });

  it('matches checks by name, whatever their order', () => {
    const comparison = compareQa(result([noiseReduction(0.69), huError(1, 0.5)]), result([huError(6, 0.5), noiseReduction(0.69)]));
    expect(comparison.lost).toEqual(['acr/dose10/hu-error/bone']);
  });

  it('refuses results measured with other settings', () => {
    const baseline = result([noiseReduction(0.69)]);
    expect(() => compareQa(baseline, result([noiseReduction(0.69)], { seed: 1 }))).toThrow(QaGateMismatch);
    expect(() => compareQa(baseline, result([noiseReduction(0.69)], { sampler: 'ddpm' }))).toThrow(/settings\.sampler: baseline null, candidate "ddpm"/);
    expect(() => compareQa(baseline, result([noiseReduction(0.69)], { guidance: 2 }))).toThrow(/settings\.guidance/);
    expect(() => compareQa(baseline, result([noiseReduction(0.69)], { consistencyPilot: 1 }))).toThrow(/settings\.consistencyPilot/);
    expect(() => compareQa(baseline, result([noiseReduction(0.69)], { realisations: 1 }))).toThrow(/settings.realisations/);
    expect(() => compareQa(baseline, result([noiseReduction(0.69)], { phantoms: ['water'] }))).toThrow(/settings.phantoms/);
    expect(() => compareQa(baseline, result([noiseReduction(0.69)], { doseDeclared: false }))).toThrow(/settings.doseDeclared/);
    expect(() => compareQa(baseline, result([noiseReduction(0.69)], { config: '/elsewhere/strict.json' }))).toThrow(/settings.config/);
  });

  it('compares the realisations that ran (realisationsUsed), not the number asked for', () => {
    // Both asked for all the fixtures have, but the fixtures had other realisation counts.
    const ranEight = result([noiseReduction(0.69)], { realisationsUsed: { water: 8, acr: 8 } });
    const ranTwo = result([noiseReduction(0.69)], { realisationsUsed: { water: 8, acr: 2 } });
    expect(() => compareQa(ranEight, ranTwo)).toThrow(/settings\.realisationsUsed\.acr: baseline 8, candidate 2/);
    // --realisations 8 over fixtures with 8 runs what the default runs.
    expect(compareQa(ranEight, result([noiseReduction(0.69)], { realisations: 8, realisationsUsed: { water: 8, acr: 8 } })).pass).toBe(true);
    // A result without realisationsUsed (written before QA recorded it) is compared by the number asked for.
    expect(() => compareQa(result([noiseReduction(0.69)]), result([noiseReduction(0.69)], { realisations: 8, realisationsUsed: { water: 8, acr: 8 } }))).toThrow(/settings\.realisations: baseline null, candidate 8/);
  });

  it('refuses a check judged against another threshold', () => {
    const stricter = judge({ check: 'noise-reduction', phantom: 'water', dose: 0.25, unit: 'fraction', detail: '' }, 0.69, { min: 0.5, max: null });
    expect(() => compareQa(result([noiseReduction(0.69)]), result([stricter]))).toThrow(/threshold baseline 0.4, candidate 0.5/);
  });

  it('compares the models themselves: other model names, phantom order and the package paths of another checkout do not count as other settings', () => {
    const other = { model: '/tmp/candidate.json', petModel: '/tmp/candidate.json', phantoms: ['acr', 'water'] as QaJson['settings']['phantoms'], fixtures: '/work/b/fixtures', config: '/work/b/qa/thresholds.json' };
    expect(settingsDifferences(settings, { ...settings, ...other })).toEqual([]);
  });

  it('takes the package paths a result records relative to its checkout (fixtures, qa/thresholds.json) for this checkout\'s', () => {
    const relative = { fixtures: 'fixtures', config: 'qa/thresholds.json' };
    expect(settingsDifferences({ ...settings, ...relative }, settings)).toEqual([]);
    expect(settingsDifferences(settings, { ...settings, fixtures: './fixtures/' })).toEqual([]);
    expect(settingsDifferences({ ...settings, ...relative }, { ...settings, config: 'strict.json' })).toEqual(['settings.config: baseline qa/thresholds.json, candidate strict.json']);
  });
});

describe('baselineFingerprintCheck', () => {
  const fingerprint = (onnx: string): ModelFingerprint => ({ sha256: sha256(onnx), card: 'c'.repeat(64), onnx: { 'lowdose-ct.onnx': onnx } });
  const now = { model: fingerprint('a'.repeat(64)) };

  it('accepts a baseline recorded with the files the baseline card has now', () => {
    expect(baselineFingerprintCheck(result([], { modelFingerprint: now }), 'b.json', now)).toEqual({ differences: [], unfingerprinted: [] });
  });

  it('lists each file that differs from what the baseline recorded', () => {
    const check = baselineFingerprintCheck(result([], { modelFingerprint: { model: fingerprint('b'.repeat(64)) } }), 'b.json', now);
    expect(check.differences).toEqual([expect.stringMatching(/^b\.json: settings\.modelFingerprint\.model is not of the baseline's files now: lowdose-ct\.onnx: recorded bbbbbbbbbbbb, now aaaaaaaaaaaa$/)]);
  });

  it('names the models of a baseline written before QA recorded fingerprints, and refuses nothing', () => {
    expect(baselineFingerprintCheck(result([]), 'b.json', now)).toEqual({ differences: [], unfingerprinted: ['model'] });
  });
});

describe('toolkitCommitNote', () => {
  const at = (commit: string, dirty = false) => ({ toolkit: { version: '0.1.0', commit, dirty } });

  it('names both commits in one line when the two results were measured at different ones', () => {
    const note = toolkitCommitNote(result([], at('a'.repeat(40))).settings, result([], at('b'.repeat(40), true)).settings);
    expect(note).toBe(`note: the baseline was measured with lowdose at commit ${'a'.repeat(40)}, the candidate at ${'b'.repeat(40)} (dirty); differences may come from the code too`);
    expect(note).not.toContain('\n');
  });

  it('says nothing when the commits are equal or either result lacks one (an installed package, an older result)', () => {
    expect(toolkitCommitNote(result([], at('a'.repeat(40))).settings, result([], at('a'.repeat(40))).settings)).toBeNull();
    expect(toolkitCommitNote(result([]).settings, result([], at('b'.repeat(40))).settings)).toBeNull();
    expect(toolkitCommitNote(result([], { toolkit: { version: '0.1.0' } }).settings, result([], at('b'.repeat(40))).settings)).toBeNull();
  });

  it('is a note, not a refusal: results at different commits still compare', () => {
    const comparison = compareQa(result([noiseReduction(0.5)], at('a'.repeat(40))), result([noiseReduction(0.5)], at('b'.repeat(40))));
    expect(comparison.pass).toBe(true);
  });
});

describe('parseQaJson', () => {
  it('reads the committed CT QA result', () => {
    const file = path.join(REPO, 'models', 'eval', 'qa-ct.json');
    const parsed = parseQaJson(readFileSync(file, 'utf8'), file);
    expect(parsed.checks.length).toBe(parsed.summary.total);
  });

  it('refuses a file that is not a QA result', () => {
    expect(() => parseQaJson('{"checks": 3}', 'x.json')).toThrow(/not a lowdose qa result/);
  });
});

describe('scripts/train/qa-gate.ts', () => {
  it('finds nothing lost when the shipped CT model is compared with itself (water, 25 % dose, one realisation), and its fingerprinted result is accepted as --baseline-json only while the files match', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'lowdose-qa-gate-'));
    try {
      const { stdout } = await promisify(execFile)(
        path.join(REPO, 'node_modules', '.bin', 'tsx'),
        ['scripts/train/qa-gate.ts', '--model', 'models/lowdose-ct.json', '--phantoms', 'water', '--doses', '0.25', '--realisations', '1', '--threads', '1', '--no-progress', '-o', out, '--json', path.join(out, 'gate.json')],
        { cwd: REPO, maxBuffer: 1 << 24 },
      );
      expect(stdout).toMatch(/QA GATE PASS: no check lost/);
      const gate = JSON.parse(readFileSync(path.join(out, 'gate.json'), 'utf8')) as { pass: boolean; lost: string[]; gained: string[]; rows: Array<{ change: string }> };
      expect(gate).toMatchObject({ pass: true, lost: [], gained: [] });
      // Paths relative to the working directory (the repository root), as qa.json records them: no checkout named.
      expect(gate).toMatchObject({ baselineSource: 'models/lowdose-ct.json', candidateCard: 'models/lowdose-ct.json', settings: { model: 'models/lowdose-ct.json', fixtures: 'fixtures', config: 'qa/thresholds.json' } });
      expect(gate.rows.length).toBeGreaterThan(0);
      expect(gate.rows.every((r) => r.change === 'passed' || r.change === 'failed')).toBe(true);

      // The baseline's qa.json records the files it ran: each part equal to an independent sha256.
      const baselineJson = path.join(out, 'baseline', 'qa.json');
      const baseline = JSON.parse(readFileSync(baselineJson, 'utf8')) as QaJson;
      const recorded = baseline.settings.modelFingerprint!;
      expect(Object.keys(recorded)).toEqual(['model']);
      expect(recorded.model!.onnx).toEqual({ 'lowdose-ct.onnx': sha256(readFileSync(path.join(REPO, 'models', 'lowdose-ct.onnx'))) });
      const { training: _t, quality: _q, ...cardSettings } = JSON.parse(readFileSync(path.join(REPO, 'models', 'lowdose-ct.json'), 'utf8')) as Record<string, unknown>;
      expect(recorded.model!.card).toBe(sha256(JSON.stringify(cardSettings)));

      // Reused as --baseline-json (the denoised series of the run above reused): matching, it is accepted.
      const gateWith = (file: string, ...extra: string[]) =>
        promisify(execFile)(TSX, ['scripts/train/qa-gate.ts', '--model', 'models/lowdose-ct.json', '--baseline-json', file, '--phantoms', 'water', '--doses', '0.25', '--realisations', '1', '--threads', '1', '--no-progress', '-o', out, ...extra], { cwd: REPO, maxBuffer: 1 << 24 });
      const matching = await gateWith(baselineJson);
      expect(matching.stdout).toMatch(/QA GATE PASS/);
      expect(matching.stderr).not.toMatch(/not fingerprinted/);
      expect(matching.stderr).not.toMatch(/^note: /m);

      // --json -: stdout is the comparison JSON alone, the table goes to stderr.
      const piped = await gateWith(baselineJson, '--json', '-');
      expect(JSON.parse(piped.stdout)).toMatchObject({ pass: true, lost: [] });
      expect(piped.stderr).toMatch(/QA GATE PASS/);

      // Measured at another lowdose commit (where this checkout records one): a one-line note, not a refusal.
      if (baseline.settings.toolkit?.commit) {
        const elsewhere = path.join(out, 'elsewhere.json');
        writeFileSync(elsewhere, JSON.stringify({ ...baseline, settings: { ...baseline.settings, toolkit: { ...baseline.settings.toolkit, commit: 'f'.repeat(40) } } }));
        const noted = await gateWith(elsewhere);
        expect(noted.stdout).toMatch(/QA GATE PASS/);
        const dirty = (d: boolean | undefined) => (d ? ' (dirty)' : '');
        const { commit, dirty: wasDirty } = baseline.settings.toolkit;
        expect(noted.stderr).toContain(`note: the baseline was measured with lowdose at commit ${'f'.repeat(40)}${dirty(wasDirty)}, the candidate at ${commit}`);
        expect(noted.stderr.split('\n').filter((line) => line.startsWith('note: '))).toHaveLength(1);
      }

      // Recorded with other weights: refused before the candidate runs (exit 2).
      const stale = path.join(out, 'stale.json');
      const otherWeights = { ...recorded.model!, sha256: '0'.repeat(64), onnx: { 'lowdose-ct.onnx': '1'.repeat(64) } };
      writeFileSync(stale, JSON.stringify({ ...baseline, settings: { ...baseline.settings, modelFingerprint: { model: otherWeights } } }));
      await expect(gateWith(stale)).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/modelFingerprint\.model is not of the baseline's files now: lowdose-ct\.onnx: recorded 111111111111/) });

      // Without a fingerprint (an older result): used, and the gate says it is not fingerprinted.
      const older = path.join(out, 'older.json');
      const { modelFingerprint: _fp, ...olderSettings } = baseline.settings;
      writeFileSync(older, JSON.stringify({ ...baseline, settings: olderSettings }));
      const trusted = await gateWith(older);
      expect(trusted.stdout).toMatch(/QA GATE PASS/);
      expect(trusted.stderr).toMatch(/settings\.modelFingerprint\.model absent .*not fingerprinted/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('calls a --baseline-json that is missing, not JSON or not a QA result bad usage (exit 2), not a lost check (exit 1)', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'lowdose-qa-gate-'));
    try {
      const gateWith = (file: string) =>
        promisify(execFile)(TSX, ['scripts/train/qa-gate.ts', '--model', 'models/lowdose-ct.json', '--baseline-json', file, '--phantoms', 'water', '--doses', '0.25', '--realisations', '1', '--threads', '1', '--no-progress', '-o', out], { cwd: REPO, maxBuffer: 1 << 24 });
      const missing = path.join(out, 'missing.json');
      await expect(gateWith(missing)).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining(`qa-gate: --baseline-json ${missing}: no such file`) });
      const truncated = path.join(out, 'truncated.json');
      writeFileSync(truncated, '{ "checks": [');
      await expect(gateWith(truncated)).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining(`qa-gate: --baseline-json ${truncated} is not valid JSON`) });
      const other = path.join(out, 'other.json');
      writeFileSync(other, '{ "series": [] }');
      await expect(gateWith(other)).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining(`${other}: not a lowdose qa result`) });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('refuses a committed baseline that averaged over other realisations than the run will (exit 2) before the candidate runs', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'lowdose-qa-gate-'));
    try {
      // The acr fixture has 8 realisations (0 and 7 more); this baseline records that it ran 2.
      const committed = JSON.parse(readFileSync(path.join(REPO, 'models/eval/qa-ct.json'), 'utf8')) as QaJson;
      const file = path.join(out, 'two.json');
      writeFileSync(file, JSON.stringify({ ...committed, settings: { ...committed.settings, phantoms: ['acr'], doses: [0.25], realisationsUsed: { acr: 2 } } }));
      const run = promisify(execFile)(TSX, ['scripts/train/qa-gate.ts', '--model', 'models/lowdose-ct.json', '--baseline-json', file, '--phantoms', 'acr', '--doses', '0.25', '--threads', '1', '--no-progress', '-o', out], {
        cwd: REPO,
        maxBuffer: 1 << 24,
        timeout: 60_000,
      });
      await expect(run).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('settings.realisationsUsed.acr: baseline 2, candidate 8') });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('refuses a committed baseline of other phantoms, doses or realisations (exit 2) before the candidate runs, with no note on fingerprints', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'lowdose-qa-gate-'));
    try {
      // models/eval/qa-ct.json is water, acr, body and lcd with every realisation: not this run.
      const run = promisify(execFile)(
        path.join(REPO, 'node_modules', '.bin', 'tsx'),
        ['scripts/train/qa-gate.ts', '--model', 'models/lowdose-ct.json', '--baseline-json', 'models/eval/qa-ct.json', '--phantoms', 'water', '--doses', '0.25', '--realisations', '1', '--threads', '1', '--no-progress', '-o', out],
        { cwd: REPO, maxBuffer: 1 << 24 },
      );
      await expect(run).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/settings\.realisations[\s\S]*settings\.phantoms/) });
      const error = (await run.catch((e: unknown) => e)) as { stderr: string };
      expect(error.stderr).not.toContain('[candidate]');
      // A PET candidate against the CT result: its PET fingerprint is absent because no PET phantom ran, not because the result is old.
      const pet = promisify(execFile)(TSX, ['scripts/train/qa-gate.ts', '--model', 'models/lowdose-pet.json', '--baseline-json', 'models/eval/qa-ct.json', '--threads', '1', '--no-progress', '-o', out], { cwd: REPO, maxBuffer: 1 << 24 });
      await expect(pet).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/settings\.phantoms: baseline acr,body,lcd,water, candidate iec/) });
      const petError = (await pet.catch((e: unknown) => e)) as { stderr: string };
      expect(petError.stderr).not.toMatch(/not fingerprinted|\[candidate\]/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

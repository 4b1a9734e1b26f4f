/**
 * A rerun into the same -o skips a finished series only when it holds the extra outputs the run
 * asks for (src/pipeline/extra-outputs.ts): a calibrated σ series (`--uncertainty`) where the first
 * run wrote the raw ensemble spread, a hallucination map the first run did not write, or another
 * `--uncertainty-threshold` is E_EXISTS naming what the finished series lacks (exit 1), the
 * finished output left as it was; a finished series holding more than asked is skipped. The frames
 * of a dynamic PET acquisition share its uncertainty and map series: a frame joins them only as the
 * finished frames were written. The shipped models' 2-sample ensembles, one step.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { runCli } from '../helpers/cli.js';
import { hasPydicom, makePetTiming } from '../helpers/pet-timing.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const LOW = path.join(REPO, 'fixtures/body/dose25');
const PET_MODEL = path.join(REPO, 'models/lowdose-pet.json');
const ENSEMBLE = ['--samples', '2', '--steps', '1', '--device', 'cpu', '--seed', '3', '--threads', '1'];
const root = mkdtempSync(path.join(tmpdir(), 'lowdose-rerun-extras-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every file under `dir` (DICOM, PNG, markers) by its sha256. */
const hashes = (dir: string) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name !== 'report.json')
    .map((e) => `${path.relative(dir, path.join(e.parentPath, e.name))} ${createHash('sha256').update(readFileSync(path.join(e.parentPath, e.name))).digest('hex')}`)
    .sort();

async function denoise(input: string | string[], out: string, ...options: string[]) {
  const run = await runCli('denoise', ...[input].flat(), '-o', out, ...ENSEMBLE, '--no-progress', '--json', ...options);
  return { code: run.code, stderr: run.stderr, report: JSON.parse(run.stdout) as DenoiseReport };
}

const marker = (report: DenoiseReport) => path.join(report.series[0]!.output.dir, '.lowdose-complete.json');

describe('denoise rerun into the same -o asking for extra outputs', () => {
  it('--uncertainty after a raw spread: E_EXISTS naming the raw spread, the output untouched, no "already done"; --overwrite writes the calibrated σ', async () => {
    const out = path.join(root, 'spread');
    const first = await denoise(LOW, out);
    expect(first.code, first.stderr).toBe(0);
    expect(first.report.series[0]!.uncertainty?.calibrated).toBe(false);
    expect(first.report.series[0]!.extraOutputs).toEqual({ uncertainty: 'spread', hallucination: false, sigmaThreshold: null });
    const before = hashes(out);

    const asked = await denoise(LOW, out, '--uncertainty');
    expect(asked.code).toBe(1);
    expect(asked.report.series).toEqual([]);
    expect(asked.report.errors).toEqual([
      expect.objectContaining({
        code: 'E_EXISTS',
        path: first.report.series[0]!.output.dir,
        message: expect.stringContaining('with the raw ensemble spread as its uncertainty series, not the calibrated σ (--uncertainty)'),
      }),
    ]);
    expect(asked.report.errors[0]!.message).toContain('--overwrite');
    expect(asked.stderr).not.toContain('already done');
    expect(hashes(out)).toEqual(before);

    const redone = await denoise(LOW, out, '--uncertainty', '--overwrite');
    expect(redone.code, redone.stderr).toBe(0);
    expect(redone.report.series[0]!.uncertainty?.calibrated).toBe(true);
  });

  it('--hallucination after a run without it: E_EXISTS naming the missing map, and no map is written', async () => {
    const out = path.join(root, 'no-map');
    expect((await denoise(LOW, out, '--uncertainty')).code).toBe(0);
    const before = hashes(out);
    const asked = await denoise(LOW, out, '--uncertainty', '--hallucination');
    expect(asked.code).toBe(1);
    expect(asked.report.errors).toEqual([expect.objectContaining({ code: 'E_EXISTS', message: expect.stringContaining('without a hallucination map (--hallucination)') })]);
    expect(asked.stderr).not.toContain('already done');
    expect(hashes(out)).toEqual(before);
    expect(readdirSync(out, { recursive: true }).some((name) => String(name).includes('hallucination'))).toBe(false);
  });

  it('a finished series holding more than asked is skipped: the calibrated σ and map serve a rerun without --uncertainty or --hallucination', async () => {
    const out = path.join(root, 'more');
    const first = await denoise(LOW, out, '--uncertainty', '--hallucination');
    expect(first.code, first.stderr).toBe(0);
    expect(first.report.series[0]!.extraOutputs).toEqual({ uncertainty: 'calibrated', hallucination: true, sigmaThreshold: 10 });
    for (const options of [[], ['--uncertainty'], ['--hallucination'], ['--uncertainty', '--hallucination', '--uncertainty-threshold', '10']]) {
      const again = await denoise(LOW, out, ...options);
      expect([options, again.code, again.report.series.map((s) => s.skipped)]).toEqual([options, 0, [true]]);
      expect(again.report.series[0]!.hallucination).toEqual(first.report.series[0]!.hallucination);
    }
  });

  it('another --uncertainty-threshold: E_EXISTS naming both thresholds (the σ series\' window and summaries, the map\'s gate), the same one skips', async () => {
    const out = path.join(root, 'threshold');
    expect((await denoise(LOW, out, '--uncertainty')).code).toBe(0);
    const before = hashes(out);
    const other = await denoise(LOW, out, '--uncertainty', '--uncertainty-threshold', '20');
    expect(other.code).toBe(1);
    expect(other.report.errors).toEqual([expect.objectContaining({ code: 'E_EXISTS', message: expect.stringContaining('with σ threshold 10 HU, this run 20 HU') })]);
    expect(hashes(out)).toEqual(before);
    const same = await denoise(LOW, out, '--uncertainty', '--uncertainty-threshold', '10');
    expect([same.code, same.report.series.map((s) => s.skipped)]).toEqual([0, [true]]);
    // A map gated at another threshold than the finished one was written at: refused too.
    const map = await denoise(LOW, path.join(root, 'threshold-map'), '--hallucination');
    expect(map.code).toBe(0);
    const gate = await denoise(LOW, path.join(root, 'threshold-map'), '--hallucination', '--uncertainty-threshold', '20');
    expect(gate.report.errors).toEqual([expect.objectContaining({ code: 'E_EXISTS', message: expect.stringContaining('with σ threshold 10 HU, this run 20 HU') })]);
  });

  it('a marker an older lowdose wrote, without extraOutputs, is read from its uncertainty and hallucination fields', async () => {
    const out = path.join(root, 'legacy');
    const first = await denoise(LOW, out, '--uncertainty');
    expect(first.code).toBe(0);
    const file = marker(first.report);
    const { extraOutputs: _extras, ...older } = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(_extras).toBeDefined();
    writeFileSync(file, JSON.stringify(older));
    expect((await denoise(LOW, out, '--uncertainty')).report.series.map((s) => s.skipped)).toEqual([true]);
    const map = await denoise(LOW, out, '--uncertainty', '--hallucination');
    expect(map.report.errors).toEqual([expect.objectContaining({ code: 'E_EXISTS', message: expect.stringContaining('without a hallucination map') })]);
    const threshold = await denoise(LOW, out, '--uncertainty', '--uncertainty-threshold', '20');
    expect(threshold.report.errors).toEqual([expect.objectContaining({ code: 'E_EXISTS', message: expect.stringContaining('with σ threshold 10 HU, this run 20 HU') })]);
  });
});

describe.skipIf(!hasPydicom)('a dynamic PET acquisition rerun asking for extra outputs', () => {
  let input = '';
  beforeAll(() => {
    makePetTiming(path.join(root, 'pet-in'));
    input = path.join(root, 'pet-in', 'dynamic');
  });
  const frameFiles = (t: number) => [1, 2].map((s) => path.join(input, `t${t}-s${s}.dcm`));
  const pet = (inputs: string[], out: string, ...options: string[]) => denoise(inputs, out, '--model', PET_MODEL, ...options);

  it('finished frames without the calibrated σ are E_EXISTS, and a frame not begun joins no uncertainty series written otherwise', async () => {
    const out = path.join(root, 'pet-spread');
    const first = await pet(frameFiles(1), out);
    expect(first.code, first.stderr).toBe(0);
    const folder = first.report.series[0]!.output.dir;
    const before = hashes(out);

    const asked = await pet([input], out, '--uncertainty');
    expect(asked.code).toBe(1);
    expect(asked.report.series).toEqual([]);
    // t01 finished with the raw spread, recorded for the series; t02 and t03 would join its uncertainty series as calibrated σ.
    expect(asked.report.errors.map((e) => [e.code, e.path])).toEqual([['E_EXISTS', folder], ['E_EXISTS', folder], ['E_EXISTS', folder]]);
    expect(asked.report.errors[0]!.message).toContain('not the calibrated σ');
    for (const error of asked.report.errors.slice(1)) {
      expect(error.message).toContain('recorded with other extra outputs (uncertainty series raw ensemble spread, no hallucination map, this run uncertainty series calibrated σ, no hallucination map)');
      expect(error.message).toContain('--overwrite');
    }
    expect(hashes(out)).toEqual(before);
  });

  it('a calibrated acquisition serves a rerun without --uncertainty for its finished frames, but a frame not begun is not added as a raw spread', async () => {
    const out = path.join(root, 'pet-calibrated');
    const first = await pet(frameFiles(1), out, '--uncertainty');
    expect(first.code, first.stderr).toBe(0);
    expect(existsSync(path.join(first.report.series[0]!.output.dir, '.lowdose-complete-t01.json'))).toBe(true);
    const again = await pet([input], out);
    expect(again.code).toBe(1);
    expect(again.report.series.map((s) => [s.input.petFrame?.tag, s.skipped])).toEqual([['t01', true]]);
    expect(again.report.errors.map((e) => e.code)).toEqual(['E_EXISTS', 'E_EXISTS']);
    expect(again.report.errors[0]!.message).toContain('uncertainty series calibrated σ, no hallucination map, this run uncertainty series raw ensemble spread');
  });
});

/**
 * docs/contract.md "Every command": exit 2 when nothing could be done with what was given, and
 * under --json a thrown error is printed on stdout as `{ "errors": [{ "path", "code", "message" }] }`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CT_3SLICE = path.resolve(ROOT, '../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const BODY_25 = path.join(ROOT, 'fixtures/body/dose25');

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'lowdose-usage-exits-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('a run whose every series failed on its settings exits 2, as denoise does', () => {
  it('simulate --mode truth --i0 auto: no series simulated, only E_USAGE errors, exit 2 with the report on stdout', async () => {
    const run = await runCli('simulate', CT_3SLICE, '-o', path.join(tmp, 'simulated'), '--dose', '0.5', '--mode', 'truth', '--i0', 'auto', '--workers', '1', '--json');
    expect(run.code).toBe(2);
    const report = JSON.parse(run.stdout) as { series: unknown[]; errors: Array<{ code: string }> };
    expect(report.series).toEqual([]);
    expect(report.errors.map((e) => e.code)).toEqual(['E_USAGE']);
    // The series was found: stderr says the options were refused, not that there was no series.
    expect(run.stderr).toContain('nothing simulated: the options do not suit the series');
    expect(run.stderr).not.toContain('no CT or PET series found');
  });
});

describe('--json: a thrown error is machine output on stdout', () => {
  const errorsOf = (stdout: string) => (JSON.parse(stdout) as { errors: Array<{ path: unknown; code: string; message: string }> }).errors;

  it('trace --model no-such-model prints { errors: [E_NOT_FOUND] } and exits 2', async () => {
    const run = await runCli('trace', BODY_25, '-o', path.join(tmp, 'trace.png'), '--model', 'no-such-model', '--device', 'cpu', '--json');
    expect(run.code).toBe(2);
    // one line, so that it is also one line of worker --json's line-per-event stream
    expect(run.stdout.trimEnd().split('\n')).toHaveLength(1);
    const errors = errorsOf(run.stdout);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ path: expect.stringMatching(/no-such-model/) as unknown, code: 'E_NOT_FOUND' });
    expect(errors[0]!.message).toMatch(/no-such-model/);
    // stderr still says it for people
    expect(run.stderr).toMatch(/no-such-model.*\[E_NOT_FOUND\]/);
  });

  it("denoise's own usage check (--stow without a DICOMweb input) prints { errors: [E_USAGE] } and exits 2", async () => {
    const run = await runCli('denoise', CT_3SLICE, '-o', path.join(tmp, 'denoised'), '--stow', 'http://127.0.0.1:1/dicom-web', '--json');
    expect(run.code).toBe(2);
    expect(errorsOf(run.stdout)).toEqual([{ path: null, code: 'E_USAGE', message: expect.stringMatching(/--stow needs a DICOMweb URL/) as unknown }]);
  });

  it("an option commander refuses (metrics without --reference) prints { errors: [E_USAGE] } and exits 2", async () => {
    const run = await runCli('metrics', '--test', CT_3SLICE, '--json');
    expect(run.code).toBe(2);
    const errors = errorsOf(run.stdout);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ path: null, code: 'E_USAGE' });
    expect(errors[0]!.message).toMatch(/--reference/);
  });

  it('prints nothing on stdout without --json', async () => {
    const plain = await runCli('trace', BODY_25, '-o', path.join(tmp, 'trace2.png'), '--model', 'no-such-model', '--device', 'cpu');
    expect(plain.code).toBe(2);
    expect(plain.stdout).toBe('');
    expect(plain.stderr).toMatch(/\[E_NOT_FOUND\]/);
  });

  it('a --help or --version with --json is not an error', async () => {
    const help = await runCli('trace', '--help', '--json');
    expect(help.code).toBe(0);
    expect(help.stdout).not.toMatch(/"errors"/);
  });
});

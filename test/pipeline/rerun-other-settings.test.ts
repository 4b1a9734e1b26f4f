/**
 * A rerun into the same -o skips a finished series only when it was made as this run asks: another
 * method or other model settings (a seed) is E_EXISTS for that series (exit 1), the finished
 * output left as it was, instead of handing the earlier output back as this run's result.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { runCli } from '../helpers/cli.js';

const MODEL = fileURLToPath(new URL('../fixtures-models/bench-conv.json', import.meta.url));
const lowDoseDir = fileURLToPath(new URL('../../fixtures/body/dose25', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'lowdose-rerun-settings-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const hashes = (dir: string) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.dcm'))
    .map((e) => createHash('sha256').update(readFileSync(join(e.parentPath, e.name))).digest('hex'))
    .sort();

async function denoise(out: string, ...options: string[]) {
  const run = await runCli('denoise', lowDoseDir, '-o', out, '--json', '--no-progress', ...options);
  return { code: run.code, report: JSON.parse(run.stdout) as DenoiseReport };
}

describe('denoise rerun into the same -o', () => {
  it('with another method: E_EXISTS for the series, the first output untouched; the same method still skips', async () => {
    const out = join(root, 'methods');
    expect((await denoise(out, '--method', 'gaussian')).code).toBe(0);
    const before = hashes(out);
    const nlm = await denoise(out, '--method', 'nlm');
    expect(nlm.code).toBe(1);
    expect(nlm.report.series).toEqual([]);
    expect(nlm.report.errors).toHaveLength(1);
    expect(nlm.report.errors[0]).toMatchObject({ code: 'E_EXISTS', message: expect.stringMatching(/finished with other settings \(lowdose gaussian filter: .*\); this run asks for nlm/) });
    expect(hashes(out)).toEqual(before);
    const again = await denoise(out, '--method', 'gaussian');
    expect([again.code, again.report.series[0]!.skipped]).toEqual([0, true]);
  });

  it('with another seed: E_EXISTS naming both settings', async () => {
    const out = join(root, 'seeds');
    expect((await denoise(out, '--model', MODEL, '--seed', '1')).code).toBe(0);
    const other = await denoise(out, '--model', MODEL, '--seed', '2');
    expect(other.code).toBe(1);
    expect(other.report.errors[0]).toMatchObject({ code: 'E_EXISTS', message: expect.stringMatching(/seed 1.*this run asks for \(.*seed 2/) });
  });
});

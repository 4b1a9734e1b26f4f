/**
 * A rerun into the same -o skips a finished series only when it was made as this run asks: another
 * method, other model settings (a seed), other model files under the same card name and version
 * (their sha256) or another padding fill is E_EXISTS for that series (exit 1), the finished output
 * left as it was, instead of handing the earlier output back as this run's result
 * (src/pipeline/made-with.ts). A marker an older lowdose wrote without the model files' sha256 or
 * the fill is compared on what it records.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { corpus } from '../dicom-write/helpers.js';
import { runCli } from '../helpers/cli.js';
import { replaceableModel } from '../helpers/replaceable-model.js';

const MODEL = fileURLToPath(new URL('../fixtures-models/bench-conv.json', import.meta.url));
const lowDoseDir = fileURLToPath(new URL('../../fixtures/body/dose25', import.meta.url));
/** GE slices with PixelPaddingValue outside the reconstruction circle. */
const PADDED = corpus('QIICR__dcmqi/data/segmentations/ct-3slice');
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

describe('denoise rerun into the same -o, the model files and the padding fill', () => {
  it('with the model file replaced under the same card name and version: E_EXISTS naming both sha256, the first output untouched; the first files skip again', async () => {
    const model = replaceableModel(join(root, 'model'));
    const out = join(root, 'weights');
    const first = await denoise(out, '--model', model.card, '--seed', '1');
    expect(first.code).toBe(0);
    const before = hashes(out);
    const made = await model.sha256();
    expect(first.report.series[0]!.modelFingerprint?.sha256).toBe(made);

    model.replaceWeights();
    const replaced = await model.sha256();
    expect(replaced).not.toBe(made);
    const other = await denoise(out, '--model', model.card, '--seed', '1');
    expect(other.code).toBe(1);
    expect(other.report.series).toEqual([]);
    expect(other.report.errors).toEqual([
      expect.objectContaining({ code: 'E_EXISTS', message: expect.stringContaining(`model files sha256 ${made.slice(0, 12)}, this run ${replaced.slice(0, 12)}`) }),
    ]);
    expect(other.report.errors[0]!.message).toContain('--overwrite');
    expect(hashes(out)).toEqual(before);

    model.replaceWeights(true);
    const again = await denoise(out, '--model', model.card, '--seed', '1');
    expect([again.code, again.report.series[0]!.skipped]).toEqual([0, true]);
  });

  it('with another padding fill: E_EXISTS naming both fills; the marker records the fill, and the same fill skips', async () => {
    const out = join(root, 'fill');
    const first = await denoisePaths([PADDED], { outDir: out, method: 'gaussian' });
    expect(first.errors).toEqual([]);
    const dir = first.series[0]!.output.dir;
    expect(JSON.parse(readFileSync(join(dir, '.lowdose-complete.json'), 'utf8'))).toMatchObject({ paddingFill: { kind: 'nearest' } });
    const before = hashes(out);

    const air = await denoisePaths([PADDED], { outDir: out, method: 'gaussian', paddingFill: { kind: 'constant', value: -1000 } });
    expect(air.series).toEqual([]);
    expect(air.errors).toEqual([expect.objectContaining({ code: 'E_EXISTS', path: dir, message: expect.stringContaining('padding fill nearest, this run constant -1000') })]);
    expect(hashes(out)).toEqual(before);

    const same = await denoisePaths([PADDED], { outDir: out, method: 'gaussian' });
    expect(same.series.map((s) => s.skipped)).toEqual([true]);
  });

  it('a marker an older lowdose wrote, without modelFingerprint and paddingFill, is compared on what it records: other model files skip, another seed is refused', async () => {
    const model = replaceableModel(join(root, 'model-legacy'));
    const out = join(root, 'legacy');
    const first = await denoise(out, '--model', model.card, '--seed', '1');
    expect(first.code).toBe(0);
    const marker = join(first.report.series[0]!.output.dir, '.lowdose-complete.json');
    const recorded = JSON.parse(readFileSync(marker, 'utf8')) as Record<string, unknown>;
    // What this version records and an older one did not.
    expect(Object.keys(recorded)).toEqual(expect.arrayContaining(['modelFingerprint', 'paddingFill']));
    const { modelFingerprint: _fingerprint, paddingFill: _fill, ...older } = recorded;
    writeFileSync(marker, JSON.stringify(older));

    model.replaceWeights();
    const replaced = await denoise(out, '--model', model.card, '--seed', '1');
    expect([replaced.code, replaced.report.series[0]?.skipped]).toEqual([0, true]);
    const seed = await denoise(out, '--model', model.card, '--seed', '2');
    expect(seed.code).toBe(1);
    expect(seed.report.errors[0]).toMatchObject({ code: 'E_EXISTS', message: expect.stringContaining('settings "seed 1", this run "seed 2"') });
  });
});

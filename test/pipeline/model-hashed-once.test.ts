/**
 * A denoise run hashes its model's files once: its plan (what a finished series must have been made
 * with, src/pipeline/slice-denoiser.ts planSliceDenoiser) reads each ONNX file to hash it, and the
 * model loaded after keeps that hash where the files are still the ones read. A file replaced
 * between the plan and the load is hashed again, so the outputs name the files that ran. The reads
 * are counted at node:fs createReadStream, which the hash streams through (onnxruntime opens the
 * model itself); the model is the small test model (test/helpers/replaceable-model.ts).
 */
import * as fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { modelFingerprint } from '../../src/models/fingerprint.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { createSliceDenoiser, planSliceDenoiser } from '../../src/pipeline/slice-denoiser.js';
import { replaceableModel } from '../helpers/replaceable-model.js';

vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  return { ...actual, createReadStream: vi.fn(actual.createReadStream) };
});

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-model-hashed-once-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const lowDoseDir = fileURLToPath(new URL('../../fixtures/body/dose25', import.meta.url));

/** How many times `file` was opened to be streamed since the count was cleared. */
const streamsOf = (file: string) => vi.mocked(fs.createReadStream).mock.calls.filter(([opened]) => path.resolve(String(opened)) === file).length;

describe("a denoise run's model files", () => {
  it('are read once to be hashed: the plan hashes them, the loaded model keeps that hash', async () => {
    const model = replaceableModel(path.join(root, 'model'));
    const onnx = path.join(root, 'model', 'bench-conv.onnx');
    vi.mocked(fs.createReadStream).mockClear();
    const report = await denoisePaths([lowDoseDir], { outDir: path.join(root, 'out'), model: model.card, seed: 1, device: 'cpu', threads: 1 });
    expect(report.errors).toEqual([]);
    expect(report.series).toHaveLength(1);
    expect(streamsOf(onnx)).toBe(1);
    expect(report.series[0]!.modelFingerprint?.sha256).toBe(await model.sha256());
  });

  it('a model file replaced between the plan and the load is hashed again: the denoiser names the files it loaded', async () => {
    const model = replaceableModel(path.join(root, 'replaced'));
    const run = { outDir: '', model: model.card, device: 'cpu' as const, threads: 1 };
    const plan = await planSliceDenoiser('CT', run);
    model.replaceWeights();
    const loaded = await createSliceDenoiser('CT', run, () => {}, {}, plan);
    try {
      expect(loaded.modelFingerprint!.sha256).not.toBe(plan.modelFingerprint!.sha256);
      expect(loaded.modelFingerprint).toEqual(await modelFingerprint(model.card));
    } finally {
      await loaded.release();
    }
  });
});

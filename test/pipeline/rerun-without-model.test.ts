/**
 * A rerun of `denoise` into the same -o decides from the model card what the run would make
 * (planSliceDenoiser, as `--skip-by-uid` does) and loads the model only for a series it has to
 * denoise: a rerun whose every series is finished never loads it; a rerun with one series to redo
 * loads it and writes that series as the first run did.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import { Denoiser } from '../../src/models/denoiser.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { runPhantom } from '../../src/pipeline/phantom.js';
import type { DenoiseOptions, DenoiseReport } from '../../src/pipeline/types.js';

const MODEL = fileURLToPath(new URL('../fixtures-models/bench-conv.json', import.meta.url));
let root: string;
let inputs: string[];

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'lowdose-rerun-model-'));
  inputs = [];
  for (const [i, name] of ['body', 'water'].entries()) {
    const dir = path.join(root, 'in', name);
    await runPhantom(name, { outDir: dir, size: 32, slices: 2, uidSeed: `rerun-without-model-${i}` });
    inputs.push(dir);
  }
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The pixel values of every slice of the one series in `dir`. */
async function pixelsIn(dir: string): Promise<Float32Array[]> {
  const { series } = await scanPaths([dir]);
  expect(series).toHaveLength(1);
  return Promise.all(series[0]!.slices.map(async (_, i) => Float32Array.from((await readSliceImage(series[0]!, i)).data)));
}

describe('denoise rerun into the same -o', () => {
  it('loads no model when every series is finished, and loads it to redo the one that is not, writing the same pixels', async () => {
    const run: DenoiseOptions = { outDir: path.join(root, 'out'), model: MODEL, device: 'cpu', threads: 1, steps: 1, seed: 3 };
    const load = vi.spyOn(Denoiser, 'load');
    try {
      const first = await denoisePaths(inputs, run);
      expect(first.series.map((s) => s.skipped ?? false)).toEqual([false, false]);
      expect(load).toHaveBeenCalledTimes(1);
      const firstPixels = await Promise.all(first.series.map((s) => pixelsIn(s.output.dir)));

      load.mockClear();
      const complete: DenoiseReport = await denoisePaths(inputs, run);
      expect(complete.errors).toEqual([]);
      expect(complete.series.map((s) => s.skipped)).toEqual([true, true]);
      expect(load).not.toHaveBeenCalled();

      // One series' output removed: only it is denoised again, with the model loaded for it.
      const redone = first.series[1]!;
      await rm(redone.output.dir, { recursive: true });
      load.mockClear();
      const partial = await denoisePaths(inputs, run);
      expect(partial.errors).toEqual([]);
      expect(partial.series.map((s) => [s.input.seriesInstanceUid, s.skipped ?? false])).toEqual([
        [first.series[0]!.input.seriesInstanceUid, true],
        [redone.input.seriesInstanceUid, false],
      ]);
      expect(load).toHaveBeenCalledTimes(1);
      expect(await Promise.all(partial.series.map((s) => pixelsIn(s.output.dir)))).toEqual(firstPixels);
    } finally {
      load.mockRestore();
    }
  });
});

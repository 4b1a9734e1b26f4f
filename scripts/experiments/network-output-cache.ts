/**
 * A PET card's network output with consistency off (`lowdose-pet` samples 1 DDIM step, so that is
 * x̂₀), per low-count slice stack, cached as one float32 file per stack so that the experiments
 * which apply consistency settings offline (consistency-count-level.ts, pet-count-fidelity.ts) run
 * the network once per realisation and dose.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Denoiser } from '../../src/models/denoiser.js';
import type { SliceStack } from '../../src/qa/types.js';
import { makeDirectoriesSync } from '../../src/util/fs.js';

export interface NetworkOutputCache {
  /** x̂₀ of every slice of `lowStack` told `doseLevel` (0: unknown), from `<cacheDir>/<name>.f32` when there. */
  outputs(name: string, lowStack: SliceStack, doseLevel: number): Promise<Float32Array[]>;
  release(): Promise<void>;
}

export function networkOutputCache(card: string, cacheDir: string, threads: number): NetworkOutputCache {
  let denoiser: Denoiser | null = null;
  return {
    async outputs(name, lowStack, doseLevel) {
      const file = path.join(cacheDir, `${name}.f32`);
      const n = lowStack.slices[0]!.data.length;
      if (existsSync(file)) {
        const all = new Float32Array(readFileSync(file).buffer.slice(0));
        return lowStack.slices.map((_, i) => all.slice(i * n, (i + 1) * n));
      }
      denoiser ??= await Denoiser.load(card, { modality: 'PT', device: 'cpu', threads, consistency: 0 });
      const first = lowStack.slices[0]!;
      const x0 = (await denoiser.with({ doseLevel }).denoise(lowStack.slices.map((s, i) => ({ index: i, image: s.data })), first)).denoised;
      const all = new Float32Array(n * x0.length);
      x0.forEach((x, i) => all.set(x, i * n));
      makeDirectoriesSync(cacheDir);
      writeFileSync(file, Buffer.from(all.buffer));
      return x0;
    },
    async release() {
      await denoiser?.release();
      denoiser = null;
    },
  };
}

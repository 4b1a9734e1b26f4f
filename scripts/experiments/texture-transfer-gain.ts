/**
 * The reader of texture-transfer.ts's measured table (docs/experiments/texture-transfer.json), for
 * the experiments that apply a transfer other than the one in the model's card (a candidate's, the
 * stage-8 table). The gain and filter are the shipped ones: src/diffusion/texture-transfer.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { restoreTexture, type RestoreTextureOptions } from '../../src/diffusion/texture.js';
import type { NoiseTransferTable } from '../../src/diffusion/texture-transfer.js';

export { interpolate, transferAtDose, type NoiseTransferTable } from '../../src/diffusion/texture-transfer.js';

/** What texture-transfer.ts writes under `transfer`. */
interface MeasuredTransferJson {
  readonly frequenciesCyclesPerPixel: readonly number[];
  readonly doses: readonly number[];
  readonly T: readonly (readonly number[])[];
}

/** The table in texture-transfer.ts's JSON (path relative to the repository root), or null when the file is absent. */
export function readTransferTable(root: string, file = 'docs/experiments/texture-transfer.json'): NoiseTransferTable | null {
  const full = path.resolve(root, file);
  if (!existsSync(full)) return null;
  const { transfer } = JSON.parse(readFileSync(full, 'utf8')) as { transfer: MeasuredTransferJson };
  return { cyclesPerPixel: transfer.frequenciesCyclesPerPixel, doses: transfer.doses, kept: transfer.T };
}

/** restoreTexture with this transfer (per frequency), or the single weight w(d) without one. */
export function restoreByTransfer(
  input: ArrayLike<number>,
  denoised: Float32Array,
  options: RestoreTextureOptions & { readonly rows: number; readonly columns: number },
): Float32Array {
  return restoreTexture(input, denoised, options);
}

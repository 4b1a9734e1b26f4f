/**
 * The model row of the real-pair evaluation: the shipped card at its defaults (what `lowdose
 * denoise --model <card>` does without other options), each quarter-dose slice denoised once.
 */
import { Command } from 'commander';
import { addDenoiserOptions, denoiserSettings, type DenoiserCliOptions } from '../../../src/cli/denoiser-options.js';
import type { DenoiseOptions } from '../../../src/pipeline/types.js';
import type { SliceDenoiser } from '../../../src/pipeline/slice-denoiser.js';
import type { PairGroup } from './data.js';

/** The denoise options of `lowdose denoise --model <card> --threads <threads>`, nothing else given. */
export function cardDefaultOptions(card: string, threads: number): DenoiseOptions {
  const cli = addDenoiserOptions(new Command()).parse(['--threads', String(threads)], { from: 'user' });
  return { ...denoiserSettings({ ...cli.opts<DenoiserCliOptions>(), model: card }), outDir: '' };
}

/**
 * Every pair's quarter-dose slice denoised, in pair order. One slice per call, as `lowdose denoise`
 * does by default; neighbours (2.5-D cards) are the slice itself: these slices are tens of mm apart.
 */
export async function denoiseGroup(denoiser: SliceDenoiser, group: PairGroup): Promise<Float32Array[]> {
  await denoiser.prepare(group.quarterSeries);
  const outputs: Float32Array[] = [];
  for (const pair of group.pairs) outputs.push((await denoiser.denoise([{ index: pair.index, image: pair.quarter.data }])).denoised[0]!);
  return outputs;
}

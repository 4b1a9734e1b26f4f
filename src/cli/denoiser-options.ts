/**
 * The denoiser options that `denoise`, `qa` (and anything else that runs the denoiser) share:
 * one definition, one validation, one progress adapter.
 */
import type { Command } from 'commander';
import { DENOISE_METHODS, DEVICE_REQUESTS, GUIDANCE_MAX, SAMPLER_NAMES, TEXTURES, type DenoiseMethod, type DeviceRequest, type SamplerName, type Texture } from '../choices.js';
import { ORIENTATION_COUNTS } from '../diffusion/orientations.js';
import { LOW_BAND_MAX_STRENGTH } from '../filters/low-band.js';
import { MEMORY_BUDGET_ENV, parseMemorySize } from '../pipeline/memory-budget.js';
import type { DenoiseOptions, DenoiseProgress } from '../pipeline/types.js';
import { choicesHelp, decimalNumber, DEVICE_HELP, parseChoiceOption, parseIntOption, parseNumberOption, parseSeedOption, usageError } from './output.js';
import type { Progress } from './progress.js';


/** What commander hands the action for the options added by addDenoiserOptions. */
export interface DenoiserCliOptions {
  method: DenoiseMethod;
  model?: string;
  device: DeviceRequest;
  steps?: number;
  sampler?: SamplerName;
  seed: string;
  samples?: number;
  guidance?: number;
  orientations?: number;
  consistency?: number;
  lowBand?: number;
  consistencyPilot?: number;
  texture: Texture;
  batch: number;
  threads?: number;
  memoryBudget?: number;
  progress: boolean;
}

export type DenoiserSettings = Pick<
  DenoiseOptions,
  'method' | 'model' | 'device' | 'steps' | 'sampler' | 'seed' | 'samples' | 'guidance' | 'orientations' | 'consistency' | 'consistencyPilot' | 'lowBand' | 'texture' | 'batch' | 'threads' | 'memoryBudget'
>;

/** --texture's help: which is the default and why (measured: docs/diffusion.md, "Texture"). */
export const TEXTURE_HELP =
  `${choicesHelp(TEXTURES)}. smooth (default): the model as trained, with the best PSNR / SSIM; on real quarter-dose scans ` +
  'its noise is 10 to 24 % below a full-dose scan\'s and sits at lower frequencies (a coarser grain). full-dose: puts back ' +
  "part of the removed noise, shaped per frequency by the card's measured noise transfer (without one, the share " +
  "sqrt(d)/(1+sqrt(d))), d = --dose, else the model card's default: noise 18 to 29 % above a full-dose scan's on real " +
  'quarter-dose scans for 0.6 to 1.5 dB less PSNR, and with the shipped CT model its NPS still peaks low on smooth kernels ' +
  '(docs/diffusion.md, Texture; models/README.md, "The noise alone"). Diffusion only'

/** --low-band's help (measured: docs/diffusion.md, "Low band"). */
export const LOW_BAND_HELP =
  'low-band denoising after the model, CT only: an edge-preserving filter on a 4x coarser grid removes the slow noise the ' +
  "network leaves, strength in noise SDs of that band (0 = off; default: the model card's lowBand, off for lowdose-ct: " +
  'it also flattens large 10 HU lesions, docs/diffusion.md, Low band). Diffusion only';

/**
 * --samples' help per command: only denoise has --uncertainty (the card's K); batch writes the
 * ensemble's spread as an uncertainty series too; qa checks the mean.
 */
export const SAMPLES_HELP = {
  denoise: "ensemble size (default 1; with --uncertainty the model card's); K > 1 gives the mean and an uncertainty series",
  batch: 'ensemble size (default 1); K > 1 gives the mean and an uncertainty series (the ensemble spread)',
  qa: 'ensemble size (default 1); K > 1: the checks judge the mean of K samples',
} as const;

export function addDenoiserOptions(command: Command, samplesHelp: string = SAMPLES_HELP.denoise): Command {
  return command
    .option('--method <name>', `denoiser: ${choicesHelp(DENOISE_METHODS)}`, parseChoiceOption('--method', DENOISE_METHODS), 'diffusion')
    .option('--model <name|path>', 'model name in models/ or path to its .json / .onnx (default: lowdose-ct for CT, lowdose-pet for PET)')
    .option('--device <device>', DEVICE_HELP, parseChoiceOption('--device', DEVICE_REQUESTS), 'auto')
    .option('--steps <n>', "reverse-process steps (default: the model card's)", parseIntOption('--steps', 1, 1000))
    .option('--sampler <name>', `${choicesHelp(SAMPLER_NAMES)} (default: the model card's)`, parseChoiceOption('--sampler', SAMPLER_NAMES))
    .option('--seed <s>', 'random seed: the same seed gives the same output', '0')
    .option('--samples <k>', samplesHelp, parseIntOption('--samples', 1, 64))
    .option('--guidance <g>', 'classifier-free guidance scale (1 = conditional only)', parseNumberOption('--guidance', 0, GUIDANCE_MAX))
    .option(
      '--orientations <k>',
      "average each prediction over k flips and turns of the slice, 1, 2, 4 or 8: a little sharper and less noisy at k network passes per step (docs/diffusion.md, Orientations; default: the model card's, else 1)",
      parseOrientations,
    )
    .option(
      '--consistency <strength>',
      "measurement consistency, 0..1: keep the output's local means with the low-dose input's where they disagree beyond its noise (0 = off; default: the model card's)",
      parseNumberOption('--consistency', 0, 1),
    )
    .option('--low-band <strength>', LOW_BAND_HELP, parseNumberOption('--low-band', 0, LOW_BAND_MAX_STRENGTH))
    .option(
      '--consistency-pilot <h>',
      "the consistency step's pilot average: each pixel a weighted mean of measured low-dose pixels, weights from the estimate's patches; h in noise SDs (0 = off; default: the model card's)",
      parseNumberOption('--consistency-pilot', 0, 100),
    )
    .option('--texture <mode>', TEXTURE_HELP, parseChoiceOption('--texture', TEXTURES), 'smooth')
    .option('--batch <b>', 'slices per sampler run (the network sees batch x samples images, in calls that fit the memory budget)', parseIntOption('--batch', 1, 256), 1)
    .option('--threads <n>', "CPU threads for the model (default: onnxruntime's)", parseIntOption('--threads', 1, 256))
    .option(
      '--memory-budget <size>',
      `memory a job may use, e.g. 8G or 512M; a job whose estimate exceeds it is refused (exit 2) (default: $${MEMORY_BUDGET_ENV}, else half of this machine's memory)`,
      (text: string) => parseMemorySize(text, '--memory-budget'),
    )
    .option('--no-progress', 'no progress bar');
}

/**
 * The model's options that `opts` gives a value that would change a diffusion run, when its method
 * is a classical filter (which runs none of them): `--samples 4 --method gaussian` wrote one
 * filtered series and `samples: 1` in report.json, with no ensemble and no uncertainty series, and
 * `--model`, `--steps`, `--sampler`, `--guidance` were dropped as silently. Values that change
 * nothing (`--samples 1`, `--orientations 1`, `--consistency 0`, `--consistency-pilot 0`) pass.
 */
export function modelOnlyOptionsGiven(opts: Pick<DenoiserCliOptions, 'method' | 'model' | 'steps' | 'sampler' | 'samples' | 'guidance' | 'orientations' | 'consistency' | 'consistencyPilot'>): string[] {
  if (opts.method === 'diffusion') return [];
  const given: Array<[string, boolean]> = [
    [`--model ${opts.model}`, opts.model !== undefined],
    [`--steps ${opts.steps}`, opts.steps !== undefined],
    [`--sampler ${opts.sampler}`, opts.sampler !== undefined],
    [`--samples ${opts.samples}`, opts.samples !== undefined && opts.samples > 1],
    [`--guidance ${opts.guidance}`, opts.guidance !== undefined],
    [`--orientations ${opts.orientations}`, opts.orientations !== undefined && opts.orientations > 1],
    [`--consistency ${opts.consistency}`, opts.consistency !== undefined && opts.consistency > 0],
    [`--consistency-pilot ${opts.consistencyPilot}`, opts.consistencyPilot !== undefined && opts.consistencyPilot > 0],
  ];
  return given.filter(([, on]) => on).map(([flag]) => flag);
}

export function parseOrientations(text: string): number {
  const value = decimalNumber(text);
  if (!(ORIENTATION_COUNTS as readonly number[]).includes(value)) throw usageError(`--orientations must be 1, 2, 4 or 8, got "${text}"`);
  return value;
}

/** The shared options as pipeline options (commander has validated each; usage errors exit 2). */
export function denoiserSettings(opts: DenoiserCliOptions): DenoiserSettings {
  if (opts.texture !== 'smooth' && opts.method !== 'diffusion') throw usageError(`--texture ${opts.texture} needs --method diffusion`);
  if (opts.lowBand !== undefined && opts.lowBand > 0 && opts.method !== 'diffusion') throw usageError('--low-band needs --method diffusion');
  const ignored = modelOnlyOptionsGiven(opts);
  if (ignored.length > 0) {
    throw usageError(
      `${ignored.join(', ')} ${ignored.length > 1 ? 'are options' : 'is an option'} of the diffusion model, which --method ${opts.method} does not run: ` +
        `the ${opts.method} filter would ignore ${ignored.length > 1 ? 'them' : 'it'} and its report would not say so; leave ${ignored.length > 1 ? 'them' : 'it'} out, or use --method diffusion`,
    );
  }
  if (opts.consistency === 0 && opts.consistencyPilot !== undefined && opts.consistencyPilot > 0) {
    throw usageError('--consistency-pilot is part of the consistency step: it needs --consistency above 0');
  }
  return {
    method: opts.method,
    device: opts.device,
    seed: parseSeedOption(opts.seed),
    ...(opts.samples !== undefined ? { samples: opts.samples } : {}),
    texture: opts.texture,
    batch: opts.batch,
    ...(opts.model !== undefined ? { model: opts.model } : {}),
    ...(opts.steps !== undefined ? { steps: opts.steps } : {}),
    ...(opts.sampler !== undefined ? { sampler: opts.sampler } : {}),
    ...(opts.guidance !== undefined ? { guidance: opts.guidance } : {}),
    ...(opts.orientations !== undefined ? { orientations: opts.orientations } : {}),
    ...(opts.consistency !== undefined ? { consistency: opts.consistency } : {}),
    ...(opts.lowBand !== undefined ? { lowBand: opts.lowBand } : {}),
    ...(opts.consistencyPilot !== undefined ? { consistencyPilot: opts.consistencyPilot } : {}),
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    ...(opts.memoryBudget !== undefined ? { memoryBudget: opts.memoryBudget } : {}),
  };
}

/** Turns the pipeline's cumulative progress events into a progress bar per series. */
export function progressListener(progress: Progress): (event: DenoiseProgress) => void {
  let current: string | null = null;
  let counted = 0;
  return (event) => {
    if (event.seriesKey !== current) {
      if (current !== null) progress.stop();
      current = event.seriesKey;
      counted = 0;
      progress.start(`series ${event.seriesIndex + 1}/${event.seriesCount}`, event.slicesTotal);
    }
    progress.increment(event.slicesDone - counted);
    counted = event.slicesDone;
  };
}

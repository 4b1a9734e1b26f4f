/**
 * The named choices of a denoise run, one list each: denoising methods, devices, samplers, textures
 * and the modalities it denoises. The
 * types, `--help` texts and validation of the CLI, the model-card parser, the server's JSON schemas
 * and the viewer's menus are all derived from these lists, so adding an entry here is the whole
 * change. No imports: the viewer's bundle and type check read this file too.
 */

/** Classical baselines (src/filters). */
export const CLASSICAL_METHODS = ['gaussian', 'bilateral', 'nlm'] as const;
export type ClassicalMethod = (typeof CLASSICAL_METHODS)[number];

/** `--method`: the diffusion model or a classical baseline. */
export const DENOISE_METHODS = ['diffusion', ...CLASSICAL_METHODS] as const;
export type DenoiseMethod = (typeof DENOISE_METHODS)[number];

/** Execution providers that can run a model (src/runtime). */
export const DEVICES = ['cpu', 'webgpu', 'cuda'] as const;
export type Device = (typeof DEVICES)[number];

/** `--device`: a device, or `auto` (the runtime picks: see AUTO_ORDER in src/runtime/devices.ts). */
export const DEVICE_REQUESTS = ['auto', ...DEVICES] as const;
export type DeviceRequest = (typeof DEVICE_REQUESTS)[number];

/** `--sampler` and a model card's `sampler.default` (src/diffusion). */
export const SAMPLER_NAMES = ['ddpm', 'ddim', 'warm-start', 'resshift'] as const;
export type SamplerName = (typeof SAMPLER_NAMES)[number];

/** `--texture`: the denoiser's own (smooth) output or full-dose noise restored (src/diffusion/texture.ts). */
export const TEXTURES = ['smooth', 'full-dose'] as const;
export type Texture = (typeof TEXTURES)[number];

/** The modalities a denoise run denoises (series of any other are skipped, and said so). */
export const DENOISED_MODALITIES = ['CT', 'PT'] as const;
export type DenoisedModality = (typeof DENOISED_MODALITIES)[number];

/** Whether `value` is one of `list` (narrowing an untrusted string to the list's type). */
export function isOneOf<const T extends readonly string[]>(list: T, value: unknown): value is T[number] {
  return typeof value === 'string' && (list as readonly string[]).includes(value);
}

/**
 * How E_LESION_BIAS picked the count level it quotes (src/models/lesion-bias.ts): the nearest
 * measured level at or below the declared dose, the lowest when the declared dose is below every
 * measured one, every measured level (the worst over them) when the dose is unknown.
 */
export const LESION_BIAS_PICKS = ['at or below', 'below every measured level', 'dose unknown'] as const;
export type LesionBiasPick = (typeof LESION_BIAS_PICKS)[number];

/**
 * The largest classifier-free guidance scale a run takes (`--guidance`, a job's `guidance`, the
 * library's `GuidedModel`), from 0. Guidance adds (g − 1)·(cond − uncond): on `lowdose-ct` each unit
 * of g added about 12.6 HU of noise (ACR at 25 % dose, g = 1..8, docs/trace.md "Guidance"), so at
 * g = 3 the output is as noisy as the input, and at 20 it would be about 250 HU (extrapolated); one bound for the
 * CLI and the job API, so that a setting the one takes the other does not refuse.
 */
export const GUIDANCE_MAX = 20;

/**
 * What `--uncertainty` / `--hallucination` need before any work starts, for the CLI and the
 * server's POST /api/jobs alike: the diffusion model's ensemble at its default texture, and a
 * model card calibrated for the ensemble size asked for (docs/uncertainty.md).
 */
import { LowdoseError } from '../errors.js';
import { DEFAULT_MODELS, resolveUncertainty } from '../models/denoiser.js';
import { resolveModelFiles } from '../models/load.js';
import type { DenoiseOptions } from './types.js';

type UncertaintyRequest = Pick<DenoiseOptions, 'method' | 'texture' | 'uncertainty' | 'hallucination' | 'uncertaintyThreshold'>;

/** E_USAGE for settings the calibration does not describe. */
export function checkUncertaintyOptions(options: UncertaintyRequest): void {
  const wanted = Boolean(options.uncertainty || options.hallucination);
  const method = options.method ?? 'diffusion';
  if (wanted && method !== 'diffusion') {
    throw new LowdoseError('E_USAGE', `--uncertainty and --hallucination need the diffusion model's ensemble, not --method ${method}`);
  }
  if (wanted && options.texture === 'full-dose') {
    // The calibration measured the default (smooth) output: restored noise is error it never saw.
    throw new LowdoseError('E_USAGE', '--uncertainty and --hallucination are calibrated for --texture smooth (the default), not full-dose');
  }
  if (options.uncertaintyThreshold !== undefined && !wanted) {
    throw new LowdoseError('E_USAGE', '--uncertainty-threshold needs --uncertainty or --hallucination');
  }
  // An SD above 0 is any pixel at all: every one would count as uncertain (the job API refuses 0 too).
  if (options.uncertaintyThreshold !== undefined && !(options.uncertaintyThreshold > 0)) {
    throw new LowdoseError('E_USAGE', `--uncertainty-threshold must be above 0, got ${options.uncertaintyThreshold}`);
  }
}

/**
 * The option checks, then, per modality to be denoised, the model card's calibration for the
 * ensemble size (E_MODEL without one, E_USAGE for an uncalibrated --samples), as the denoiser
 * would find them when it loads.
 */
export async function checkUncertaintyRequest(
  options: UncertaintyRequest & Pick<DenoiseOptions, 'model' | 'samples'>,
  modalities: Iterable<'CT' | 'PT'>,
): Promise<void> {
  checkUncertaintyOptions(options);
  if (!options.uncertainty && !options.hallucination) return;
  for (const modality of new Set(modalities)) {
    const { card } = await resolveModelFiles(options.model ?? DEFAULT_MODELS[modality]);
    resolveUncertainty(card, options.samples ?? card.uncertainty?.samples ?? 1, options.uncertaintyThreshold);
  }
}

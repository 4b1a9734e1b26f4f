/**
 * How image noise scales with dose, for QA checks of simulated (or real) reduced-dose images.
 *
 * With quantum (photon or count) noise only, variance is proportional to 1/dose, so
 *   sigma_d = sigma_1 / sqrt(d).
 * In CT, electronic noise adds a part that grows as 1/d^2 in the log domain (its size is fixed
 * while the signal shrinks); if a fraction e of the full-dose variance is electronic,
 *   sigma_d = sigma_1 sqrt((1 - e) / d + e / d^2).
 * It matters only for very low counts (thick patients, d <= 0.1); e = 0 is the usual assumption.
 */
import { LowdoseError } from '../errors.js';

/** Expected noise standard deviation at `dose` (fraction of full) from the one measured at full dose. */
export function expectedNoiseStd(sigmaFull: number, dose: number, options: { electronicFraction?: number } = {}): number {
  const e = options.electronicFraction ?? 0;
  if (!(dose > 0 && dose <= 1)) throw new LowdoseError('E_USAGE', `dose must be in (0, 1], got ${dose}`);
  if (!(e >= 0 && e <= 1)) throw new LowdoseError('E_USAGE', `electronicFraction must be in [0, 1], got ${e}`);
  if (!(sigmaFull >= 0)) throw new LowdoseError('E_USAGE', `sigmaFull must be >= 0, got ${sigmaFull}`);
  return sigmaFull * Math.sqrt((1 - e) / dose + e / (dose * dose));
}

/** The inverse: full-dose noise implied by noise measured at `dose` (quantum noise only). */
export function fullDoseNoiseStd(sigmaAtDose: number, dose: number): number {
  return sigmaAtDose / expectedNoiseStd(1, dose);
}

/** Every check family, each a pure function of one phantom at one dose and the config. */
import type { QaConfig } from '../config.js';
import type { FamilyResult, QaCase } from '../types.js';
import { cnrChecks } from './cnr.js';
import { contrastChecks } from './contrast.js';
import { detectabilityChecks } from './detectability.js';
import { fidelityChecks } from './fidelity.js';
import { hallucinationChecks } from './hallucination.js';
import { huChecks } from './hu.js';
import { mtfChecks } from './mtf.js';
import { noiseChecks } from './noise.js';
import { npsChecks } from './nps.js';
import { petChecks } from './pet.js';

export type CheckFamily = (c: QaCase, config: QaConfig) => FamilyResult;

/** In the order the table lists them. */
export const CHECK_FAMILIES: readonly CheckFamily[] = [noiseChecks, huChecks, cnrChecks, contrastChecks, detectabilityChecks, mtfChecks, npsChecks, fidelityChecks, hallucinationChecks, petChecks];

export { cnrChecks, contrastChecks, detectabilityChecks, fidelityChecks, hallucinationChecks, huChecks, mtfChecks, noiseChecks, npsChecks, petChecks };
export { pooledNoise } from './noise.js';
export { npsOf, smoothedPeak } from './nps.js';
export { rodCnr } from './cnr.js';
export { rodContrast } from './contrast.js';
export { diskContrast, lcdTask, taskSamples } from './detectability.js';
export type { LcdTask } from './detectability.js';
export { sphereStats } from './pet.js';
export { HU_ROI_FRACTION } from './hu.js';

/** Runs every family on a case and merges what they return. */
export function runChecks(c: QaCase, config: QaConfig): FamilyResult[] {
  return CHECK_FAMILIES.map((family) => family(c, config));
}

/** The ACR fixture with its committed noise realisations, as QA cases for hand-made "denoisers". */
import { gaussianFilter } from '../../src/filters/index.js';
import { fixtureSeriesDir, readFixtureInfo, readRealisationScans, readStack, type RealisationScans } from '../../src/qa/fixtures.js';
import { caseOfRealisations } from '../../src/qa/realisations.js';
import { DEFAULT_FIXTURES_DIR } from '../../src/qa/config.js';
import type { QaCase, SliceStack } from '../../src/qa/types.js';

export interface AcrRealisations {
  readonly geometry: Record<string, unknown>;
  readonly truth: SliceStack;
  /** Per dose: realisation 0 first, each with its low-dose and full-dose scans. */
  readonly byDose: Map<number, RealisationScans[]>;
}

export async function loadAcr(doses: readonly number[]): Promise<AcrRealisations> {
  const info = readFixtureInfo(DEFAULT_FIXTURES_DIR, 'acr');
  const byDose = new Map<number, RealisationScans[]>();
  for (const dose of doses) byDose.set(dose, await readRealisationScans(info, dose));
  return { geometry: info.geometry, truth: await readStack(fixtureSeriesDir(info, 'truth')), byDose };
}

/** A QA case whose output of each realisation is `step(its input, its full-dose scan)`. */
export function caseFor(acr: AcrRealisations, dose: number, step: (low: SliceStack, full: SliceStack) => SliceStack): QaCase {
  return caseOfRealisations({ phantom: 'acr', geometry: acr.geometry, truth: acr.truth }, acr.byDose.get(dose)!, dose, step);
}

export function blurStack(stack: SliceStack, sigmaMm: number): SliceStack {
  return { ...stack, slices: stack.slices.map((s) => ({ ...s, data: gaussianFilter(s, { sigmaMm }).data })) };
}

/** Removes `fraction` of the module-2 rods' nominal contrast (the noise-free truth's 90 to 96 HU pixels) from `stack`. */
export function eraseRodContrast(acr: AcrRealisations, stack: SliceStack, fraction: number): SliceStack {
  return {
    ...stack,
    slices: stack.slices.map((s) => {
      const t = acr.truth.slices.find((x) => x.position[2] === s.position[2])!;
      return { ...s, data: s.data.map((v, i) => (t.data[i]! > 90.5 && t.data[i]! < 96.5 ? v - fraction * (t.data[i]! - 90) : v)) };
    }),
  };
}

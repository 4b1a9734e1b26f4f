/** Fixture stacks and hand-made "denoisers" for the QA check tests. */
import { fileURLToPath } from 'node:url';
import { gaussianFilter } from '../../src/filters/index.js';
import { fixtureSeriesDir, readFixtureInfo, readRealisationScans, readStack, type RealisationScans } from '../../src/qa/fixtures.js';
import { caseOfRealisations } from '../../src/qa/realisations.js';
import type { PhantomName, QaCase, QaSlice, SliceStack } from '../../src/qa/index.js';

export const FIXTURES = fileURLToPath(new URL('../../fixtures', import.meta.url));

export interface FixtureSet {
  readonly phantom: PhantomName;
  readonly geometry: Record<string, unknown>;
  readonly truth: SliceStack;
  readonly full: SliceStack;
  readonly low: Map<number, SliceStack>;
}

export async function loadFixture(phantom: PhantomName, doses: readonly number[] = [0.25]): Promise<FixtureSet> {
  const info = readFixtureInfo(FIXTURES, phantom);
  const low = new Map<number, SliceStack>();
  for (const dose of doses) low.set(dose, await readStack(fixtureSeriesDir(info, dose)));
  return {
    phantom,
    geometry: info.geometry,
    truth: await readStack(fixtureSeriesDir(info, 'truth')),
    full: await readStack(fixtureSeriesDir(info, 1)),
    low,
  };
}

/** One noise realisation of a fixture at one dose: its low-dose and full-dose scans. */
export type RealisationStacks = RealisationScans;

/** Every committed noise realisation of `phantom` at `dose`, realisation 0 (the fixture) first. */
export function loadRealisations(phantom: PhantomName, dose: number): Promise<RealisationStacks[]> {
  return readRealisationScans(readFixtureInfo(FIXTURES, phantom), dose);
}

/** A case over several realisations, as `lowdose qa` builds it (src/qa/realisations.ts). */
export { caseOfRealisations };

/** A case whose "denoised" series is `denoise(input)`; the input defaults to the fixture's low-dose scan. */
export function caseOf(f: FixtureSet, denoise: (s: SliceStack) => SliceStack, options: { dose?: number; input?: SliceStack } = {}): QaCase {
  const dose = options.dose ?? 0.25;
  const low = options.input ?? f.low.get(dose)!;
  return { phantom: f.phantom, dose, geometry: f.geometry, truth: f.truth, full: f.full, low, denoised: denoise(low) };
}

/** Applies `fn` to every slice's pixels. */
export function mapStack(stack: SliceStack, fn: (slice: QaSlice) => Float32Array): SliceStack {
  return { ...stack, slices: stack.slices.map((s) => ({ ...s, data: fn(s) })) };
}

export const identity = (s: SliceStack): SliceStack => s;

export function blur(sigmaMm: number) {
  return (stack: SliceStack): SliceStack => mapStack(stack, (s) => gaussianFilter(s, { sigmaMm }).data);
}

export function offset(delta: number) {
  return (stack: SliceStack): SliceStack => mapStack(stack, (s) => s.data.map((v) => v + delta));
}

export function scale(factor: number) {
  return (stack: SliceStack): SliceStack => mapStack(stack, (s) => s.data.map((v) => v * factor));
}

/** Fixture stacks and hand-made "denoisers" for the QA check tests. */
import { fileURLToPath } from 'node:url';
import { gaussianFilter } from '../../src/filters/index.js';
import { fixtureRealisations, fixtureSeriesDir, readFixtureInfo, readStack } from '../../src/qa/fixtures.js';
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
export interface RealisationStacks {
  readonly index: number;
  readonly low: SliceStack;
  readonly full: SliceStack;
}

/** Every committed noise realisation of `phantom` at `dose`, realisation 0 (the fixture) first. */
export async function loadRealisations(phantom: PhantomName, dose: number): Promise<RealisationStacks[]> {
  const info = readFixtureInfo(FIXTURES, phantom);
  const out: RealisationStacks[] = [];
  for (const r of fixtureRealisations(info)) {
    out.push({ index: r.index, low: await readStack(fixtureSeriesDir(info, dose, r)), full: await readStack(fixtureSeriesDir(info, 1, r)) });
  }
  return out;
}

/**
 * A case over several realisations: each one's "denoised" series is `denoise(its input, its full-dose
 * scan)`, as `lowdose qa` builds it from the fixtures' realisations.
 */
export function caseOfRealisations(
  f: FixtureSet,
  realisations: readonly RealisationStacks[],
  dose: number,
  denoise: (low: SliceStack, full: SliceStack) => SliceStack,
): QaCase {
  const [first, ...rest] = realisations;
  return {
    phantom: f.phantom,
    dose,
    geometry: f.geometry,
    truth: f.truth,
    full: first!.full,
    low: first!.low,
    denoised: denoise(first!.low, first!.full),
    realisations: rest.map((r) => ({ index: r.index, low: r.low, full: r.full, denoised: denoise(r.low, r.full) })),
  };
}

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

/**
 * The bias checks judge a denoiser's expected bias, not one noise draw: each is measured on every
 * noise realisation of a case and the check value is their mean, with its standard error and each
 * realisation's value in `measured` (docs/qa.md, "Expected bias over noise realisations").
 */
import type { RealisationScans } from './fixtures.js';
import type { QaCase, QaRealisation, SliceStack } from './types.js';

/**
 * A case over realisations (realisation 0 first) whose "denoised" series of each is
 * `denoise(its input, its full-dose scan)`: how tests and experiments judge hand-made denoisers
 * the way `lowdose qa` judges a real one over the fixtures' realisations.
 */
export function caseOfRealisations(
  base: Pick<QaCase, 'phantom' | 'geometry' | 'truth'>,
  realisations: readonly RealisationScans[],
  dose: number,
  denoise: (low: SliceStack, full: SliceStack) => SliceStack,
): QaCase {
  const [first, ...rest] = realisations;
  if (!first) throw new RangeError('caseOfRealisations: no realisation');
  return {
    phantom: base.phantom,
    dose,
    geometry: base.geometry,
    truth: base.truth,
    full: first.full,
    low: first.low,
    denoised: denoise(first.low, first.full),
    realisations: rest.map((r) => ({ index: r.index, low: r.low, full: r.full, denoised: denoise(r.low, r.full) })),
  };
}

/** Realisation 0 (the case's own stacks) followed by the case's further realisations. */
export function realisationsOf(c: QaCase): QaRealisation[] {
  return [{ index: 0, low: c.low, denoised: c.denoised, full: c.full }, ...(c.realisations ?? [])];
}

export interface RealisationSummary {
  /** Mean over realisations; null when any value is unmeasurable (the check then fails). */
  readonly mean: number | null;
  /** Sample SD over realisations / sqrt(count); null for a single realisation. */
  readonly standardError: number | null;
  readonly count: number;
}

export function summarise(values: readonly (number | null)[]): RealisationSummary {
  const count = values.length;
  if (count === 0 || values.some((v) => v === null || !Number.isFinite(v))) return { mean: null, standardError: null, count };
  const xs = values as readonly number[];
  const mean = xs.reduce((a, b) => a + b, 0) / count;
  if (count < 2) return { mean, standardError: null, count };
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (count - 1);
  return { mean, standardError: Math.sqrt(variance / count), count };
}

/** Mean of the finite values (null when there are none): the realisation means reported beside the value. */
export function meanOf(values: readonly (number | null)[]): number | null {
  const xs = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/**
 * The `measured` fields every averaged check adds: `realisations` (how many), `standardError`,
 * and `r0`, `r1`, ... (the check value of each realisation, keyed by its index).
 */
export function realisationFields(realisations: readonly QaRealisation[], values: readonly (number | null)[], summary: RealisationSummary): Record<string, number | null> {
  const fields: Record<string, number | null> = { realisations: summary.count, standardError: summary.standardError };
  realisations.forEach((r, k) => {
    fields[`r${r.index}`] = values[k] ?? null;
  });
  return fields;
}

/** "mean of 8 realisations (SE 0.4 HU)" or "1 realisation", for detail lines. */
export function describeRealisations(summary: RealisationSummary, se: (v: number) => string): string {
  if (summary.count === 1) return 'one noise realisation';
  return `mean of ${summary.count} noise realisations, standard error ${summary.standardError === null ? 'n/a' : se(summary.standardError)}`;
}

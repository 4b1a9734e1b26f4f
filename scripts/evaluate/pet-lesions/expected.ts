/**
 * Expected lesion scores over placements and noise draws (`scripts/evaluate/pet-lesions.ts
 * --noise-realisations N`). A per-size mean from one noise draw is a draw of a random variable:
 * one 17 mm lesion's SUVmean in sts-001 scatters by about 6.6 % (SD) between Poisson draws at 25 %
 * counts (models/eval/pet-input-bias.md), so six lesions of one draw carry ~2.7 points of noise.
 *
 * Two sources of variance: where a lesion is (placement: tissue, contrast, partial volume), and which
 * events were detected (noise draw). The unit of independence is the lesion: placements are
 * independent draws of positions and contrasts, noise draws are independent Poisson streams, and
 * lesions of one placement sit in different tissue (their margins never overlap). So the score of
 * each lesion is first averaged over its draws, m_i; the expectation is the mean of the m_i (with
 * every lesion drawn equally often: the mean of all per-draw scores), and its standard error is
 * SD(m_i) / sqrt(L) over the L lesions, which holds both sources: Var(m_i) = between-lesion variance
 * + noise variance / N. The two are also reported apart: `noiseSd` (one lesion's SD between draws,
 * pooled), `noiseSe` = noiseSd / sqrt(L N) (the standard error for these very lesions, placements
 * held fixed: what more draws reduce) and `betweenSd` (the SD of the lesions' own expected values:
 * what only more placements reduce).
 */
import { summarise } from '../../../src/qa/realisations.js';
import type { LesionScore } from './score.js';

/** One value of one lesion in one noise draw; `unit` names the lesion (placement and name). */
export interface DrawSample {
  readonly unit: string;
  readonly value: number;
}

export interface Expectation {
  /** Mean over lesions of each lesion's mean over its draws. */
  readonly mean: number;
  /** SD of the lesion means / sqrt(lesions); null for a single lesion. */
  readonly se: number | null;
  readonly lesions: number;
  /** Samples (lesion x draw). */
  readonly samples: number;
  /** One lesion's SD between noise draws, pooled over lesions; null without repeated draws. */
  readonly noiseSd: number | null;
  /** noiseSd / sqrt(samples): the standard error with the placements held fixed. */
  readonly noiseSe: number | null;
  /** SD of the lesions' expected values: sqrt(max(0, Var(m_i) - noiseSd² / N)), N the draws per lesion (harmonic mean). */
  readonly betweenSd: number | null;
  /** The lesion mean of the largest magnitude. */
  readonly worst: number;
}

export function expectation(samples: readonly DrawSample[]): Expectation {
  if (samples.length === 0) throw new RangeError('expectation: no samples');
  const byUnit = new Map<string, number[]>();
  for (const s of samples) {
    const list = byUnit.get(s.unit) ?? [];
    list.push(s.value);
    byUnit.set(s.unit, list);
  }
  const groups = [...byUnit.values()];
  const means = groups.map((g) => g.reduce((a, b) => a + b, 0) / g.length);
  const across = summarise(means);
  let within = 0;
  let dof = 0;
  groups.forEach((g, i) => {
    for (const v of g) within += (v - means[i]!) ** 2;
    dof += g.length - 1;
  });
  const noiseSd = dof > 0 ? Math.sqrt(within / dof) : null;
  const harmonicDraws = groups.length / groups.reduce((a, g) => a + 1 / g.length, 0);
  const betweenSd =
    noiseSd === null || across.standardError === null
      ? null
      : Math.sqrt(Math.max(0, across.standardError ** 2 * groups.length - noiseSd ** 2 / harmonicDraws));
  return {
    mean: across.mean!,
    se: across.standardError,
    lesions: groups.length,
    samples: samples.length,
    noiseSd,
    noiseSe: noiseSd === null ? null : noiseSd / Math.sqrt(samples.length),
    betweenSd,
    worst: means.reduce((w, m) => (Math.abs(m) > Math.abs(w) ? m : w), 0),
  };
}

/** One series (method, dose) of one placement and noise draw: its lesion scores and background SDs (same order). */
export interface DrawScores {
  readonly placement: number;
  readonly draw: number;
  readonly scores: readonly LesionScore[];
  readonly backgroundSds: readonly number[];
}

export interface ExpectedSize {
  readonly diameterMm: number;
  readonly mean: Expectation;
  readonly max: Expectation;
  readonly peak: Expectation;
  /** SD of the voxels 5 to 10 mm outside the lesions of this size, SUV. */
  readonly backgroundSd: Expectation;
}

const unitOf = (d: DrawScores, lesion: string) => `${d.placement}|${lesion}`;

/** Per lesion size: the expected SUVmean / SUVmax / SUVpeak bias and background SD, each with its standard error. */
export function expectedBySize(draws: readonly DrawScores[]): ExpectedSize[] {
  const sizes = [...new Set(draws.flatMap((d) => d.scores.map((s) => s.diameterMm)))].sort((a, b) => a - b);
  return sizes.map((diameterMm) => {
    const of = (pick: (s: LesionScore, i: number, d: DrawScores) => number) =>
      expectation(draws.flatMap((d) => d.scores.flatMap((s, i) => (s.diameterMm === diameterMm ? [{ unit: unitOf(d, s.lesion), value: pick(s, i, d) }] : []))));
    return {
      diameterMm,
      mean: of((s) => s.meanBias),
      max: of((s) => s.maxBias),
      peak: of((s) => s.peakBias),
      backgroundSd: of((_, i, d) => d.backgroundSds[i]!),
    };
  });
}

/** The background SD over every lesion of every size, as the single-draw table reports it. */
export function expectedBackgroundSd(draws: readonly DrawScores[]): Expectation {
  return expectation(draws.flatMap((d) => d.scores.map((s, i) => ({ unit: unitOf(d, s.lesion), value: d.backgroundSds[i]! }))));
}

/** Is |value| within `limit`, and is that decided beyond twice the standard error? */
export interface ExpectedLimit {
  /** The size whose expected |bias| is largest, and that bias with its standard error. */
  readonly worstDiameterMm: number;
  readonly worst: number;
  readonly worstSe: number | null;
  /** Every size's expected |bias| within the limit. */
  readonly met: boolean;
  /** met: every size's |bias| + 2 SE within the limit; missed: some size's |bias| - 2 SE beyond it. */
  readonly decided: boolean;
  /** The sizes whose expected |bias| lies within 2 SE of the limit (either side). */
  readonly closeCalls: number[];
}

/**
 * The limits on the expected per-size biases of lesions of `minDiameterMm` and up
 * (|SUVmean| <= meanLimit, |SUVmax| <= maxLimit), each saying whether twice the standard error
 * could change the answer.
 */
export function expectedVerdict(summary: readonly ExpectedSize[], meanLimit: number, maxLimit: number, minDiameterMm = 17): { mean: ExpectedLimit; max: ExpectedLimit } {
  const big = summary.filter((s) => s.diameterMm >= minDiameterMm);
  if (big.length === 0) throw new RangeError(`expectedVerdict: no lesion of ${minDiameterMm} mm or more`);
  const judge = (pick: (s: ExpectedSize) => Expectation, limit: number): ExpectedLimit => {
    const worst = big.reduce((w, s) => (Math.abs(pick(s).mean) > Math.abs(pick(w).mean) ? s : w));
    const met = big.every((s) => Math.abs(pick(s).mean) <= limit);
    const se = (s: ExpectedSize) => pick(s).se ?? Number.POSITIVE_INFINITY;
    const decided = met ? big.every((s) => Math.abs(pick(s).mean) + 2 * se(s) <= limit) : big.some((s) => Math.abs(pick(s).mean) - 2 * se(s) > limit);
    const closeCalls = big.filter((s) => Math.abs(Math.abs(pick(s).mean) - limit) <= 2 * se(s)).map((s) => s.diameterMm);
    return { worstDiameterMm: worst.diameterMm, worst: pick(worst).mean, worstSe: pick(worst).se, met, decided, closeCalls };
  };
  return { mean: judge((s) => s.mean, meanLimit), max: judge((s) => s.max, maxLimit) };
}

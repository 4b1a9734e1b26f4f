/**
 * The card's `quality.lesionRecovery` block (src/models/card.ts, LesionRecovery), built only from
 * committed evaluation files of the shipped card:
 *
 * - the IEC phantom: `lowdose qa --phantoms iec --json` (models/eval/qa-iec.json): per sphere of
 *   17 mm and up, QA's SUVmean bias (mean over the fixture's noise realisations, with its standard
 *   error) and SUVmax as the mean denoised SUVmax over the mean full-count SUVmax (QA's own check
 *   is SUVmax / true activity; both means are in its `measured`). QA has no 10 / 13 mm spheres.
 * - lesions inserted into sts-001: scripts/evaluate/pet-lesions.ts --noise-realisations 12
 *   (models/eval/pet-lesions-expected/dose{25,10}.json): its `expected` rows of the card, mean and
 *   standard error over the lesions of each size, each lesion's draws averaged first.
 *
 * Both on the two paths a run can take: the dose declared to the model (`qa`, `pet-lesions.ts`
 * as they run by default) and not declared (`qa --dose-unknown`, `pet-lesions.ts --dose-unknown`:
 * models/eval/qa-iec-dose-unknown.json, models/eval/pet-lesions-expected-unknown/dose{25,10}.json);
 * each set says which (`doseDeclared`), and a run quotes the sets of its own path.
 *
 * Each file is checked to be of the card's current settings (QA: the shipped model at its card
 * defaults, and where the QA result records the model files' fingerprint, the card's files as they
 * are now (src/models/fingerprint.ts); pet-lesions: the card's consistency block) and of its path
 * before a number is taken from it.
 */
import type { LesionRecovery, LesionRecoveryBySize, LesionRecoverySet } from '../../src/models/card.js';
import { fingerprintDifferences, type ModelFingerprint } from '../../src/models/fingerprint.js';

/** An evaluation file, the command that wrote it and whether it told the model the dose. */
export interface EvalFile {
  readonly file: string;
  readonly command?: string;
  readonly doseDeclared: boolean;
}

export const IEC_FILES: readonly EvalFile[] = [
  { file: 'models/eval/qa-iec.json', command: 'node bin/lowdose.js qa --phantoms iec --threads 1 --json -o <dir> > models/eval/qa-iec.json', doseDeclared: true },
  {
    file: 'models/eval/qa-iec-dose-unknown.json',
    command: 'node bin/lowdose.js qa --phantoms iec --threads 1 --json -o .cache/qa-iec-dose-unknown --dose-unknown > models/eval/qa-iec-dose-unknown.json',
    doseDeclared: false,
  },
];
/** The pet-lesions.ts reports (each records its own command). */
export const STS_FILES: readonly EvalFile[] = [
  { file: 'models/eval/pet-lesions-expected/dose25.json', doseDeclared: true },
  { file: 'models/eval/pet-lesions-expected/dose10.json', doseDeclared: true },
  { file: 'models/eval/pet-lesions-expected-unknown/dose25.json', doseDeclared: false },
  { file: 'models/eval/pet-lesions-expected-unknown/dose10.json', doseDeclared: false },
];
export const CARD_COMMAND = 'npx tsx scripts/evaluate/lesion-recovery-card.ts';

interface QaCheck {
  readonly check: string;
  readonly phantom: string;
  readonly dose: number;
  readonly name: string;
  readonly value: number;
  readonly measured: Record<string, number | null>;
}
export interface QaReport {
  readonly checks: readonly QaCheck[];
  readonly settings: Record<string, unknown>;
}
interface ExpectedStat {
  readonly mean: number;
  readonly se: number;
  readonly lesions: number;
}
export interface PetLesionsReport {
  readonly command: string;
  readonly card: string;
  /** Absent in reports written before --dose-unknown: those told the model the dose. */
  readonly doseDeclared?: boolean;
  readonly noiseRealisations: number;
  readonly placements: readonly unknown[];
  readonly expected: ReadonlyArray<{ method: string; dose: number; bySize: ReadonlyArray<{ diameterMm: number; mean: ExpectedStat; max: ExpectedStat }> }>;
}

/** Every evaluation file, parsed by `read` (a path relative to the repository -> its JSON). */
export function readEvals(read: (file: string) => unknown): { iec: Array<EvalFile & { report: QaReport }>; sts: Array<EvalFile & { report: PetLesionsReport }> } {
  return {
    iec: IEC_FILES.map((f) => ({ ...f, report: read(f.file) as QaReport })),
    sts: STS_FILES.map((f) => ({ ...f, report: read(f.file) as PetLesionsReport })),
  };
}

/**
 * The block for a card (its `sampler.consistency`, to check the files against) from the parsed
 * files: the sets measured with the dose declared first, then those without. `fingerprint` is the
 * card's files' fingerprint now (`modelFingerprint(cardPath)`), to check the QA results against.
 */
export function lesionRecoveryFromEvals(
  card: { name: string; sampler: { consistency?: unknown } },
  evals: ReturnType<typeof readEvals>,
  fingerprint: ModelFingerprint,
): LesionRecovery {
  const sets = [true, false].flatMap((declared) => [
    ...evals.iec.filter((e) => e.doseDeclared === declared).flatMap((e) => iecSets(card.name, fingerprint, e)),
    ...evals.sts.filter((e) => e.doseDeclared === declared).flatMap((e) => stsSets(card, e)),
  ]);
  return {
    reference: 'bias = denoised / full-count reconstruction - 1, in %: SUVmean and SUVmax of each lesion or sphere (`lesionStats`, as `lowdose metrics --lesions`), the mean over lesions of one size',
    // Every set says its own path; this is the path of a set that would not (the card reader's default).
    doseDeclared: true,
    command: CARD_COMMAND,
    sets,
  };
}

function iecSets(cardName: string, fingerprint: ModelFingerprint, source: EvalFile & { report: QaReport }): LesionRecoverySet[] {
  const { report, file } = source;
  const s = report.settings;
  const atDefaults = s['method'] === 'diffusion' && s['petModel'] === cardName && s['steps'] === null && s['consistency'] === null && s['samples'] === 1 && s['texture'] === 'smooth';
  if (!atDefaults) throw new Error(`${file}: not a QA run of ${cardName} at its card's defaults (settings ${JSON.stringify(s)})`);
  // A result written before QA recorded the fingerprint has none, and is taken on trust.
  const recorded = (s['modelFingerprint'] as { petModel?: ModelFingerprint } | null | undefined)?.petModel;
  const changed = recorded ? fingerprintDifferences(recorded, fingerprint) : [];
  if (changed.length > 0) throw new Error(`${file}: a QA run of other files than ${cardName}'s now (${changed.join('; ')}); regenerate it: ${source.command ?? 'lowdose qa'}`);
  // A qa.json written before --dose-unknown has no doseDeclared: it declared the dose.
  const declared = s['doseDeclared'] ?? true;
  if (declared !== source.doseDeclared) throw new Error(`${file}: a QA run ${declared ? 'with' : 'without'} the dose declared, expected ${source.doseDeclared ? 'with' : 'without'}`);
  const doses = [...new Set(report.checks.filter((c) => c.phantom === 'iec').map((c) => c.dose))];
  return doses.map((dose) => {
    const of = (check: string) => report.checks.filter((c) => c.phantom === 'iec' && c.dose === dose && c.check === check);
    const diameter = (c: QaCheck) => Number(/\/(\d+)mm$/.exec(c.name)?.[1]);
    const maxes = new Map(of('suvmax-recovery').map((c) => [diameter(c), c]));
    const means = of('suvmean-bias');
    const realisations = new Set(means.map((c) => c.measured['realisations']));
    if (realisations.size !== 1) throw new Error(`${file}: the checks at ${dose} average different numbers of realisations`);
    const bySize = means
      .map((mean): LesionRecoveryBySize => {
        const d = diameter(mean);
        const max = maxes.get(d);
        const denoisedMax = max?.measured['denoised'];
        const fullMax = max?.measured['full'];
        if (typeof denoisedMax !== 'number' || typeof fullMax !== 'number') throw new Error(`${file}: no SUVmax of the ${d} mm sphere at ${dose}`);
        const se = mean.measured['standardError'];
        return {
          diameterMm: d,
          lesions: 1,
          suvmeanBiasPercent: percent(mean.value),
          suvmaxBiasPercent: percent(denoisedMax / fullMax - 1),
          ...(typeof se === 'number' ? { suvmeanSePercent: percent(se) } : {}),
        };
      })
      .sort((a, b) => a.diameterMm - b.diameterMm);
    return {
      source: 'IEC phantom',
      dose,
      doseDeclared: source.doseDeclared,
      averagedOver: `${[...realisations][0]} noise realisations of each sphere (fixtures/iec); SUVmax: mean denoised over mean full-count`,
      file,
      command: source.command!,
      bySize,
    };
  });
}

function stsSets(card: { name: string; sampler: { consistency?: unknown } }, source: EvalFile & { report: PetLesionsReport }): LesionRecoverySet[] {
  const { report, file } = source;
  if (!report.command.includes(`--out ${file.replace(/\.json$/, '')}`)) throw new Error(`${file}: written by "${report.command}", not into this file`);
  const declared = report.doseDeclared ?? true;
  if (declared !== source.doseDeclared) throw new Error(`${file}: scored ${declared ? 'with' : 'without'} the dose declared, expected ${source.doseDeclared ? 'with' : 'without'}`);
  if (report.card !== `models/${card.name}.json`) throw new Error(`${file}: scored ${report.card}, not models/${card.name}.json`);
  const row = `${card.name} (card: ${JSON.stringify(card.sampler.consistency)})`;
  const rows = report.expected.filter((e) => e.method === row);
  if (rows.length === 0) throw new Error(`${file}: no expected row "${row}" (the card's consistency changed since it was scored?)`);
  return rows.map((e) => ({
    source: 'sts-001 inserted lesions',
    dose: e.dose,
    doseDeclared: source.doseDeclared,
    averagedOver: `${report.noiseRealisations} noise draws of each lesion, ${report.placements.length} test placements`,
    file,
    command: report.command,
    bySize: e.bySize.map((size) => ({
      diameterMm: size.diameterMm,
      lesions: size.mean.lesions,
      suvmeanBiasPercent: percent(size.mean.mean),
      suvmaxBiasPercent: percent(size.max.mean),
      suvmeanSePercent: percent(size.mean.se),
      suvmaxSePercent: percent(size.max.se),
    })),
  }));
}

/** A fraction as a percentage, to 0.01 points (finer than either source's standard error). */
function percent(fraction: number): number {
  return Math.round(fraction * 10000) / 100;
}

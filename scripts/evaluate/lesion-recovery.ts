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
 * Each file is checked to be of the card's current settings (QA: the shipped model at its card
 * defaults; pet-lesions: the card's consistency block) before a number is taken from it.
 */
import type { LesionRecovery, LesionRecoveryBySize, LesionRecoverySet } from '../../src/models/card.js';

export const IEC_FILE = 'models/eval/qa-iec.json';
export const IEC_COMMAND = 'node bin/lowdose.js qa --phantoms iec --threads 1 --json -o <dir> > models/eval/qa-iec.json';
export const STS_FILES = ['models/eval/pet-lesions-expected/dose25.json', 'models/eval/pet-lesions-expected/dose10.json'] as const;
export const CARD_COMMAND = 'npx tsx scripts/evaluate/lesion-recovery-card.ts';

interface QaCheck {
  readonly check: string;
  readonly phantom: string;
  readonly dose: number;
  readonly name: string;
  readonly value: number;
  readonly measured: Record<string, number | null>;
}
interface QaReport {
  readonly checks: readonly QaCheck[];
  readonly settings: Record<string, unknown>;
}
interface ExpectedStat {
  readonly mean: number;
  readonly se: number;
  readonly lesions: number;
}
interface PetLesionsReport {
  readonly command: string;
  readonly card: string;
  readonly noiseRealisations: number;
  readonly placements: readonly unknown[];
  readonly expected: ReadonlyArray<{ method: string; dose: number; bySize: ReadonlyArray<{ diameterMm: number; mean: ExpectedStat; max: ExpectedStat }> }>;
}

/** The block for a card (its `sampler.consistency`, to check the files against) from the parsed files. */
export function lesionRecoveryFromEvals(
  card: { name: string; sampler: { consistency?: unknown } },
  iec: QaReport,
  stsReports: readonly PetLesionsReport[],
): LesionRecovery {
  return {
    reference: 'bias = denoised / full-count reconstruction - 1, in %: SUVmean and SUVmax of each lesion or sphere (`lesionStats`, as `lowdose metrics --lesions`), the mean over lesions of one size',
    doseDeclared: true,
    command: CARD_COMMAND,
    sets: [...iecSets(card.name, iec), ...stsReports.flatMap((r) => stsSets(card, r))],
  };
}

function iecSets(cardName: string, report: QaReport): LesionRecoverySet[] {
  const s = report.settings;
  const atDefaults = s['method'] === 'diffusion' && s['petModel'] === cardName && s['steps'] === null && s['consistency'] === null && s['samples'] === 1 && s['texture'] === 'smooth';
  if (!atDefaults) throw new Error(`${IEC_FILE}: not a QA run of ${cardName} at its card's defaults (settings ${JSON.stringify(s)})`);
  const doses = [...new Set(report.checks.filter((c) => c.phantom === 'iec').map((c) => c.dose))];
  return doses.map((dose) => {
    const of = (check: string) => report.checks.filter((c) => c.phantom === 'iec' && c.dose === dose && c.check === check);
    const diameter = (c: QaCheck) => Number(/\/(\d+)mm$/.exec(c.name)?.[1]);
    const maxes = new Map(of('suvmax-recovery').map((c) => [diameter(c), c]));
    const means = of('suvmean-bias');
    const realisations = new Set(means.map((c) => c.measured['realisations']));
    if (realisations.size !== 1) throw new Error(`${IEC_FILE}: the checks at ${dose} average different numbers of realisations`);
    const bySize = means
      .map((mean): LesionRecoveryBySize => {
        const d = diameter(mean);
        const max = maxes.get(d);
        const denoisedMax = max?.measured['denoised'];
        const fullMax = max?.measured['full'];
        if (typeof denoisedMax !== 'number' || typeof fullMax !== 'number') throw new Error(`${IEC_FILE}: no SUVmax of the ${d} mm sphere at ${dose}`);
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
      averagedOver: `${[...realisations][0]} noise realisations of each sphere (fixtures/iec); SUVmax: mean denoised over mean full-count`,
      file: IEC_FILE,
      command: IEC_COMMAND,
      bySize,
    };
  });
}

function stsSets(card: { name: string; sampler: { consistency?: unknown } }, report: PetLesionsReport): LesionRecoverySet[] {
  const file = STS_FILES.find((f) => report.command.includes(f.replace(/\.json$/, ''))) ?? 'models/eval/pet-lesions-expected';
  if (report.card !== `models/${card.name}.json`) throw new Error(`${file}: scored ${report.card}, not models/${card.name}.json`);
  const row = `${card.name} (card: ${JSON.stringify(card.sampler.consistency)})`;
  const rows = report.expected.filter((e) => e.method === row);
  if (rows.length === 0) throw new Error(`${file}: no expected row "${row}" (the card's consistency changed since it was scored?)`);
  return rows.map((e) => ({
    source: 'sts-001 inserted lesions',
    dose: e.dose,
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

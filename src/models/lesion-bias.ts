/**
 * E_LESION_BIAS: what the model was measured to do to lesion SUVs, on every PET series it denoises.
 *
 * A radiologist reads SUVmean and SUVmax on the denoised series; the shipped PET model lowers the
 * mean of small and faint lesions and can lift SUVmax, by amounts that depend on the count level
 * (models/README.md, "PET: lesions inserted into the held-out real volume"). A card that carries
 * those measurements (`quality.lesionRecovery`) makes every report of a PET run with it quote the
 * worst of them at the input's count level: the nearest measured level at or below the declared
 * dose (fewer counts lose more). When the dose is unknown the count level could be any of those
 * measured, so each quantity is the worst over every measured level, quoted with the level it comes
 * from (the lowest level alone can hide a larger bias measured at a higher one).
 *
 * A run without a declared dose takes another path through the model (the network's unknown-dose
 * condition, no dose-gated consistency step), so the warning quotes the sets measured on the path
 * the run took (each set's `doseDeclared`); a card with none on that path falls back to the other
 * and says so. The warning carries the quoted numbers as data too (`lesionBias`), so that readers
 * (the viewer's caveat) need not parse the message.
 */
import { LESION_BIAS_PICKS, type LesionBiasPick } from '../choices.js';
import { fractionPercent as pct, signedPercentText as signed } from '../util/percent.js';
import { lesionRecoveryOf, type LesionRecovery, type LesionRecoverySet, type ModelCard, type Modality } from './card.js';

/** A SettingsWarning (./denoiser.ts, which imports this module: declared here, not imported). */
export interface LesionBiasWarning {
  readonly path: null;
  readonly code: 'E_LESION_BIAS';
  readonly message: string;
  /** What the message quotes, as data (docs/contract.md, "E_LESION_BIAS"). */
  readonly lesionBias: LesionBiasAtLevel;
}

/** The lesion size the PET targets and QA's SUV checks start at; smaller ones are reported apart. */
export const LESION_BIAS_MIN_DIAMETER_MM = 17;

/** One measured bias and where it was measured. */
export interface MeasuredBias {
  readonly percent: number;
  readonly source: string;
  readonly diameterMm: number;
  /**
   * The count level it was measured at. Always written; absent only in reports written before the
   * field, whose numbers were all measured at the warning's `level`.
   */
  readonly level?: number;
}

export interface LesionBiasAtLevel {
  /**
   * The measured count level quoted (fraction of full counts): with a declared dose the level of
   * every number here; with the dose unknown the lowest measured level, the numbers being the worst
   * over `levels`, each with its own `level`.
   */
  readonly level: number;
  /**
   * The measured levels the worst values were taken over, lowest first: `[level]` with a declared
   * dose, every level measured on the path when the dose is unknown. Always written; absent only in
   * reports written before the field (there: `[level]`).
   */
  readonly levels?: number[];
  /** How it was picked: at or below the declared dose, below every measured level, or the dose unknown. */
  readonly picked: LesionBiasPick;
  /** The smallest diameter `suvmean` and `suvmax` cover (LESION_BIAS_MIN_DIAMETER_MM). */
  readonly minDiameterMm: number;
  /** The largest |bias| of lesions >= minDiameterMm at `levels`, over every source. */
  readonly suvmean: MeasuredBias;
  readonly suvmax: MeasuredBias;
  /** The largest |SUVmean bias| of the smaller lesions at `levels`; null when none were measured. */
  readonly smallerSuvmean: MeasuredBias | null;
  /**
   * Whether the quoted measurements were made with the dose declared to the model. It differs from
   * the run's own path (declared unless `picked` is 'dose unknown') only when the card has no
   * measurements on that path.
   */
  readonly doseDeclared: boolean;
}

/** Whether `set` was measured with the dose declared (a set that does not say: the block's `doseDeclared`). */
export function setDoseDeclared(recovery: Pick<LesionRecovery, 'doseDeclared'>, set: Pick<LesionRecoverySet, 'doseDeclared'>): boolean {
  return set.doseDeclared ?? recovery.doseDeclared;
}

/**
 * The worst measured biases at the level that applies to an input of `doseLevel` (0 = unknown: the
 * worst over every measured level), or null when the card has no sizes of 17 mm and up there. Only
 * the sets measured on the run's path (dose declared or not) count, unless the card has none on it.
 */
export function lesionBiasAt(recovery: LesionRecovery, doseLevel: number): LesionBiasAtLevel | null {
  const runDeclared = doseLevel > 0;
  const onPath = recovery.sets.filter((s) => setDoseDeclared(recovery, s) === runDeclared);
  const sets = onPath.length > 0 ? onPath : recovery.sets;
  const doseDeclared = onPath.length > 0 ? runDeclared : !runDeclared;
  const levels = [...new Set(sets.map((s) => s.dose))].sort((a, b) => a - b);
  const lowest = levels[0];
  if (lowest === undefined) return null;
  const atOrBelow = doseLevel > 0 ? levels.filter((l) => l <= doseLevel + 1e-9).at(-1) : undefined;
  const level = atOrBelow ?? lowest;
  const picked = doseLevel <= 0 ? 'dose unknown' : atOrBelow === undefined ? 'below every measured level' : 'at or below';
  // The count level of an unknown dose could be any measured one: the worst over all of them.
  // Lowest level first, so that a tie names the lowest (the one quoted before per-level worsts).
  const quoted = picked === 'dose unknown' ? levels : [level];
  const rows = quoted.flatMap((l) =>
    sets.filter((s) => s.dose === l).flatMap((s) => s.bySize.map((size) => ({ ...size, source: s.source, level: l }))),
  );
  const worst = (sizes: typeof rows, key: 'suvmeanBiasPercent' | 'suvmaxBiasPercent'): MeasuredBias | null =>
    sizes.reduce<MeasuredBias | null>(
      (w, r) => (w === null || Math.abs(r[key]) > Math.abs(w.percent) ? { percent: r[key], source: r.source, diameterMm: r.diameterMm, level: r.level } : w),
      null,
    );
  const large = rows.filter((r) => r.diameterMm >= LESION_BIAS_MIN_DIAMETER_MM);
  const suvmean = worst(large, 'suvmeanBiasPercent');
  const suvmax = worst(large, 'suvmaxBiasPercent');
  if (!suvmean || !suvmax) return null;
  const smallerSuvmean = worst(rows.filter((r) => r.diameterMm < LESION_BIAS_MIN_DIAMETER_MM), 'suvmeanBiasPercent');
  return { level, levels: quoted, picked, minDiameterMm: LESION_BIAS_MIN_DIAMETER_MM, suvmean, suvmax, smallerSuvmean, doseDeclared };
}

/** The warning for a run of `card` on `modality` at `doseLevel` (0 = unknown); null for CT and for cards without the measurements. */
export function lesionBiasWarning(card: Pick<ModelCard, 'name' | 'quality'>, modality: Modality, doseLevel: number): LesionBiasWarning | null {
  if (modality !== 'PT') return null;
  const recovery = lesionRecoveryOf(card);
  if (!recovery) return null;
  const at = lesionBiasAt(recovery, doseLevel);
  if (!at) return null;
  const levels = at.levels ?? [at.level];
  const level =
    at.picked === 'dose unknown'
      ? levels.length > 1
        ? 'the worst over the measured levels, each with the level it was measured at: the count level is unknown (no --dose)'
        : 'the only measured level: the count level is unknown (no --dose)'
      : at.picked === 'below every measured level'
        ? `the lowest measured level; the declared ${pct(doseLevel)} is below every measured one`
        : `the nearest measured level at or below the declared ${pct(doseLevel)}`;
  const runDeclared = at.picked !== 'dose unknown';
  const measuredOn =
    at.doseDeclared === runDeclared
      ? runDeclared
        ? 'measured with the dose declared, as here'
        : 'measured without the dose declared, as here'
      : at.doseDeclared
        ? 'measured with the dose declared only, and an undeclared dose runs the network on its unknown-dose condition and without the low-count consistency step'
        : 'measured without the dose declared only, and a declared dose runs the network on that dose and, at low counts, the low-count consistency step';
  const why = `${level}; ${measuredOn}`;
  // Without a dose the quoted numbers may come from different levels: each names its own.
  const measured = (b: MeasuredBias) => `${signed(b.percent)} (${runDeclared ? '' : `${pct(b.level ?? at.level)}, `}${b.source}, ${b.diameterMm} mm)`;
  const smaller = at.smallerSuvmean ? `: SUVmean ${measured(at.smallerSuvmean)}` : '';
  // Without --dose the low-count consistency step cannot run, and at low counts that is what keeps
  // SUVmax near the full-count image's: say what declaring the count level was measured to give.
  const declared = !runDeclared && !at.doseDeclared ? lesionBiasAt(recovery, at.level) : null;
  const advice =
    declared && declared.doseDeclared && declared.level === at.level
      ? `. Declaring the count level (--dose) when it is known runs the low-count step: measured with --dose ${at.level}, worst SUVmean ${signed(declared.suvmean.percent)}, worst SUVmax ${signed(declared.suvmax.percent)}`
      : '';
  return {
    path: null,
    code: 'E_LESION_BIAS',
    lesionBias: at,
    message:
      `lesion SUVs read on this series carry model ${card.name}'s measured bias at ${levels.map(pct).join(' and ')} counts (${why}): ` +
      `lesions >= ${at.minDiameterMm} mm worst SUVmean ${measured(at.suvmean)}, worst SUVmax ${measured(at.suvmax)} against the full-count reconstruction; ` +
      `smaller lesions lose more${smaller}; models/README.md ("PET: lesions inserted into the held-out real volume") and the card's quality.lesionRecovery have every size and source${advice}`,
  };
}

/**
 * A warning's `lesionBias` as read back from a report (JSON written by this or another version),
 * or null when it is absent or not of this shape: reports written before the field have only the
 * message.
 */
export function readLesionBias(value: unknown): LesionBiasAtLevel | null {
  if (!isRecord(value)) return null;
  // `level` and `levels` are read when present (reports written before them have neither).
  const measured = (v: unknown): MeasuredBias | null => {
    if (!isRecord(v) || !finite(v.percent) || typeof v.source !== 'string' || !finite(v.diameterMm)) return null;
    if (v.level !== undefined && !finite(v.level)) return null;
    return { percent: v.percent, source: v.source, diameterMm: v.diameterMm, ...(v.level === undefined ? {} : { level: v.level }) };
  };
  const levels = value.levels;
  if (levels !== undefined && !(Array.isArray(levels) && levels.length > 0 && levels.every(finite))) return null;
  const picked = LESION_BIAS_PICKS.find((p) => p === value.picked);
  const suvmean = measured(value.suvmean);
  const suvmax = measured(value.suvmax);
  const smallerSuvmean = value.smallerSuvmean === null ? null : measured(value.smallerSuvmean);
  if (!finite(value.level) || !picked || !finite(value.minDiameterMm) || !suvmean || !suvmax || typeof value.doseDeclared !== 'boolean') return null;
  if (value.smallerSuvmean !== null && smallerSuvmean === null) return null;
  return {
    level: value.level,
    ...(levels === undefined ? {} : { levels }),
    picked,
    minDiameterMm: value.minDiameterMm,
    suvmean,
    suvmax,
    smallerSuvmean,
    doseDeclared: value.doseDeclared,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

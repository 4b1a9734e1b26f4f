/**
 * E_LESION_BIAS: what the model was measured to do to lesion SUVs, on every PET series it denoises.
 *
 * A radiologist reads SUVmean and SUVmax on the denoised series; the shipped PET model lowers the
 * mean of small and faint lesions and can lift SUVmax, by amounts that depend on the count level
 * (models/README.md, "PET: lesions inserted into the held-out real volume"). A card that carries
 * those measurements (`quality.lesionRecovery`) makes every report of a PET run with it quote the
 * worst of them at the input's count level: the nearest measured level at or below the declared
 * dose (fewer counts lose more), the lowest measured level when the dose is unknown.
 */
import { lesionRecoveryOf, type LesionRecovery, type ModelCard, type Modality } from './card.js';

/** A SettingsWarning (./denoiser.ts, which imports this module: declared here, not imported). */
export interface LesionBiasWarning {
  readonly path: null;
  readonly code: 'E_LESION_BIAS';
  readonly message: string;
}

/** The lesion size the PET targets and QA's SUV checks start at; smaller ones are reported apart. */
export const LESION_BIAS_MIN_DIAMETER_MM = 17;

/** One measured bias and where it was measured. */
export interface MeasuredBias {
  readonly percent: number;
  readonly source: string;
  readonly diameterMm: number;
}

export interface LesionBiasAtLevel {
  /** The measured count level quoted (fraction of full counts). */
  readonly level: number;
  /** How it was picked: at or below the declared dose, below every measured level, or the dose unknown. */
  readonly picked: 'at or below' | 'below every measured level' | 'dose unknown';
  /** The largest |bias| of lesions >= LESION_BIAS_MIN_DIAMETER_MM at that level, over every source. */
  readonly suvmean: MeasuredBias;
  readonly suvmax: MeasuredBias;
  /** The largest |SUVmean bias| of the smaller lesions at that level; null when none were measured. */
  readonly smallerSuvmean: MeasuredBias | null;
}

/**
 * The worst measured biases at the level that applies to an input of `doseLevel` (0 = unknown), or
 * null when the card has no sizes of 17 mm and up there.
 */
export function lesionBiasAt(recovery: LesionRecovery, doseLevel: number): LesionBiasAtLevel | null {
  const levels = [...new Set(recovery.sets.map((s) => s.dose))].sort((a, b) => a - b);
  const lowest = levels[0];
  if (lowest === undefined) return null;
  const atOrBelow = doseLevel > 0 ? levels.filter((l) => l <= doseLevel + 1e-9).at(-1) : undefined;
  const level = atOrBelow ?? lowest;
  const picked = doseLevel <= 0 ? 'dose unknown' : atOrBelow === undefined ? 'below every measured level' : 'at or below';
  const rows = recovery.sets
    .filter((s) => s.dose === level)
    .flatMap((s) => s.bySize.map((size) => ({ ...size, source: s.source })));
  const worst = (sizes: typeof rows, key: 'suvmeanBiasPercent' | 'suvmaxBiasPercent'): MeasuredBias | null =>
    sizes.reduce<MeasuredBias | null>(
      (w, r) => (w === null || Math.abs(r[key]) > Math.abs(w.percent) ? { percent: r[key], source: r.source, diameterMm: r.diameterMm } : w),
      null,
    );
  const large = rows.filter((r) => r.diameterMm >= LESION_BIAS_MIN_DIAMETER_MM);
  const suvmean = worst(large, 'suvmeanBiasPercent');
  const suvmax = worst(large, 'suvmaxBiasPercent');
  if (!suvmean || !suvmax) return null;
  return { level, picked, suvmean, suvmax, smallerSuvmean: worst(rows.filter((r) => r.diameterMm < LESION_BIAS_MIN_DIAMETER_MM), 'suvmeanBiasPercent') };
}

/** The warning for a run of `card` on `modality` at `doseLevel` (0 = unknown); null for CT and for cards without the measurements. */
export function lesionBiasWarning(card: Pick<ModelCard, 'name' | 'quality'>, modality: Modality, doseLevel: number): LesionBiasWarning | null {
  if (modality !== 'PT') return null;
  const recovery = lesionRecoveryOf(card);
  if (!recovery) return null;
  const at = lesionBiasAt(recovery, doseLevel);
  if (!at) return null;
  const why =
    at.picked === 'dose unknown'
      ? 'the lowest measured level: the count level is unknown (no --dose); it was measured with the dose declared only, and an undeclared dose runs another consistency step at low counts'
      : at.picked === 'below every measured level'
        ? `the lowest measured level; the declared ${pct(doseLevel)} is below every measured one`
        : `the nearest measured level at or below the declared ${pct(doseLevel)}`;
  const measured = (b: MeasuredBias) => `${signed(b.percent)} (${b.source}, ${b.diameterMm} mm)`;
  const smaller = at.smallerSuvmean ? `: SUVmean ${measured(at.smallerSuvmean)}` : '';
  return {
    path: null,
    code: 'E_LESION_BIAS',
    message:
      `lesion SUVs read on this series carry model ${card.name}'s measured bias at ${pct(at.level)} counts (${why}): ` +
      `lesions >= ${LESION_BIAS_MIN_DIAMETER_MM} mm worst SUVmean ${measured(at.suvmean)}, worst SUVmax ${measured(at.suvmax)} against the full-count reconstruction; ` +
      `smaller lesions lose more${smaller}; models/README.md ("PET: lesions inserted into the held-out real volume") and the card's quality.lesionRecovery have every size and source`,
  };
}

/** 0.25 -> "25 %", 0.125 -> "12.5 %". */
function pct(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10} %`;
}

/** -5.78 -> "-5.8 %", 12.5 -> "+12.5 %". */
function signed(percent: number): string {
  const text = percent.toFixed(1);
  return `${percent > 0 && text !== '0.0' ? '+' : ''}${text} %`;
}

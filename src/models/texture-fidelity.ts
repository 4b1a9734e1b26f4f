/**
 * E_TEXTURE_NOT_FULL_DOSE: where `--texture full-dose` was measured not to give a full-dose scan's
 * noise texture, a run that asks for it there says so.
 *
 * Full-dose texture puts back a share of the noise the model removed; it cannot take noise out. A
 * model that keeps more of the input's slow noise than a full-dose scan has (`lowdose-ct` below
 * about 0.16 cycles/pixel at low dose: docs/diffusion.md, "Texture") gives, at such a dose, output
 * whose NPS peak sits far below the full dose's: smoother grain with coarse mottle, not full-dose
 * texture. A card that carries the measurement by dose (`quality.fullDoseTexture`, written from
 * scripts/experiments/texture-transfer.ts --full-dose-texture yes) makes a full-dose-texture run
 * at a dose where it misses the limits below quote the measured numbers and the command.
 *
 * A measured dose holds when its noise SD is within 25 % and its NPS peak within 15 % of the full
 * dose's, pooled over the realisations and in every single one (FULL_DOSE_TEXTURE_LIMITS, rowHolds).
 * Which measured doses decide, for the run's dose d (the declared dose, else the card's
 * texture.defaultDose, as full-dose texture itself assumes): a measured dose equal to d decides
 * alone; between two measured doses, both, and d passes only when both hold (where between them
 * the texture stops holding is not measured, and it is not monotone in dose: `lowdose-ct` holds at
 * 25 to 35 % and misses below and above); above the highest measured dose, the highest; below the
 * lowest, d does not pass (not measured there).
 */
import { fractionPercent as pct, signedPercentText } from '../util/percent.js';
import { fullDoseTextureOf, type FullDoseTextureMeasured, type FullDoseTextureRow, type ModelCard } from './card.js';

/**
 * The limits full-dose texture is judged by: the output's noise SD and NPS peak frequency within
 * these fractions of the full dose's (both ways).
 */
export const FULL_DOSE_TEXTURE_LIMITS = { noise: 0.25, npsPeak: 0.15 } as const;

/** A SettingsWarning (./denoiser.ts, which imports this module: declared here, not imported). */
export interface TextureNotFullDoseWarning {
  readonly path: null;
  readonly code: 'E_TEXTURE_NOT_FULL_DOSE';
  readonly message: string;
}

/**
 * Whether a measured row is within both limits: pooled over its realisations and, where the row
 * has them, in every single realisation (near where it stops holding the NPS has two maxima of
 * about equal height, the model's slow noise and the restored full-dose peak, and one scan's peak
 * reads either; the pooled spectrum's peak can hide that).
 */
export function rowHolds(row: FullDoseTextureRow): boolean {
  return missedLimits(row).length === 0;
}

/** The limits a row misses: 'noise', 'NPS peak', both or none. */
function missedLimits(row: FullDoseTextureRow): string[] {
  const within = (limit: number, pooled: number, range: readonly [number, number] | undefined) =>
    Math.abs(pooled) <= limit && (range === undefined || range.every((x) => Math.abs(x) <= limit));
  return [
    ...(within(FULL_DOSE_TEXTURE_LIMITS.noise, row.noiseVsFull, row.realisations?.noiseVsFull) ? [] : ['noise']),
    ...(within(FULL_DOSE_TEXTURE_LIMITS.npsPeak, row.npsPeakVsFull, row.realisations?.npsPeakVsFull) ? [] : ['NPS peak']),
  ];
}

/** The measured rows that decide for dose `d` (the rule above), lowest dose first, and whether `d` lies below all of them. */
export function decidingRows(measured: FullDoseTextureMeasured, d: number): { rows: FullDoseTextureRow[]; belowMeasured: boolean } {
  const rows = [...measured.rows].sort((a, b) => a.dose - b.dose);
  const same = rows.find((r) => Math.abs(r.dose - d) <= 1e-9);
  if (same) return { rows: [same], belowMeasured: false };
  const below = rows.filter((r) => r.dose < d).at(-1);
  const above = rows.find((r) => r.dose > d);
  if (!below) return { rows: above ? [above] : [], belowMeasured: true };
  return { rows: above ? [below, above] : [below], belowMeasured: false };
}

/**
 * The warning for a full-dose-texture run of `card` at dose `d` (what the texture assumes), or null:
 * smooth output, a card without `quality.fullDoseTexture`, or a dose where every deciding row holds.
 */
export function textureNotFullDoseWarning(
  card: Pick<ModelCard, 'name' | 'quality'>,
  texture: { readonly mode: string; readonly dose?: number; readonly doseFrom?: 'input' | 'model card' },
  lowBand: boolean,
): TextureNotFullDoseWarning | null {
  if (texture.mode !== 'full-dose' || texture.dose === undefined) return null;
  const measured = fullDoseTextureOf(card);
  if (!measured) return null;
  const d = texture.dose;
  const { rows, belowMeasured } = decidingRows(measured, d);
  if (rows.length === 0 || (!belowMeasured && rows.every(rowHolds))) return null;
  const dose = `${pct(d)}${texture.doseFrom === 'model card' ? " (assumed: the model card's default, no --dose)" : ''}`;
  const where = belowMeasured
    ? ` It is below every measured dose (not measured there); the lowest:`
    : rows.length === 2
      ? ` It lies between two measured doses and passes only where both do:`
      : Math.abs(rows[0]!.dose - d) <= 1e-9
        ? ''
        : ` It is above every measured dose; the highest:`;
  const count = rows.find((r) => r.realisations)?.realisations?.count;
  const reason = why(rows);
  // "water phantom (lowdose phantom water, ...), 0.98 mm pixels, ..." -> "water phantom".
  const phantom = measured.measuredOn.split(/[,(;]/)[0]!.trim();
  return {
    path: null,
    code: 'E_TEXTURE_NOT_FULL_DOSE',
    message:
      `full-dose texture at ${dose} dose is not a full-dose scan's texture with model ${card.name}, as measured against the full dose on the ${phantom} ` +
      `(its card's quality.fullDoseTexture; pooled${count ? ` over ${count} realisations, in brackets the range over them` : ''}; ` +
      `limits: noise SD within ${pct(FULL_DOSE_TEXTURE_LIMITS.noise)} and NPS peak within ${pct(FULL_DOSE_TEXTURE_LIMITS.npsPeak)}${count ? ', in every realisation too' : ''}).` +
      `${where} ${rows.map(quote).join('; ')}.` +
      `${reason ? ` ${reason}.` : ''}${lowBand ? ' Measured without low-band denoising, which this run adds.' : ''}` +
      ` Measured by ${measured.command}; docs/diffusion.md ("Texture") has the table by dose`,
  };
}

/** -0.811 -> "-81.1 %", 0.055 -> "+5.5 %". */
function signed(fraction: number): string {
  return signedPercentText(fraction * 100);
}

/** What the missed limits mean for the image. */
function why(rows: readonly FullDoseTextureRow[]): string {
  const lowest = (r: FullDoseTextureRow, key: 'noiseVsFull' | 'npsPeakVsFull') => Math.min(r[key], ...(r.realisations?.[key] ?? []));
  const highest = (r: FullDoseTextureRow, key: 'noiseVsFull' | 'npsPeakVsFull') => Math.max(r[key], ...(r.realisations?.[key] ?? []));
  const { noise, npsPeak } = FULL_DOSE_TEXTURE_LIMITS;
  const text = [
    ...(rows.some((r) => lowest(r, 'npsPeakVsFull') < -npsPeak)
      ? ['an NPS peak below the full dose\'s means slow noise the model kept, which putting noise back cannot remove: coarser mottle and less fine grain than a full-dose scan']
      : []),
    ...(rows.some((r) => highest(r, 'npsPeakVsFull') > npsPeak) ? ['an NPS peak above the full dose\'s means finer grain than a full-dose scan'] : []),
    ...(rows.some((r) => highest(r, 'noiseVsFull') > noise) ? ['noise above the limit means a noisier image than the full dose'] : []),
    ...(rows.some((r) => lowest(r, 'noiseVsFull') < -noise) ? ['noise below the limit means a smoother image than the full dose'] : []),
  ].join('; ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** "10 %: noise SD +11.4 % (+9.0 to +13.6 %), NPS peak -79.2 % (-83.2 to -76.1 %) (NPS peak outside)". */
function quote(r: FullDoseTextureRow): string {
  const range = (v: readonly [number, number] | undefined) => (v ? ` (${signed(v[0])} to ${signed(v[1])})` : '');
  const missed = missedLimits(r);
  return (
    `${pct(r.dose)}: noise SD ${signed(r.noiseVsFull)}${range(r.realisations?.noiseVsFull)}, NPS peak ${signed(r.npsPeakVsFull)}${range(r.realisations?.npsPeakVsFull)}, ` +
    (missed.length === 0 ? 'within the limits' : `${missed.join(' and ')} outside`)
  );
}

/**
 * The model card: `models/<name>.json` beside `models/<name>.onnx`, the one place that says how to
 * drive a network (inputs, what it predicts, its training schedule, value mapping, tiling, sampler
 * defaults) and what it was trained on and how well it does. Format `lowdose-model-card/1`,
 * documented field by field in docs/diffusion.md. `parseModelCard` checks a card on its own;
 * `checkCardAgainstGraph` checks it against the ONNX graph's declared inputs and outputs.
 */
import { LowdoseError } from '../errors.js';
import { LOW_BAND_FILTERS, LOW_BAND_MAX_STRENGTH, type LowBandFilter } from '../filters/low-band.js';
import type { Normalization } from '../diffusion/normalization.js';
import { PREDICTION_TYPES, type PredictionType } from '../diffusion/prediction.js';
import { SAMPLER_NAMES, type SamplerName } from '../choices.js';
import { BETA_SCHEDULE_KINDS, type ScheduleConfig } from '../diffusion/schedules.js';
import type { TileSpec } from '../diffusion/tiling.js';
import { TIMESTEP_SPACINGS } from '../diffusion/timesteps.js';
import { ORIENTATION_COUNTS } from '../diffusion/orientations.js';
import type { SamplerSettings } from '../diffusion/create-sampler.js';
import type { GraphSignature, GraphValueInfo } from '../runtime/session.js';

export const MODEL_CARD_FORMAT = 'lowdose-model-card/1';

export type Modality = 'CT' | 'PT';
export type Dim = number | string;

export interface TensorSpec {
  /** Name of the graph input or output. */
  readonly name: string;
  /** Dimensions: numbers are fixed, strings are symbolic (B, H, W). */
  readonly shape: readonly Dim[];
  /** Element type; 'float32' (default) everywhere, 'int64' is also accepted for the timestep. */
  readonly dtype?: 'float32' | 'int64';
}

export interface ModelInputs {
  /** x_t, [B, 1, H, W]. */
  readonly sample: TensorSpec;
  /** Training timestep index 0..T-1, [B]. */
  readonly timestep: TensorSpec;
  /** Low-dose slice, [B, C, H, W], C = 1 + 2·neighbours (below, slice, above). */
  readonly condition: TensorSpec;
  /** Dose fraction in (0, 1], 0 = unknown, [B]. */
  readonly doseLevel?: TensorSpec;
  /** 1 = condition given, 0 = dropped, [B]; needed for classifier-free guidance. */
  readonly conditionMask?: TensorSpec;
  /** 0 = CT, 1 = PT, [B]; required when the model serves both modalities. */
  readonly modality?: TensorSpec;
}

export type InputRole = keyof ModelInputs;
export const INPUT_ROLES: readonly InputRole[] = ['sample', 'timestep', 'condition', 'doseLevel', 'conditionMask', 'modality'];

/** eta (default 0), strength / startT (warm start), spacing (default trailing), clipSample (default none). */
export interface SamplerDefaults extends SamplerSettings {
  /** The sampler to use unless the user picks another. */
  readonly default: SamplerName;
  /** Steps for it. */
  readonly steps: number;
  /** Geometric self-ensemble size by default (1, 2, 4 or 8; absent: 1), ../diffusion/orientations.ts. */
  readonly orientations?: number;
}

export interface GuidanceSettings {
  /** Probability with which the condition was dropped in training (0 = never: guidance unusable). */
  readonly conditionDropout: number;
  /** Guidance scale to use by default (1 = conditional only). */
  readonly default: number;
}

/**
 * One ensemble size's calibration: sigma² = spreadScale² std² + noiseScale² boxmean((input −
 * output)², noiseWindowMm) + noiseLevelScale² · inputNoise² (the input series' noise SD,
 * estimateSeriesNoise).
 */
export interface UncertaintyCalibrationEntry {
  readonly samples: number;
  readonly spreadScale: number;
  readonly noiseScale: number;
  readonly noiseWindowMm: number;
  /** Absent: 0 (cards calibrated before the series noise term existed). */
  readonly noiseLevelScale?: number;
}

/** The card's `uncertainty` block, written by scripts/uncertainty/calibrate.ts --write-card. */
export interface UncertaintySettings {
  /** The ensemble size `--uncertainty` uses by default: the fewest samples that keep the rank correlation. */
  readonly samples: number;
  readonly calibration: readonly UncertaintyCalibrationEntry[];
  /** sigma above which a pixel counts as uncertain in report summaries, in `units`. */
  readonly threshold: number;
  readonly units: string;
  /** Free-form: method, calibration set, held-out numbers, command. */
  readonly [key: string]: unknown;
}

/**
 * `quality.lesionRecovery`: what the model was measured to do to lesion SUVs, per count level,
 * evaluation source and lesion diameter, against the full-count reconstruction. Written from the
 * committed evaluation files by scripts/evaluate/lesion-recovery-card.ts; a PET run with such a
 * card says so in every series' report (E_LESION_BIAS, ./lesion-bias.ts).
 */
export interface LesionRecovery {
  /** What the bias is measured against: "denoised / full-count - 1, in %". */
  readonly reference: string;
  /**
   * Whether the model was told the input's dose in the measurements of the sets that do not say
   * (each set's own `doseDeclared`; cards written before it have one path only).
   */
  readonly doseDeclared: boolean;
  /** The command that wrote this block. */
  readonly command: string;
  readonly sets: readonly LesionRecoverySet[];
}

/** One source (phantom, inserted lesions) at one count level. */
export interface LesionRecoverySet {
  /** "IEC phantom", "sts-001 inserted lesions". */
  readonly source: string;
  /** The count level as a fraction of full counts (0.25 = 25 %). */
  readonly dose: number;
  /**
   * Whether the model was told the dose in this set's measurements (false: the path of a run
   * without --dose); absent = the block's `doseDeclared`.
   */
  readonly doseDeclared?: boolean;
  /** What each size's bias is a mean over ("8 noise realisations of one sphere"). */
  readonly averagedOver: string;
  /** The committed evaluation file the numbers come from, and the command that wrote it. */
  readonly file: string;
  readonly command: string;
  readonly bySize: readonly LesionRecoveryBySize[];
}

export interface LesionRecoveryBySize {
  readonly diameterMm: number;
  /** Lesions of this size in the mean. */
  readonly lesions: number;
  readonly suvmeanBiasPercent: number;
  readonly suvmaxBiasPercent: number;
  /** Standard errors, where the source gives them. */
  readonly suvmeanSePercent?: number;
  readonly suvmaxSePercent?: number;
}

/** The card's `quality.lesionRecovery` (validated by parseModelCard), or null when it has none. */
export function lesionRecoveryOf(card: Pick<ModelCard, 'quality'>): LesionRecovery | null {
  const v = card.quality['lesionRecovery'];
  return v === undefined ? null : (v as LesionRecovery);
}

/**
 * `quality.fullDoseTexture`: what `--texture full-dose` was measured to give, by input dose, against
 * the full dose's noise (scripts/experiments/texture-transfer.ts --full-dose-texture yes, its pooled
 * rows). A full-dose-texture run at a dose where it misses the limits says so in every series'
 * report (E_TEXTURE_NOT_FULL_DOSE, ./texture-fidelity.ts).
 */
export interface FullDoseTextureMeasured {
  /** What it was measured on (phantom, pixel size, kernel, seeds, model hash). */
  readonly measuredOn: string;
  /** The command that measured it. */
  readonly command: string;
  /** One row per measured dose, ascending. */
  readonly rows: readonly FullDoseTextureRow[];
}

/** Full-dose-texture output at one input dose against the full dose: (output / full) - 1 of each. */
export interface FullDoseTextureRow {
  /** Input dose fraction in (0, 1]. */
  readonly dose: number;
  /** Noise SD in flat ROIs, pooled over the realisations. */
  readonly noiseVsFull: number;
  /** Peak frequency of the radial NPS pooled over the realisations. */
  readonly npsPeakVsFull: number;
  /** The range [min, max] of the same over single realisations, each against its own full dose. */
  readonly realisations?: FullDoseTextureRealisations;
}

export interface FullDoseTextureRealisations {
  readonly count: number;
  readonly noiseVsFull: readonly [number, number];
  readonly npsPeakVsFull: readonly [number, number];
}

/** The card's `quality.fullDoseTexture` (validated by parseModelCard), or null when it has none. */
export function fullDoseTextureOf(card: Pick<ModelCard, 'quality'>): FullDoseTextureMeasured | null {
  const v = card.quality['fullDoseTexture'];
  return v === undefined ? null : (v as FullDoseTextureMeasured);
}

/**
 * `quality.passCost`: what one pixel given to each of the model's networks costs, in pixels of
 * lowdose-ct at 512 x 512 (one unit of `serve --max-job-passes` is 512² of those;
 * src/pipeline/compute-budget.ts). Measured by `npx tsx scripts/bench/pass-cost.ts`, which prints
 * the block: each network's CPU time per pixel at the pass of a 512 x 512 slice over lowdose-ct's.
 * A record of the model, not a setting: it changes no output and is not part of the fingerprint.
 */
export interface PassCost {
  /** Per pixel the diffusion network is given (a latent model's: per latent pixel, h x w). */
  readonly network: number;
  /** A latent model's encoder, per pixel of the padded image it is given. */
  readonly encoder?: number;
  /** A latent model's decoder, per pixel of the padded image it gives back. */
  readonly decoder?: number;
  readonly measuredOn: string;
  readonly command: string;
}

/** The card's measured pass cost (`quality.passCost`), or null when it has none. */
export function passCostOf(card: Pick<ModelCard, 'quality'>): PassCost | null {
  const v = card.quality['passCost'];
  return v === undefined ? null : (v as PassCost);
}

/** 'pixel' (default): the network works on the image; 'latent': on an autoencoder's latent (`latent`). */
export type ModelSpace = 'pixel' | 'latent';
export const MODEL_SPACES: readonly ModelSpace[] = ['pixel', 'latent'];

/** One half of a latent model's autoencoder: its ONNX file (relative to the card) and tensors. */
export interface LatentCodecSpec {
  readonly onnx: string;
  /** Encoder: the image [B, 1, H, W] in model space; decoder: the latent [B, channels, h, w]. */
  readonly input: TensorSpec;
  /** Encoder: the latent; decoder: the image. */
  readonly output: TensorSpec;
}

/**
 * The card's `latent` block (space "latent", docs/latent.md): the image is encoded to a latent of
 * `channels` x (H / factor) x (W / factor), the reverse process runs there (the network's sample,
 * condition and output are latents; the condition is the encoded low-dose slice) and the decoder
 * writes the image.
 */
export interface LatentSettings {
  /** Downsampling factor of the encoder (a power of two). */
  readonly factor: number;
  readonly channels: number;
  readonly encoder: LatentCodecSpec;
  readonly decoder: LatentCodecSpec;
  /** Free-form extras (scale, note). */
  readonly [key: string]: unknown;
}

export interface TextureSettings {
  /** Dose fraction in (0, 1]: what the model was mostly trained and evaluated at. */
  readonly defaultDose: number;
  /**
   * The model's noise transfer T(f) measured on flat water: with it `--texture full-dose` puts back
   * a share of the removed noise shaped per frequency (src/diffusion/texture-transfer.ts); without
   * it, the single weight w(d).
   */
  readonly transfer?: TextureTransferSettings;
}

/** `texture.transfer`: T[dose][frequency], the share of the input's noise amplitude the model keeps. */
export interface TextureTransferSettings {
  /** What it was measured on (phantom, pixel size, kernel, seeds, model hash). */
  readonly measuredOn: string;
  /** The command that measured it. */
  readonly command: string;
  /** Radial frequencies, cycles per pixel, ascending, in [0, 0.5]. */
  readonly cyclesPerPixel: readonly number[];
  /** Input dose fractions, ascending, in (0, 1]. */
  readonly doses: readonly number[];
  /** kept[dose][frequency], each >= 0. */
  readonly kept: readonly (readonly number[])[];
}

/**
 * Low-band denoising after the reverse process (src/filters/low-band.ts; `--low-band`): `strength`
 * in units of the band's noise SD (0 = off), the coarse grid `factor` and the filter. CT only.
 */
export interface LowBandCardSettings {
  readonly strength: number;
  readonly factor?: number;
  readonly filter?: LowBandFilter;
}

/**
 * The in-plane pixel spacings the model was trained, validated and tested on. A series far outside
 * them gets an E_PIXEL_SPACING warning (./pixel-spacing.ts): a convolutional network sees noise
 * grain and anatomy in pixels, so a series at another pixel size is an input it has not seen.
 */
export interface PixelSpacingRange {
  readonly minMm: number;
  readonly maxMm: number;
}

export interface ModelCard {
  readonly format: typeof MODEL_CARD_FORMAT;
  readonly name: string;
  readonly description?: string;
  readonly version?: string;
  readonly modalities: readonly Modality[];
  /** The ONNX file, relative to the card's folder. */
  readonly onnx: string;
  /** Where the network works; absent = 'pixel'. */
  readonly space?: ModelSpace;
  /** The autoencoder of a latent model (required with space 'latent', refused without it). */
  readonly latent?: LatentSettings;
  readonly inputs: ModelInputs;
  /** [B, 1, H, W]. */
  readonly output: TensorSpec;
  /** 0: condition is the slice alone; 1: the slices below and above are stacked around it. */
  readonly neighbours: 0 | 1;
  readonly prediction: PredictionType;
  readonly schedule: ScheduleConfig;
  /** One mapping, or one per modality (required when the model serves both). */
  readonly normalization: Normalization | { readonly CT?: Normalization; readonly PT?: Normalization };
  readonly tile: TileSpec;
  readonly sampler: SamplerDefaults;
  readonly guidance: GuidanceSettings;
  /**
   * Full-dose texture (`--texture full-dose`): `defaultDose` is the input dose fraction assumed when
   * the input's own dose is not given (a warning then says so in report.json).
   */
  readonly texture?: TextureSettings;
  /** Low-band denoising after the reverse process; absent = off. */
  readonly lowBand?: LowBandCardSettings;
  /** Pixel spacings of the training data; absent = not known (no warning). */
  readonly pixelSpacing?: PixelSpacingRange;
  /** Free form: data, epochs, loss, hardware, code version… */
  readonly training: Readonly<Record<string, unknown>>;
  /** How to turn an ensemble's spread into a calibrated error SD (docs/uncertainty.md); absent = uncalibrated. */
  readonly uncertainty?: UncertaintySettings;
  /** Free form: measured PSNR / SSIM / noise with the command that measured them. */
  readonly quality: Readonly<Record<string, unknown>>;
}

const MODALITIES: readonly Modality[] = ['CT', 'PT'];
const UNITS: Record<Modality, Normalization['units']> = { CT: 'HU', PT: 'SUVbw' };
const SCHEDULE_KINDS = [...BETA_SCHEDULE_KINDS, 'resshift'] as const;

/** The normalization for one modality, or an E_MODEL error when the card has none for it. */
export function normalizationFor(card: ModelCard, modality: Modality): Normalization {
  const n = card.normalization as Record<string, unknown>;
  const entry = ('units' in n ? n : n[modality]) as Normalization | undefined;
  if (!entry || !card.modalities.includes(modality)) {
    throw new LowdoseError('E_MODEL', `model ${card.name} is for ${card.modalities.join(' and ')}, not ${modality}`);
  }
  return entry;
}

export function conditionChannels(card: ModelCard): number {
  return 1 + 2 * card.neighbours;
}

/** The latent block of a latent model; null for a pixel-space one. */
export function latentOf(card: ModelCard): LatentSettings | null {
  return card.space === 'latent' && card.latent ? card.latent : null;
}

// ---- validation ---------------------------------------------------------------------------------

type Json = unknown;

/** Collects every problem of a card so that one run shows them all. */
class Problems {
  readonly list: string[] = [];
  add(field: string, message: string): void {
    this.list.push(`${field}: ${message}`);
  }
}

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: Json): string {
  return v === undefined ? 'nothing' : JSON.stringify(v);
}

function num(p: Problems, obj: Record<string, Json>, key: string, field: string, check: (x: number) => boolean, expect: string, optional = false): void {
  const v = obj[key];
  if (v === undefined && optional) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) p.add(field, `expected ${expect}, got ${describe(v)}`);
}

function oneOf(p: Problems, obj: Record<string, Json>, key: string, field: string, options: readonly (string | number)[], optional = false): void {
  const v = obj[key];
  if (v === undefined && optional) return;
  if (!options.includes(v as string)) p.add(field, `expected one of ${options.map((o) => JSON.stringify(o)).join(', ')}, got ${describe(v)}`);
}

/** Each key of `obj` not in `known` is a problem: a misspelt field would otherwise be ignored silently. */
function knownKeys(p: Problems, obj: Record<string, Json>, field: string, known: readonly string[]): void {
  for (const key of Object.keys(obj)) if (!known.includes(key)) p.add(`${field}.${key}`, `unknown field (known: ${known.join(', ')})`);
}

function bool(p: Problems, obj: Record<string, Json>, key: string, field: string): void {
  if (obj[key] !== undefined && typeof obj[key] !== 'boolean') p.add(field, `expected true or false, got ${describe(obj[key])}`);
}

/**
 * A non-empty list of objects at `field`, each passed to `each` with its own field name
 * (`field[i]`); a list that is missing or empty, or an entry that is no object, is a problem worded
 * with `shape` (the object's keys, as the card's docs write them). Returns whether `list` was a
 * non-empty list, for checks that need its entries afterwards.
 */
function objectList(p: Problems, list: Json, field: string, shape: string, each: (obj: Record<string, Json>, field: string) => void): list is Json[] {
  if (!Array.isArray(list) || list.length === 0) {
    p.add(field, `expected a non-empty list of ${shape}, got ${describe(list)}`);
    return false;
  }
  list.forEach((entry: Json, i) => {
    const f = `${field}[${i}]`;
    if (!isObject(entry)) {
      p.add(f, `expected ${shape}, got ${describe(entry)}`);
      return;
    }
    each(entry, f);
  });
  return true;
}

function range(p: Problems, obj: Record<string, Json>, key: string, field: string): void {
  const v = obj[key];
  if (v === undefined) return;
  if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && Number.isFinite(x)) || !(v[0] < v[1])) {
    p.add(field, `expected [lo, hi] with lo < hi, got ${describe(v)}`);
  }
}

/** `sampler.consistency`: a strength in [0, 1], or { strength, scaleMm?, threshold?, iterations?, lowCount?, largeRegions?, bilateral?, pilot?, largeScale?, nonNegative? }. */
function consistency(p: Problems, v: Json): void {
  if (v === undefined) return;
  const field = 'sampler.consistency';
  const strength = (x: number) => x >= 0 && x <= 1;
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || !strength(v)) p.add(field, `expected a strength in [0, 1] or { "strength", "scaleMm"?, "threshold"? }, got ${describe(v)}`);
    return;
  }
  if (!isObject(v)) {
    p.add(field, `expected a strength in [0, 1] or { "strength", "scaleMm"?, "threshold"? }, got ${describe(v)}`);
    return;
  }
  knownKeys(p, v, field, ['strength', 'scaleMm', 'threshold', 'iterations', 'lowCount', 'largeRegions', 'bilateral', 'pilot', 'largeScale', 'nonNegative']);
  num(p, v, 'strength', `${field}.strength`, strength, 'a number in [0, 1]');
  num(p, v, 'scaleMm', `${field}.scaleMm`, (x) => x > 0 && x <= 100, 'a number of mm in (0, 100]', true);
  num(p, v, 'threshold', `${field}.threshold`, (x) => x >= 0 && x <= 100, 'a number in [0, 100]', true);
  num(p, v, 'iterations', `${field}.iterations`, (x) => Number.isInteger(x) && x >= 1 && x <= 100, 'an integer in 1..100', true);
  const bi = v.bilateral;
  if (bi !== undefined) {
    if (!isObject(bi)) p.add(`${field}.bilateral`, `expected { "spatialMm", "rangeFactor" }, got ${describe(bi)}`);
    else {
      knownKeys(p, bi, `${field}.bilateral`, ['spatialMm', 'rangeFactor']);
      num(p, bi, 'spatialMm', `${field}.bilateral.spatialMm`, (x) => x > 0 && x <= 100, 'a number of mm in (0, 100]');
      num(p, bi, 'rangeFactor', `${field}.bilateral.rangeFactor`, (x) => x > 0 && x <= 100, 'a number in (0, 100]');
    }
  }
  const pilot = v.pilot;
  if (pilot !== undefined) {
    if (!isObject(pilot)) p.add(`${field}.pilot`, `expected { "patchMm", "searchMm", "h", "mix" }, got ${describe(pilot)}`);
    else {
      knownKeys(p, pilot, `${field}.pilot`, ['patchMm', 'searchMm', 'h', 'mix', 'selfWeight', 'fromDose', 'kernel', 'outsideDetected', 'guide']);
      if (pilot.selfWeight !== undefined && pilot.selfWeight !== 'one' && pilot.selfWeight !== 'max') {
        p.add(`${field}.pilot.selfWeight`, `expected "one" or "max", got ${describe(pilot.selfWeight)}`);
      }
      if (pilot.kernel !== undefined && pilot.kernel !== 'exp' && pilot.kernel !== 'bisquare') p.add(`${field}.pilot.kernel`, `expected "exp" or "bisquare", got ${describe(pilot.kernel)}`);
      if (pilot.guide !== undefined && pilot.guide !== 'estimate' && pilot.guide !== 'estimate+band') p.add(`${field}.pilot.guide`, `expected "estimate" or "estimate+band", got ${describe(pilot.guide)}`);
      bool(p, pilot, 'outsideDetected', `${field}.pilot.outsideDetected`);
      num(p, pilot, 'patchMm', `${field}.pilot.patchMm`, (x) => x >= 0 && x <= 100, 'a number of mm in [0, 100]');
      num(p, pilot, 'searchMm', `${field}.pilot.searchMm`, (x) => x > 0 && x <= 300, 'a number of mm in (0, 300]');
      num(p, pilot, 'h', `${field}.pilot.h`, (x) => x > 0 && x <= 100, 'a number in (0, 100]');
      num(p, pilot, 'mix', `${field}.pilot.mix`, (x) => x > 0 && x <= 1, 'a number in (0, 1]');
      num(p, pilot, 'fromDose', `${field}.pilot.fromDose`, (x) => x > 0 && x <= 1, 'a dose fraction in (0, 1]', true);
    }
  }
  const wide = v.largeScale;
  if (wide !== undefined) {
    if (!isObject(wide)) p.add(`${field}.largeScale`, `expected { "scaleMm", "passes" }, got ${describe(wide)}`);
    else {
      knownKeys(p, wide, `${field}.largeScale`, ['scaleMm', 'passes']);
      num(p, wide, 'scaleMm', `${field}.largeScale.scaleMm`, (x) => x > 0 && x <= 300, 'a number of mm in (0, 300]');
      num(p, wide, 'passes', `${field}.largeScale.passes`, (x) => Number.isInteger(x) && x >= 1 && x <= 10, 'an integer in 1..10');
    }
  }
  const nonNegative = v.nonNegative;
  if (nonNegative !== undefined) {
    if (!isObject(nonNegative)) p.add(`${field}.nonNegative`, `expected { "spreadMm" }, got ${describe(nonNegative)}`);
    else {
      knownKeys(p, nonNegative, `${field}.nonNegative`, ['spreadMm']);
      num(p, nonNegative, 'spreadMm', `${field}.nonNegative.spreadMm`, (x) => x > 0 && x <= 100, 'a number of mm in (0, 100]');
    }
  }
  const large = v.largeRegions;
  if (large !== undefined) {
    if (!isObject(large)) p.add(`${field}.largeRegions`, `expected { "radiusMm", "level", "averageMm", "interiorMm", "passes" }, got ${describe(large)}`);
    else {
      knownKeys(p, large, `${field}.largeRegions`, ['radiusMm', 'level', 'averageMm', 'interiorMm', 'passes', 'onlyUnknownDose']);
      num(p, large, 'radiusMm', `${field}.largeRegions.radiusMm`, (x) => x > 0 && x <= 100, 'a number of mm in (0, 100]');
      num(p, large, 'level', `${field}.largeRegions.level`, (x) => x >= 0 && x < 1, 'a number in [0, 1)');
      num(p, large, 'averageMm', `${field}.largeRegions.averageMm`, (x) => x > 0 && x <= 100, 'a number of mm in (0, 100]');
      num(p, large, 'interiorMm', `${field}.largeRegions.interiorMm`, (x) => x >= 0 && x <= 100, 'a number of mm in [0, 100]');
      num(p, large, 'passes', `${field}.largeRegions.passes`, (x) => Number.isInteger(x) && x >= 1 && x <= 100, 'an integer in 1..100');
      bool(p, large, 'onlyUnknownDose', `${field}.largeRegions.onlyUnknownDose`);
    }
  }
  const low = v.lowCount;
  if (low === undefined) return;
  if (!isObject(low)) {
    p.add(`${field}.lowCount`, `expected { "belowDose", "averageMm", "interiorMm", "passes" }, got ${describe(low)}`);
    return;
  }
  knownKeys(p, low, `${field}.lowCount`, ['belowDose', 'averageMm', 'interiorMm', 'passes', 'threshold']);
  num(p, low, 'belowDose', `${field}.lowCount.belowDose`, (x) => x > 0 && x <= 1, 'a dose fraction in (0, 1]');
  num(p, low, 'averageMm', `${field}.lowCount.averageMm`, (x) => x > 0 && x <= 100, 'a number of mm in (0, 100]');
  num(p, low, 'interiorMm', `${field}.lowCount.interiorMm`, (x) => x >= 0 && x <= 100, 'a number of mm in [0, 100]');
  num(p, low, 'passes', `${field}.lowCount.passes`, (x) => Number.isInteger(x) && x >= 1 && x <= 100, 'an integer in 1..100');
  num(p, low, 'threshold', `${field}.lowCount.threshold`, (x) => x >= 0 && x <= 100, 'a number in [0, 100]', true);
}

/** `texture.transfer`: { measuredOn, command, cyclesPerPixel: [...], doses: [...], kept: [[...], ...] }. */
function textureTransfer(p: Problems, v: Json): void {
  if (v === undefined) return;
  const field = 'texture.transfer';
  if (!isObject(v)) {
    p.add(field, `expected { "measuredOn", "command", "cyclesPerPixel", "doses", "kept" }, got ${describe(v)}`);
    return;
  }
  knownKeys(p, v, field, ['measuredOn', 'command', 'cyclesPerPixel', 'doses', 'kept']);
  for (const key of ['measuredOn', 'command'] as const) {
    if (typeof v[key] !== 'string' || v[key] === '') p.add(`${field}.${key}`, `expected a non-empty string, got ${describe(v[key])}`);
  }
  const finite = (x: Json): x is number => typeof x === 'number' && Number.isFinite(x);
  const ascending = (list: Json, field: string, inRange: (x: number) => boolean, expect: string): number => {
    if (!Array.isArray(list) || list.length === 0 || !list.every((x) => finite(x) && inRange(x)) || !list.every((x, i) => i === 0 || x > list[i - 1])) {
      p.add(field, `expected a non-empty ascending list of ${expect}, got ${describe(list)}`);
      return -1;
    }
    return list.length;
  };
  const frequencies = ascending(v.cyclesPerPixel, `${field}.cyclesPerPixel`, (x) => x >= 0 && x <= 0.5, 'frequencies in cycles/pixel in [0, 0.5]');
  const doses = ascending(v.doses, `${field}.doses`, (x) => x > 0 && x <= 1, 'dose fractions in (0, 1]');
  const kept = v.kept;
  if (!Array.isArray(kept) || (doses >= 0 && kept.length !== doses)) {
    p.add(`${field}.kept`, `expected one list per dose (${doses >= 0 ? doses : '?'}), got ${describe(kept)}`);
    return;
  }
  kept.forEach((row: Json, i) => {
    if (!Array.isArray(row) || (frequencies >= 0 && row.length !== frequencies) || !row.every((x) => finite(x) && x >= 0)) {
      p.add(`${field}.kept[${i}]`, `expected ${frequencies >= 0 ? frequencies : 'one per frequency'} numbers >= 0, got ${describe(row)}`);
    }
  });
}

/** `quality.lesionRecovery` (LesionRecovery): optional; every number the warning quotes must be there. */
/**
 * `training.qaGate`, written by scripts/train/promote.py from the QA gate (scripts/train/qa-gate.ts,
 * docs/training.md "Promotion rule"): the checks the shipped model lost against the model it
 * replaced, and why it was shipped anyway. A loss without a reason is refused: the rule lets a
 * lost check through only with one.
 */
function qaGate(p: Problems, v: Json): void {
  if (v === undefined) return;
  const field = 'training.qaGate';
  if (!isObject(v)) {
    p.add(field, `expected { "baseline", "command", "lost": [...], "lostNotFirm": [...], "gained": [...], "reason"? }, got ${describe(v)}`);
    return;
  }
  for (const key of ['lost', 'lostNotFirm', 'gained']) {
    const list = v[key];
    if (!Array.isArray(list) || list.some((name) => typeof name !== 'string' || name === '')) p.add(`${field}.${key}`, `expected a list of check names, got ${describe(list)}`);
  }
  for (const key of ['baseline', 'command']) {
    if (typeof v[key] !== 'string' || v[key] === '') p.add(`${field}.${key}`, `expected a non-empty string, got ${describe(v[key])}`);
  }
  if (v.reason !== undefined && (typeof v.reason !== 'string' || v.reason.trim() === '')) p.add(`${field}.reason`, `expected a non-empty string, got ${describe(v.reason)}`);
  if (Array.isArray(v.lost) && v.lost.length > 0 && v.reason === undefined) p.add(`${field}.reason`, `${v.lost.length} lost check(s) need the reason they were accepted (promote.py --accept-qa-loss)`);
  knownKeys(p, v, field, ['baseline', 'command', 'lost', 'lostNotFirm', 'gained', 'reason']);
}

function lesionRecovery(p: Problems, v: Json): void {
  if (v === undefined) return;
  const field = 'quality.lesionRecovery';
  if (!isObject(v)) {
    p.add(field, `expected { "reference", "doseDeclared", "command", "sets": [...] }, got ${describe(v)}`);
    return;
  }
  const text = (obj: Record<string, Json>, key: string, f: string) => {
    if (typeof obj[key] !== 'string' || obj[key] === '') p.add(f, `expected a non-empty string, got ${describe(obj[key])}`);
  };
  text(v, 'reference', `${field}.reference`);
  text(v, 'command', `${field}.command`);
  if (typeof v.doseDeclared !== 'boolean') p.add(`${field}.doseDeclared`, `expected true or false, got ${describe(v.doseDeclared)}`);
  objectList(p, v.sets, `${field}.sets`, '{ "source", "dose", "averagedOver", "file", "command", "bySize" }', (set, f) => {
    for (const key of ['source', 'averagedOver', 'file', 'command']) text(set, key, `${f}.${key}`);
    num(p, set, 'dose', `${f}.dose`, (x) => x > 0 && x <= 1, 'a count fraction in (0, 1]');
    bool(p, set, 'doseDeclared', `${f}.doseDeclared`);
    objectList(p, set.bySize, `${f}.bySize`, '{ "diameterMm", "lesions", "suvmeanBiasPercent", "suvmaxBiasPercent" }', (size, g) => {
      num(p, size, 'diameterMm', `${g}.diameterMm`, (x) => x > 0, 'a diameter in mm > 0');
      num(p, size, 'lesions', `${g}.lesions`, (x) => Number.isInteger(x) && x >= 1, 'an integer >= 1');
      num(p, size, 'suvmeanBiasPercent', `${g}.suvmeanBiasPercent`, () => true, 'a number (%)');
      num(p, size, 'suvmaxBiasPercent', `${g}.suvmaxBiasPercent`, () => true, 'a number (%)');
      num(p, size, 'suvmeanSePercent', `${g}.suvmeanSePercent`, (x) => x >= 0, 'a number >= 0 (%)', true);
      num(p, size, 'suvmaxSePercent', `${g}.suvmaxSePercent`, (x) => x >= 0, 'a number >= 0 (%)', true);
    });
  });
}

/** `quality.fullDoseTexture` (FullDoseTextureMeasured): optional; every number the warning quotes must be there. */
/** `quality.passCost`: { network, encoder?, decoder?, measuredOn, command }; encoder and decoder for a latent model only, and both. */
function passCost(p: Problems, v: Json, latent: boolean): void {
  if (v === undefined) return;
  const field = 'quality.passCost';
  if (!isObject(v)) {
    p.add(field, `expected { "network", "encoder"?, "decoder"?, "measuredOn", "command" }, got ${describe(v)}`);
    return;
  }
  knownKeys(p, v, field, ['network', 'encoder', 'decoder', 'measuredOn', 'command']);
  const weight = (x: number) => x > 0;
  num(p, v, 'network', `${field}.network`, weight, 'a weight > 0 (lowdose-ct pixels per pixel given)');
  for (const part of ['encoder', 'decoder'] as const) {
    if (!latent && v[part] !== undefined) p.add(`${field}.${part}`, 'only a model with space "latent" has an encoder and decoder');
    else if (latent && v[part] === undefined && v[part === 'encoder' ? 'decoder' : 'encoder'] !== undefined) p.add(`${field}.${part}`, 'required with the other half of the autoencoder');
    else num(p, v, part, `${field}.${part}`, weight, 'a weight > 0 (lowdose-ct pixels per pixel given)', true);
  }
  for (const key of ['measuredOn', 'command'] as const) {
    if (typeof v[key] !== 'string' || v[key] === '') p.add(`${field}.${key}`, `expected a non-empty string, got ${describe(v[key])}`);
  }
}

function fullDoseTexture(p: Problems, v: Json): void {
  if (v === undefined) return;
  const field = 'quality.fullDoseTexture';
  if (!isObject(v)) {
    p.add(field, `expected { "measuredOn", "command", "rows": [...] }, got ${describe(v)}`);
    return;
  }
  knownKeys(p, v, field, ['measuredOn', 'command', 'rows']);
  for (const key of ['measuredOn', 'command'] as const) {
    if (typeof v[key] !== 'string' || v[key] === '') p.add(`${field}.${key}`, `expected a non-empty string, got ${describe(v[key])}`);
  }
  const listed = objectList(p, v.rows, `${field}.rows`, '{ "dose", "noiseVsFull", "npsPeakVsFull" }', (row, f) => {
    knownKeys(p, row, f, ['dose', 'noiseVsFull', 'npsPeakVsFull', 'realisations']);
    num(p, row, 'dose', `${f}.dose`, (x) => x > 0 && x <= 1, 'a dose fraction in (0, 1]');
    num(p, row, 'noiseVsFull', `${f}.noiseVsFull`, (x) => x >= -1, 'a relative change >= -1');
    num(p, row, 'npsPeakVsFull', `${f}.npsPeakVsFull`, (x) => x >= -1, 'a relative change >= -1');
    const each = row.realisations;
    if (each === undefined) return;
    if (!isObject(each)) {
      p.add(`${f}.realisations`, `expected { "count", "noiseVsFull": [min, max], "npsPeakVsFull": [min, max] }, got ${describe(each)}`);
      return;
    }
    knownKeys(p, each, `${f}.realisations`, ['count', 'noiseVsFull', 'npsPeakVsFull']);
    num(p, each, 'count', `${f}.realisations.count`, (x) => Number.isInteger(x) && x >= 1, 'an integer >= 1');
    for (const key of ['noiseVsFull', 'npsPeakVsFull']) {
      const r = each[key];
      if (!Array.isArray(r) || r.length !== 2 || !r.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= -1) || !(r[0] <= r[1])) {
        p.add(`${f}.realisations.${key}`, `expected [min, max] of relative changes >= -1, got ${describe(r)}`);
      }
    }
  });
  if (listed) {
    const doses = (v.rows as Json[]).map((r) => (isObject(r) && typeof r.dose === 'number' ? r.dose : NaN));
    if (doses.some((d, i) => i > 0 && d <= doses[i - 1]!)) {
      p.add(`${field}.rows`, `expected rows in ascending dose, each dose once, got doses ${describe(doses)}`);
    }
  }
}

/** `uncertainty`: { samples, calibration: [{ samples, spreadScale, noiseScale, noiseWindowMm }], threshold, units, ... }. */
function uncertainty(p: Problems, v: Json): void {
  if (v === undefined) return;
  const field = 'uncertainty';
  if (!isObject(v)) {
    p.add(field, `expected { "samples", "calibration": [...], "threshold", "units" }, got ${describe(v)}`);
    return;
  }
  const count = (x: number) => Number.isInteger(x) && x >= 2 && x <= 64;
  num(p, v, 'samples', `${field}.samples`, count, 'an integer in 2..64');
  num(p, v, 'threshold', `${field}.threshold`, (x) => x > 0, 'a positive number');
  if (typeof v.units !== 'string' || v.units === '') p.add(`${field}.units`, `expected a units string, got ${describe(v.units)}`);
  const entries = v.calibration;
  const each = (e: Record<string, Json>, f: string) => {
    num(p, e, 'samples', `${f}.samples`, count, 'an integer in 2..64');
    num(p, e, 'spreadScale', `${f}.spreadScale`, (x) => x >= 0, 'a number >= 0');
    num(p, e, 'noiseScale', `${f}.noiseScale`, (x) => x >= 0, 'a number >= 0');
    num(p, e, 'noiseWindowMm', `${f}.noiseWindowMm`, (x) => x > 0 && x <= 200, 'a number of mm in (0, 200]');
    num(p, e, 'noiseLevelScale', `${f}.noiseLevelScale`, (x) => x >= 0, 'a number >= 0', true);
  };
  if (!objectList(p, entries, `${field}.calibration`, '{ "samples", "spreadScale", "noiseScale", "noiseWindowMm" }', each)) return;
  if (typeof v.samples === 'number' && !entries.some((e: Json) => isObject(e) && e.samples === v.samples)) {
    p.add(`${field}.samples`, `${v.samples} has no entry in uncertainty.calibration`);
  }
}

function tensorSpec(p: Problems, v: Json, field: string, rank: number): void {
  if (!isObject(v)) {
    p.add(field, `expected { "name", "shape" }, got ${describe(v)}`);
    return;
  }
  if (typeof v.name !== 'string' || v.name === '') p.add(`${field}.name`, `expected the graph's name for it, got ${describe(v.name)}`);
  const shape = v.shape;
  if (!Array.isArray(shape) || !shape.every((d) => (typeof d === 'number' && Number.isInteger(d) && d > 0) || (typeof d === 'string' && d !== ''))) {
    p.add(`${field}.shape`, `expected an array of positive integers and dimension names, got ${describe(shape)}`);
  } else if (shape.length !== rank) {
    p.add(`${field}.shape`, `expected ${rank} dimensions, got ${shape.length} (${describe(shape)})`);
  }
  oneOf(p, v, 'dtype', `${field}.dtype`, field.endsWith('timestep') ? ['float32', 'int64'] : ['float32'], true);
}

/** `latent`: { factor, channels, encoder: { onnx, input, output }, decoder: { onnx, input, output }, ... }. */
function latentBlock(p: Problems, v: Json): void {
  const field = 'latent';
  if (!isObject(v)) {
    p.add(field, `expected { "factor", "channels", "encoder", "decoder" } for space "latent", got ${describe(v)}`);
    return;
  }
  num(p, v, 'factor', `${field}.factor`, (x) => Number.isInteger(x) && x >= 2 && x <= 64 && (x & (x - 1)) === 0, 'a power of two in 2..64');
  num(p, v, 'channels', `${field}.channels`, (x) => Number.isInteger(x) && x >= 1 && x <= 64, 'an integer in 1..64');
  for (const part of ['encoder', 'decoder'] as const) {
    const spec = v[part];
    if (!isObject(spec)) {
      p.add(`${field}.${part}`, `expected { "onnx", "input", "output" }, got ${describe(spec)}`);
      continue;
    }
    if (typeof spec.onnx !== 'string' || !spec.onnx.endsWith('.onnx')) p.add(`${field}.${part}.onnx`, `expected the .onnx file name, got ${describe(spec.onnx)}`);
    tensorSpec(p, spec.input, `${field}.${part}.input`, 4);
    tensorSpec(p, spec.output, `${field}.${part}.output`, 4);
  }
}

function normalization(p: Problems, v: Json, field: string, modality: Modality | null): void {
  if (!isObject(v)) {
    p.add(field, `expected { "units", "transform", "offset", "scale" }, got ${describe(v)}`);
    return;
  }
  oneOf(p, v, 'units', `${field}.units`, modality ? [UNITS[modality]] : ['HU', 'SUVbw']);
  oneOf(p, v, 'transform', `${field}.transform`, ['linear', 'log1p']);
  num(p, v, 'offset', `${field}.offset`, () => true, 'a number');
  num(p, v, 'scale', `${field}.scale`, (x) => x > 0, 'a positive number');
  range(p, v, 'clip', `${field}.clip`);
}

function schedule(p: Problems, v: Json): void {
  if (!isObject(v)) {
    p.add('schedule', `expected { "kind", "trainSteps", ... }, got ${describe(v)}`);
    return;
  }
  oneOf(p, v, 'kind', 'schedule.kind', SCHEDULE_KINDS);
  num(p, v, 'trainSteps', 'schedule.trainSteps', (x) => Number.isInteger(x) && x >= 2, 'an integer >= 2');
  const unit = (x: number) => x > 0 && x < 1;
  switch (v.kind) {
    case 'linear':
      num(p, v, 'betaStart', 'schedule.betaStart', unit, 'a number in (0, 1)', true);
      num(p, v, 'betaEnd', 'schedule.betaEnd', unit, 'a number in (0, 1)', true);
      if (typeof v.betaStart === 'number' && typeof v.betaEnd === 'number' && !(v.betaStart < v.betaEnd)) {
        p.add('schedule', `betaStart ${v.betaStart} must be below betaEnd ${v.betaEnd}`);
      }
      break;
    case 'cosine':
      num(p, v, 's', 'schedule.s', (x) => x > 0, 'a positive number', true);
      break;
    case 'aggressive':
      num(p, v, 'midpoint', 'schedule.midpoint', unit, 'a number in (0, 1)', true);
      num(p, v, 'steepness', 'schedule.steepness', (x) => x > 0, 'a positive number', true);
      break;
    case 'resshift':
      num(p, v, 'kappa', 'schedule.kappa', (x) => x > 0, 'a positive number', true);
      num(p, v, 'power', 'schedule.power', (x) => x > 0, 'a positive number', true);
      num(p, v, 'minNoiseLevel', 'schedule.minNoiseLevel', unit, 'a number in (0, 1)', true);
      num(p, v, 'etasEnd', 'schedule.etasEnd', unit, 'a number in (0, 1)', true);
      break;
  }
}

/**
 * Checks a parsed card (the JSON value) and returns it typed, or throws E_MODEL listing every
 * problem, each with its field.
 */
export function parseModelCard(value: Json, cardPath: string): ModelCard {
  const p = new Problems();
  if (!isObject(value)) throw new LowdoseError('E_MODEL', `${cardPath}: a model card must be a JSON object`, { path: cardPath });
  const c = value;
  if (c.format !== MODEL_CARD_FORMAT) p.add('format', `expected "${MODEL_CARD_FORMAT}", got ${describe(c.format)}`);
  if (typeof c.name !== 'string' || c.name === '') p.add('name', `expected a name, got ${describe(c.name)}`);
  if (typeof c.onnx !== 'string' || !c.onnx.endsWith('.onnx')) p.add('onnx', `expected the .onnx file name, got ${describe(c.onnx)}`);

  const modalities = c.modalities;
  if (!Array.isArray(modalities) || modalities.length === 0 || !modalities.every((m) => MODALITIES.includes(m as Modality)) || new Set(modalities).size !== modalities.length) {
    p.add('modalities', `expected ["CT"], ["PT"] or ["CT", "PT"], got ${describe(modalities)}`);
  }
  const modalityList = Array.isArray(modalities) ? (modalities.filter((m) => MODALITIES.includes(m as Modality)) as Modality[]) : [];

  oneOf(p, c, 'neighbours', 'neighbours', [0, 1]);
  const channels = c.neighbours === 1 ? 3 : 1;
  oneOf(p, c, 'space', 'space', MODEL_SPACES, true);
  if (c.space === 'latent') {
    latentBlock(p, c.latent);
    if (c.neighbours === 1) p.add('neighbours', 'a latent model takes the slice alone (neighbours 0)');
  } else if (c.latent !== undefined) {
    p.add('latent', 'only a model with space "latent" has a latent block');
  }

  const inputs = c.inputs;
  if (!isObject(inputs)) {
    p.add('inputs', `expected an object with sample, timestep, condition (and doseLevel, conditionMask, modality), got ${describe(inputs)}`);
  } else {
    for (const key of Object.keys(inputs)) {
      if (!(INPUT_ROLES as readonly string[]).includes(key)) p.add(`inputs.${key}`, `unknown input role (known: ${INPUT_ROLES.join(', ')})`);
    }
    for (const role of ['sample', 'timestep', 'condition'] as const) {
      if (inputs[role] === undefined) p.add(`inputs.${role}`, 'required');
    }
    for (const role of INPUT_ROLES) {
      if (inputs[role] !== undefined) tensorSpec(p, inputs[role], `inputs.${role}`, role === 'sample' || role === 'condition' ? 4 : 1);
    }
    if (modalityList.length === 2 && inputs.modality === undefined) p.add('inputs.modality', 'required when the model serves both CT and PT');
    const names = INPUT_ROLES.map((r) => (isObject(inputs[r]) ? inputs[r].name : undefined)).filter((n): n is string => typeof n === 'string');
    if (new Set(names).size !== names.length) p.add('inputs', `two roles name the same graph input (${names.join(', ')})`);
  }
  tensorSpec(p, c.output, 'output', 4);

  oneOf(p, c, 'prediction', 'prediction', PREDICTION_TYPES);
  schedule(p, c.schedule);

  const norm = c.normalization;
  if (isObject(norm) && !('units' in norm)) {
    for (const key of Object.keys(norm)) if (!MODALITIES.includes(key as Modality)) p.add(`normalization.${key}`, 'expected CT or PT');
    for (const m of modalityList) normalization(p, norm[m], `normalization.${m}`, m);
  } else if (modalityList.length === 2) {
    p.add('normalization', 'a model for CT and PT needs { "CT": {...}, "PT": {...} }');
  } else {
    normalization(p, norm, 'normalization', modalityList[0] ?? null);
  }

  const tile = c.tile;
  if (!isObject(tile)) {
    p.add('tile', `expected { "multipleOf", "overlap", "size"? }, got ${describe(tile)}`);
  } else {
    num(p, tile, 'size', 'tile.size', (x) => Number.isInteger(x) && x >= 1, 'a positive integer', true);
    num(p, tile, 'multipleOf', 'tile.multipleOf', (x) => Number.isInteger(x) && x >= 1, 'a positive integer');
    num(p, tile, 'overlap', 'tile.overlap', (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0');
    if (typeof tile.size === 'number' && typeof tile.multipleOf === 'number' && tile.size % tile.multipleOf !== 0) {
      p.add('tile.size', `${tile.size} is not a multiple of tile.multipleOf ${tile.multipleOf}`);
    }
    if (typeof tile.size === 'number' && typeof tile.overlap === 'number' && tile.overlap >= tile.size) {
      p.add('tile.overlap', `${tile.overlap} must be below tile.size ${tile.size}`);
    }
  }

  const sampler = c.sampler;
  const trainSteps = isObject(c.schedule) && typeof c.schedule.trainSteps === 'number' ? c.schedule.trainSteps : Infinity;
  if (!isObject(sampler)) {
    p.add('sampler', `expected { "default", "steps", ... }, got ${describe(sampler)}`);
  } else {
    oneOf(p, sampler, 'default', 'sampler.default', SAMPLER_NAMES);
    num(p, sampler, 'steps', 'sampler.steps', (x) => Number.isInteger(x) && x >= 1 && x <= trainSteps, `an integer in 1..${trainSteps}`);
    num(p, sampler, 'eta', 'sampler.eta', (x) => x >= 0 && x <= 1, 'a number in [0, 1]', true);
    num(p, sampler, 'strength', 'sampler.strength', (x) => x > 0 && x <= 1, 'a number in (0, 1]', true);
    num(p, sampler, 'startT', 'sampler.startT', (x) => Number.isInteger(x) && x >= 0 && x < trainSteps, `an integer in 0..${trainSteps - 1}`, true);
    oneOf(p, sampler, 'spacing', 'sampler.spacing', TIMESTEP_SPACINGS, true);
    range(p, sampler, 'clipSample', 'sampler.clipSample');
    consistency(p, sampler.consistency);
    if (isObject(sampler.consistency) && sampler.consistency.nonNegative !== undefined) {
      // Activity is never below 0; HU are. And the step clamps at model value 0, which is image value 0 only for a linear map without offset.
      if (modalityList.length !== 1 || modalityList[0] !== 'PT') p.add('sampler.consistency.nonNegative', `is for PET models only (activity is never below 0), got modalities ${describe(c.modalities)}`);
      else if (isObject(norm) && (norm.transform !== 'linear' || norm.offset !== 0)) {
        p.add('sampler.consistency.nonNegative', `needs a linear normalization with offset 0 (model value 0 = image value 0), got ${describe(norm.transform)} with offset ${describe(norm.offset)}`);
      }
    }
    num(p, sampler, 'orientations', 'sampler.orientations', (x) => (ORIENTATION_COUNTS as readonly number[]).includes(x), '1, 2, 4 or 8', true);
    const resshiftSchedule = isObject(c.schedule) && c.schedule.kind === 'resshift';
    if ((sampler.default === 'resshift') !== resshiftSchedule && sampler.default !== undefined) {
      p.add('sampler.default', resshiftSchedule ? 'a resshift schedule needs the resshift sampler' : 'the resshift sampler needs schedule.kind "resshift"');
    }
    if (resshiftSchedule && c.prediction !== 'sample') p.add('prediction', 'a resshift model must predict the clean image ("sample")');
  }

  const guidance = c.guidance;
  if (!isObject(guidance)) {
    p.add('guidance', `expected { "conditionDropout", "default" }, got ${describe(guidance)}`);
  } else {
    num(p, guidance, 'conditionDropout', 'guidance.conditionDropout', (x) => x >= 0 && x < 1, 'a number in [0, 1)');
    num(p, guidance, 'default', 'guidance.default', () => true, 'a number');
    const hasMask = isObject(inputs) && inputs.conditionMask !== undefined;
    if (typeof guidance.default === 'number' && guidance.default !== 1 && !hasMask) {
      p.add('guidance.default', `${guidance.default} needs an inputs.conditionMask (use 1 for a model without one)`);
    }
  }
  if (c.texture !== undefined) {
    if (!isObject(c.texture)) p.add('texture', `expected { "defaultDose", "transfer"? }, got ${describe(c.texture)}`);
    else {
      num(p, c.texture, 'defaultDose', 'texture.defaultDose', (x) => x > 0 && x <= 1, 'a dose fraction in (0, 1]');
      textureTransfer(p, c.texture.transfer);
    }
  }
  if (c.lowBand !== undefined) {
    if (!isObject(c.lowBand)) p.add('lowBand', `expected { "strength", "factor"?, "filter"? }, got ${describe(c.lowBand)}`);
    else {
      num(p, c.lowBand, 'strength', 'lowBand.strength', (x) => x >= 0 && x <= LOW_BAND_MAX_STRENGTH, `a number in [0, ${LOW_BAND_MAX_STRENGTH}]`);
      num(p, c.lowBand, 'factor', 'lowBand.factor', (x) => Number.isInteger(x) && x >= 2 && x <= 16, 'an integer 2..16', true);
      oneOf(p, c.lowBand, 'filter', 'lowBand.filter', LOW_BAND_FILTERS, true);
    }
  }
  if (c.pixelSpacing !== undefined) {
    if (!isObject(c.pixelSpacing)) p.add('pixelSpacing', `expected { "minMm", "maxMm" }, got ${describe(c.pixelSpacing)}`);
    else {
      num(p, c.pixelSpacing, 'minMm', 'pixelSpacing.minMm', (x) => x > 0, 'a spacing in mm > 0');
      const min = c.pixelSpacing.minMm;
      num(p, c.pixelSpacing, 'maxMm', 'pixelSpacing.maxMm', (x) => x > 0 && (typeof min !== 'number' || x >= min), 'a spacing in mm >= minMm');
    }
  }
  for (const key of ['training', 'quality'] as const) {
    if (!isObject(c[key])) p.add(key, `expected an object (may be empty), got ${describe(c[key])}`);
  }
  if (isObject(c.quality)) lesionRecovery(p, c.quality.lesionRecovery);
  if (isObject(c.quality)) fullDoseTexture(p, c.quality.fullDoseTexture);
  if (isObject(c.quality)) passCost(p, c.quality.passCost, c.space === 'latent');
  if (isObject(c.training)) qaGate(p, c.training.qaGate);
  uncertainty(p, c.uncertainty);

  if (p.list.length === 0) checkShapes(p, c as unknown as ModelCard, channels);
  if (p.list.length > 0) {
    throw new LowdoseError('E_MODEL', `${cardPath}: invalid model card:\n  ${p.list.join('\n  ')}`, { path: cardPath });
  }
  return c as unknown as ModelCard;
}

/** Dimensions that must agree between the card's own tensors. */
function checkShapes(p: Problems, card: ModelCard, channels: number): void {
  const { sample, condition } = card.inputs;
  const output = card.output;
  const latent = latentOf(card);
  if (latent) {
    // The network's sample, condition (the encoded low-dose slice) and output are all latents.
    for (const [field, spec] of [['inputs.sample', sample], ['inputs.condition', condition], ['output', output]] as const) {
      if (spec.shape[1] !== latent.channels) p.add(`${field}.shape`, `dimension 1 must be latent.channels ${latent.channels}, got ${describe(spec.shape[1])}`);
    }
    const ends = [
      ['latent.encoder.input', latent.encoder.input, 1],
      ['latent.encoder.output', latent.encoder.output, latent.channels],
      ['latent.decoder.input', latent.decoder.input, latent.channels],
      ['latent.decoder.output', latent.decoder.output, 1],
    ] as const;
    for (const [field, spec, want] of ends) {
      if (spec.shape[1] !== want) p.add(`${field}.shape`, `dimension 1 must be ${want}, got ${describe(spec.shape[1])}`);
    }
    if (typeof sample.shape[2] === 'number' || typeof sample.shape[3] === 'number') {
      p.add('inputs.sample.shape', 'a latent model takes latents of any size (symbolic height and width)');
    }
    if (card.tile.size !== undefined) p.add('tile.size', 'a latent model runs on the whole latent (no tiles): leave tile.size out');
  } else {
    if (sample.shape[1] !== 1) p.add('inputs.sample.shape', `dimension 1 must be 1 (one image channel), got ${describe(sample.shape[1])}`);
    if (output.shape[1] !== 1) p.add('output.shape', `dimension 1 must be 1, got ${describe(output.shape[1])}`);
    if (condition.shape[1] !== channels) {
      p.add('inputs.condition.shape', `dimension 1 must be ${channels} for neighbours ${card.neighbours}, got ${describe(condition.shape[1])}`);
    }
  }
  const batch = sample.shape[0];
  for (const role of INPUT_ROLES) {
    const spec = card.inputs[role];
    if (spec && spec.shape[0] !== batch) p.add(`inputs.${role}.shape`, `batch dimension ${describe(spec.shape[0])} differs from the sample's ${describe(batch)}`);
  }
  if (output.shape[0] !== batch) p.add('output.shape', `batch dimension ${describe(output.shape[0])} differs from the sample's ${describe(batch)}`);
  for (const [field, spec] of [['inputs.condition', condition], ['output', output]] as const) {
    if (spec.shape[2] !== sample.shape[2] || spec.shape[3] !== sample.shape[3]) {
      p.add(`${field}.shape`, `height and width ${describe(spec.shape.slice(2))} differ from the sample's ${describe(sample.shape.slice(2))}`);
    }
  }
  const [h, w] = [sample.shape[2], sample.shape[3]];
  if (typeof h === 'number' || typeof w === 'number') {
    if (h !== w || card.tile.size !== h) {
      p.add('tile.size', `the sample has a fixed size ${describe([h, w])}: tile.size must be that (square) size, got ${describe(card.tile.size)}`);
    }
  }
}

/**
 * One problem for each dimension the graph fixes (a positive number) that the card's shape of the
 * same rank gives otherwise; symbolic graph dimensions take any card value.
 */
function dimensionProblems(label: string, graphShape: readonly (number | string)[], cardShape: readonly (number | string)[]): string[] {
  const problems: string[] = [];
  graphShape.forEach((dim, i) => {
    if (typeof dim === 'number' && dim > 0 && dim !== cardShape[i]) {
      problems.push(`${label}: dimension ${i} is ${dim} in the graph but ${describe(cardShape[i])} in the card`);
    }
  });
  return problems;
}

/**
 * Checks the card against the graph the ONNX file declares (names, ranks, fixed dimensions,
 * element types). Throws E_MODEL_MISMATCH naming everything that differs.
 */
export function checkCardAgainstGraph(
  card: ModelCard,
  graph: GraphSignature,
  onnxPath: string,
): void {
  const problems: string[] = [];
  const graphInputs = new Map(graph.inputs.map((i) => [i.name, i]));
  const graphOutputs = new Map(graph.outputs.map((o) => [o.name, o]));
  const described = new Set<string>();
  const compare = (field: string, spec: TensorSpec, actual: GraphValueInfo) => {
    const dtype = spec.dtype ?? 'float32';
    if (actual.type !== null && actual.type !== dtype) problems.push(`${field} '${spec.name}': the graph has ${actual.type}, the card ${dtype}`);
    if (actual.shape === null) return;
    if (actual.shape.length !== spec.shape.length) {
      problems.push(`${field} '${spec.name}': the graph has rank ${actual.shape.length} ${describe(actual.shape)}, the card rank ${spec.shape.length} ${describe(spec.shape)}`);
      return;
    }
    problems.push(...dimensionProblems(`${field} '${spec.name}'`, actual.shape, spec.shape));
  };
  for (const role of INPUT_ROLES) {
    const spec = card.inputs[role];
    if (!spec) continue;
    described.add(spec.name);
    const actual = graphInputs.get(spec.name);
    if (!actual) {
      problems.push(`inputs.${role} names '${spec.name}', which is not a graph input (the graph's inputs: ${[...graphInputs.keys()].join(', ')})`);
      continue;
    }
    compare(`inputs.${role}`, spec, actual);
  }
  for (const name of graphInputs.keys()) {
    if (!described.has(name)) problems.push(`graph input '${name}' is not described in the card's inputs`);
  }
  const out = graphOutputs.get(card.output.name);
  if (!out) {
    problems.push(`output names '${card.output.name}', which is not a graph output (the graph's outputs: ${[...graphOutputs.keys()].join(', ')})`);
  } else {
    compare('output', card.output, out);
  }
  if (problems.length > 0) {
    throw new LowdoseError('E_MODEL_MISMATCH', `model card ${card.name} does not match ${onnxPath}:\n  ${problems.join('\n  ')}`, { path: onnxPath });
  }
}

/**
 * Checks one half of a latent model's autoencoder against its graph: the card's input and output
 * names exist, with the card's rank and fixed dimensions, and the graph has no other inputs.
 * Throws E_MODEL_MISMATCH naming everything that differs.
 */
export function checkCodecAgainstGraph(
  field: string,
  spec: LatentCodecSpec,
  graph: GraphSignature,
  onnxPath: string,
): void {
  const problems: string[] = [];
  const check = (role: 'input' | 'output', list: readonly GraphValueInfo[]) => {
    const want = spec[role];
    const actual = list.find((v) => v.name === want.name);
    if (!actual) {
      problems.push(`${field}.${role} names '${want.name}', which is not a graph ${role} (the graph's: ${list.map((v) => v.name).join(', ')})`);
      return;
    }
    if (actual.type !== null && actual.type !== 'float32') problems.push(`${field}.${role} '${want.name}': the graph has ${actual.type}, expected float32`);
    if (actual.shape === null) return;
    if (actual.shape.length !== want.shape.length) {
      problems.push(`${field}.${role} '${want.name}': the graph has rank ${actual.shape.length}, the card ${want.shape.length}`);
      return;
    }
    problems.push(...dimensionProblems(`${field}.${role} '${want.name}'`, actual.shape, want.shape));
  };
  check('input', graph.inputs);
  check('output', graph.outputs);
  if (graph.inputs.length !== 1) problems.push(`${field}: the graph has ${graph.inputs.length} inputs (${graph.inputs.map((v) => v.name).join(', ')}), expected one`);
  if (problems.length > 0) {
    throw new LowdoseError('E_MODEL_MISMATCH', `model card ${field} does not match ${onnxPath}:\n  ${problems.join('\n  ')}`, { path: onnxPath });
  }
}

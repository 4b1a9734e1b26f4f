/**
 * Measurement consistency: the low-dose image is a measurement of the image we want, not only a
 * condition. Its pixels are noisy, but its local means are not biased: noise averages out over a
 * region, whereas a network that shrinks a hot lesion or lifts a bone insert moves the local mean
 * and no amount of averaging removes that. So the reverse process may change the image freely at
 * the scales where the measurement is noise, and must agree with it at the scale where the
 * measurement is reliable, wherever the two disagree by more than the noise explains.
 *
 * One step, on the current clean-image estimate x̂₀ against the measurement y (both one image):
 *   1. r = L(y − x̂₀), with L a Gaussian low-pass of `sigmaRows` × `sigmaColumns` pixels.
 *   2. The noise level of r: Var(r) = a + b·max(L(x̂₀), 0), fitted to r² by least squares over the
 *      image, trimmed (pixels with r² > 9 × the fit are dropped, twice) so that the regions where
 *      the model is biased do not count as noise. b > 0 is Poisson-like noise (PET: variance grows
 *      with activity), b = 0 uniform noise (CT). Fitting r itself rather than the pixel noise
 *      folds in the noise's correlation (reconstruction kernel, post-filter) and the part of the
 *      noise the model already removed, with no NPS model: the null distribution of the test
 *      statistic is measured, not assumed.
 *   3. A detection gain per pixel: g = clamp(|r| / (k σ) − 1, 0, 1), smoothed by L: 0 where the
 *      disagreement is within k σ (noise), 1 from 2 k σ on (a firm threshold; Gao and Bruce
 *      1997), so a region that disagrees clearly is corrected in full, not by |r| − k σ.
 *   4. z = x̂₀, then `iterations` times z += g ⊙ L(y − z): van Cittert iterations that, where
 *      g = 1, make the low band of z converge to the measurement's, and leave z alone where g = 0.
 *   5. The result is x̂₀ + strength·(z − x̂₀).
 *
 * In the diffusion-for-inverse-problems literature this is ILVR's low-pass guidance (Choi et al.
 * 2021: replace the low band of x with the measurement's) applied to x̂₀ after each step as DDNM
 * does (Wang et al. 2023: correct x̂₀|t, then take the step from the corrected x̂₀), with the
 * operator a Gaussian blur and DDNM+'s noise awareness made local: correct only what the
 * measurement's noise cannot explain. DPS (Chung et al. 2023) would instead step along the
 * likelihood gradient through the network, which needs its Jacobian (a backward pass) and a
 * step size; our samplers run 1 to 4 steps of a forward-only ONNX graph, so the projection is the
 * one that fits. A soft threshold (move by |r| − k σ, the first design) leaves k σ of the bias in
 * every lesion by construction, several percent of a hot sphere's SUV at low counts; the firm
 * threshold corrects a clear disagreement in full (docs/diffusion.md, "Measurement consistency").
 *
 * Low counts (`lowCount`, for slices whose declared dose is below `belowDose`): step 4 restores
 * the measurement's band up to about 1/(4σ) cycles per mm, and with it the measurement's noise in
 * that band, which at low counts lifts a lesion's SUVmax well above the full-count image's (IEC
 * phantom at 10 % counts: +14 to +21 %). There the step instead
 *   4'. smooths z = x̂₀ by `interiorSigma` in proportion to the smoothed gain G (the network's lumpy
 *       interior of hot regions), then `passes` times adds G ⊙ L₂(G ⊙ (y − z)) / L₂(G), L₂ a
 *       Gaussian of `averageSigma`: the G-weighted average of the residual over the detected region
 *       (a normalised convolution), which moves the region's mean to the measurement's without
 *       taking in the measurement's texture.
 * The rest (1 to 3, 5) is the same. Measured and chosen in models/README.md ("PET: measurement
 * consistency"; `models/eval/consistency-pet-count-level.md`, `consistency-pet-average.md`).
 *
 * Large regions at every dose (`largeRegions`, where step 4 runs): the band step's noise lift of
 * SUVmax grows with a lesion's size (more pixels, more chances for a noise peak), while the region
 * mean's averaging costs a small lesion its peak. So where step 4 runs, z is blended towards step
 * 4' (its own averaging) with weight w = clamp((L_R(G) − level) / (1 − level), 0, 1), L_R a
 * Gaussian of `radius` pixels: L_R(G) at a region's centre is 1 − exp(−a² / 2R²) for a disc of
 * radius a, so w is up only deep inside regions well wider than R. The dose is not needed, and
 * with `onlyUnknownDose` the blend runs only without one: `lowdose-pet` uses it that way (R 3 mm,
 * level 0: w is the detection itself), since without a declared dose the low-count step cannot run
 * and the band step alone left lesions' SUVmax up to +45 % high at 10 % counts; for a declared
 * 25 % it cost faint lesions SUVmean (models/eval/consistency-pet-large-regions.md).
 *
 * Edge-preserving smoothing of the estimate first (`bilateral`): before step 1, x̂₀ is replaced by
 * a bilateral filter of itself (spatial σ in pixels per axis, range σ = `rangeFactor` × x̂₀'s own
 * noise SD, `estimateFilterNoise` in PET mode, which picks its tissue relative to the image's own
 * mean, so any units work). A 1-step x̂₀ of `lowdose-pet` is lumpy in uniform regions (its own
 * error, not the measurement's noise): the lumps stay in the background where the step leaves x̂₀
 * alone, and in a hot lesion they lift SUVmax. Flattening them before the step lowers the
 * background SD by a fifth at no cost in SUVmean (models/README.md, "PET: measurement
 * consistency"); the step then corrects means from the smoothed estimate.
 *
 * Measured-pixel average with the estimate as pilot (`pilot`): after step 4 (or 4'), z is replaced
 * by (1 − mix)·z + mix·P, where P is non-local means of the *measurement* y with the weights of
 * z's patches (BM3D's second stage, NLM with a pilot similarity): P_i = Σ_j w_ij y_j / Σ_j w_ij
 * over a search window, w_ij = exp(−d²(T(z)_i, T(z)_j) / h²), d² the mean squared difference of
 * the two patches of T(z). The weights sum to one and come from the noise-poor estimate, so P is a
 * convex combination of measured pixels: a region the pilot separates from its surround keeps the
 * measurement's mean (a lesion the network shrank gets its measured counts back), the background
 * averages over every similar pixel in the window (lower SD), and a lesion's noise peaks are
 * averaged within the lesion. T stabilises the variance so that h is in noise SDs at every
 * activity: the pixel noise of y is fitted as Var(y − z) = a + b·max(z, 0) (`fitNoiseLevel`,
 * trimmed), and T(μ) = 2·sqrt(a + b·μ) / b for μ >= 0, continued linearly with its slope at 0
 * below (Anscombe-like; b = 0: μ / sqrt(a)), so CT's uniform noise and PET's Poisson-like noise
 * take the same h and T stays strictly increasing over negative model values.
 *
 * Large scales (`largeScale`, where the band step runs): the band step corrects only what its
 * detection finds, and a broad lift of a few percent over a warm background stays within k σ of a
 * 4.5 mm low-pass while being far outside the noise of the background's mean (`lowdose-pet` alone
 * lifts the IEC phantom's background by 6 % at 25 % counts, real clinical slices' total activity
 * by up to 9 % after the band step). The measurement's mean is unbiased and nearly noise-free at
 * large scales, so after step 4 z += L_S(y − z), `passes` times, with L_S a Gaussian of S pixels
 * (24 mm in the measured candidate): unconditional, since at that scale there is no noise to keep out. Not after
 * step 4': below a low count the region mean moves a lesion's deficit into a halo around it, and
 * restoring the large-scale mean there takes it from the lesion (models/eval/pet-count-fidelity.md).
 *
 * Non-negative (`nonNegative`, PET only, after the strength blend): activity is never below 0, but
 * a network's output dips below it in air and at edges (a quarter of `lowdose-pet`'s pixels, and
 * 13 to 35 % after its consistency step). A clamp would add those counts and lift air and edges; instead each negative value
 * is set to 0 and its counts are taken from the positive pixels around it in proportion to their
 * value (`nonNegativeKeepingCounts`), which keeps the total where there are positive pixels near.
 *
 * Pure functions over Float32Arrays; ./sample.ts applies `consistencyStep` to every lane after
 * every sampler step, with the lane's declared dose.
 */
import { LowdoseError } from '../errors.js';
import { bilateralFilter } from '../filters/bilateral.js';
import { gaussianSmooth } from '../filters/gaussian.js';
import { guidedNlm } from '../filters/nlm.js';
import { estimateFilterNoise } from '../filters/noise.js';

/** What the step needs, in pixels (./denoise-slices.ts converts the card's millimetres). */
export interface ConsistencyConfig {
  /** 0 = off (the step is not run), 1 = the full correction. */
  readonly strength: number;
  /** Standard deviation of the low-pass L along rows (y) and columns (x), pixels. */
  readonly sigmaRows: number;
  readonly sigmaColumns: number;
  /** k: disagreements within k σ are noise; from 2 k σ on they are corrected in full. 0 = correct all. */
  readonly threshold: number;
  /** Van Cittert iterations (default 8). */
  readonly iterations?: number;
  /** The region-mean correction for slices whose declared dose is below `belowDose` (module comment). */
  readonly lowCount?: LowCountConfig;
  /** The region-mean correction inside large detected regions where the band step runs (module comment). */
  readonly largeRegions?: LargeRegionConfig;
  /** Edge-preserving smoothing of the estimate before the step (module comment). */
  readonly bilateral?: BilateralConfig;
  /** The measured-pixel average weighted by the estimate's patches, after the step (module comment). */
  readonly pilot?: PilotConfig;
  /** The measurement's mean restored at large scales where the band step runs (module comment). */
  readonly largeScale?: LargeScaleConfig;
  /** Values below 0 set to 0, their counts taken from the positive pixels around them (module comment). */
  readonly nonNegative?: NonNegativeConfig;
}

/** `ConsistencyConfig.largeScale`, in pixels. */
export interface LargeScaleConfig {
  /** Standard deviation of the Gaussian L_S along rows and columns, pixels. */
  readonly sigmaRows: number;
  readonly sigmaColumns: number;
  /** z += L_S(y − z) this many times (1..10). */
  readonly passes: number;
}

/** `ConsistencyConfig.nonNegative`, in pixels. */
export interface NonNegativeConfig {
  /** Standard deviation of the Gaussian over which a negative pixel's counts are taken back, pixels. */
  readonly spreadRows: number;
  readonly spreadColumns: number;
}

/** `ConsistencyConfig.pilot`, in pixels. */
export interface PilotConfig {
  /** Patch half-width, pixels (0: single pixels). */
  readonly patchRadius: number;
  /** Search window half-width, pixels. */
  readonly searchRadius: number;
  /** h in noise standard deviations of the measurement (module comment). */
  readonly h: number;
  /** Weight of the average against the estimate, (0, 1]. */
  readonly mix: number;
  /** The centre pixel's weight (NlmOptions.selfWeight; default 'max'). */
  readonly selfWeight?: 'one' | 'max';
  /** The weight kernel (NlmOptions.kernel; default 'exp'). */
  readonly kernel?: 'exp' | 'bisquare';
  /** Keep the step's estimate where it detected a disagreement: the average enters with weight (1 − G), G the smoothed gain. */
  readonly outsideDetected?: boolean;
  /**
   * What the weights compare: 'estimate' (default) z itself; 'estimate+band', z plus the low band
   * of the residual, L(y − z) with the step's low-pass, so that a faint region the estimate lost
   * but the measurement's low band shows is told apart from its surround (a pre-filtered
   * similarity, at the price of the low band's noise in the weights).
   */
  readonly guide?: 'estimate' | 'estimate+band';
  /** Slices with a declared dose below it skip the average (absent: every slice; unknown dose always gets it). */
  readonly fromDose?: number;
}

/** `ConsistencyConfig.bilateral`, in pixels. */
export interface BilateralConfig {
  /** Spatial standard deviation along rows and columns, pixels. */
  readonly sigmaRows: number;
  readonly sigmaColumns: number;
  /** Range σ in units of the estimate's own noise SD. */
  readonly rangeFactor: number;
}

/** `ConsistencyConfig.lowCount`, in pixels. */
export interface LowCountConfig {
  /** Dose fraction (0, 1]: slices with a declared dose below it get the region-mean step; unknown dose never. */
  readonly belowDose: number;
  /** Standard deviation of L₂, the residual's averaging over the detected region, pixels. */
  readonly averageSigmaRows: number;
  readonly averageSigmaColumns: number;
  /** Standard deviation of the estimate's smoothing inside the detected region, pixels (0: none). */
  readonly interiorSigmaRows: number;
  readonly interiorSigmaColumns: number;
  /** Correction passes, each from the residual left by the one before (1..100). */
  readonly passes: number;
  /**
   * k of the detection gain at these doses (absent: the step's `threshold`). At low counts k σ is
   * large in activity units, so a faint lesion the network flattened can stay below it and keep
   * its loss; a lower k here detects it, at the price of more background taken for disagreement.
   */
  readonly threshold?: number;
}

/** `ConsistencyConfig.largeRegions`, in pixels. */
export interface LargeRegionConfig {
  /** Standard deviation of L_R, the detection gain's smoothing that measures a region's size, pixels. */
  readonly radiusRows: number;
  readonly radiusColumns: number;
  /** L_R(G) at which the blend starts, [0, 1): w = clamp((L_R(G) − level) / (1 − level), 0, 1). */
  readonly level: number;
  /** Step 4' as below a low count: averaging and interior σ in pixels, passes. */
  readonly averageSigmaRows: number;
  readonly averageSigmaColumns: number;
  readonly interiorSigmaRows: number;
  readonly interiorSigmaColumns: number;
  readonly passes: number;
  /** Only for slices whose dose is not declared (the band step alone where it is; module comment). */
  readonly onlyUnknownDose?: boolean;
}

export const DEFAULT_CONSISTENCY_ITERATIONS = 8;
/** The low-pass is cut at 3 σ: the kernel keeps 99.7 % of its weight and costs 25 % fewer taps than 4 σ. */
const TRUNCATE = 3;
/** Pixels with r² above this many times the fitted variance are dropped from the noise fit. */
const TRIM = 9;

/** Var(r) = a + b·max(μ, 0). */
export interface NoiseLevel {
  readonly a: number;
  readonly b: number;
}

export function checkConsistencyConfig(config: ConsistencyConfig): void {
  const bad = (what: string) => new LowdoseError('E_USAGE', `consistency ${what}`);
  if (!(config.strength >= 0 && config.strength <= 1)) throw bad(`strength must be in [0, 1], got ${config.strength}`);
  if (!(config.sigmaRows > 0 && config.sigmaColumns > 0) || !Number.isFinite(config.sigmaRows + config.sigmaColumns)) {
    throw bad(`low-pass sigma must be positive, got ${config.sigmaRows} x ${config.sigmaColumns} px`);
  }
  if (!(config.threshold >= 0) || !Number.isFinite(config.threshold)) throw bad(`threshold must be >= 0, got ${config.threshold}`);
  const it = config.iterations ?? DEFAULT_CONSISTENCY_ITERATIONS;
  if (!Number.isInteger(it) || it < 1 || it > 100) throw bad(`iterations must be an integer in 1..100, got ${it}`);
  const low = config.lowCount;
  if (low) {
    if (!(low.belowDose > 0 && low.belowDose <= 1)) throw bad(`lowCount.belowDose must be in (0, 1], got ${low.belowDose}`);
    checkRegionMean(low, 'lowCount', bad);
    if (low.threshold !== undefined && !(low.threshold >= 0 && Number.isFinite(low.threshold))) throw bad(`lowCount.threshold must be >= 0, got ${low.threshold}`);
  }
  const large = config.largeRegions;
  if (large) {
    if (!(large.radiusRows > 0 && large.radiusColumns > 0) || !Number.isFinite(large.radiusRows + large.radiusColumns)) {
      throw bad(`largeRegions radius must be positive, got ${large.radiusRows} x ${large.radiusColumns} px`);
    }
    if (!(large.level >= 0 && large.level < 1)) throw bad(`largeRegions.level must be in [0, 1), got ${large.level}`);
    checkRegionMean(large, 'largeRegions', bad);
  }
  const bi = config.bilateral;
  if (bi) {
    if (!(bi.sigmaRows > 0 && bi.sigmaColumns > 0) || !Number.isFinite(bi.sigmaRows + bi.sigmaColumns)) {
      throw bad(`bilateral sigma must be positive, got ${bi.sigmaRows} x ${bi.sigmaColumns} px`);
    }
    if (!(bi.rangeFactor > 0) || !Number.isFinite(bi.rangeFactor)) throw bad(`bilateral.rangeFactor must be positive, got ${bi.rangeFactor}`);
  }
  const pilot = config.pilot;
  if (pilot) {
    if (!Number.isInteger(pilot.patchRadius) || pilot.patchRadius < 0 || pilot.patchRadius > 10) throw bad(`pilot patch radius must be an integer in 0..10 px, got ${pilot.patchRadius}`);
    if (!Number.isInteger(pilot.searchRadius) || pilot.searchRadius < 1 || pilot.searchRadius > 30) throw bad(`pilot search radius must be an integer in 1..30 px, got ${pilot.searchRadius}`);
    if (!(pilot.h > 0) || !Number.isFinite(pilot.h)) throw bad(`pilot.h must be positive, got ${pilot.h}`);
    if (!(pilot.mix > 0 && pilot.mix <= 1)) throw bad(`pilot.mix must be in (0, 1], got ${pilot.mix}`);
    if (pilot.fromDose !== undefined && !(pilot.fromDose > 0 && pilot.fromDose <= 1)) throw bad(`pilot.fromDose must be in (0, 1], got ${pilot.fromDose}`);
  }
  const wide = config.largeScale;
  if (wide) {
    if (!(wide.sigmaRows > 0 && wide.sigmaColumns > 0) || !Number.isFinite(wide.sigmaRows + wide.sigmaColumns)) {
      throw bad(`largeScale sigma must be positive, got ${wide.sigmaRows} x ${wide.sigmaColumns} px`);
    }
    if (!Number.isInteger(wide.passes) || wide.passes < 1 || wide.passes > 10) throw bad(`largeScale.passes must be an integer in 1..10, got ${wide.passes}`);
  }
  const nonNegative = config.nonNegative;
  if (nonNegative && (!(nonNegative.spreadRows > 0 && nonNegative.spreadColumns > 0) || !Number.isFinite(nonNegative.spreadRows + nonNegative.spreadColumns))) {
    throw bad(`nonNegative spread must be positive, got ${nonNegative.spreadRows} x ${nonNegative.spreadColumns} px`);
  }
}

/** The averaging of step 4' (shared by `lowCount` and `largeRegions`). */
type RegionMeanConfig = Pick<LowCountConfig, 'averageSigmaRows' | 'averageSigmaColumns' | 'interiorSigmaRows' | 'interiorSigmaColumns' | 'passes'>;

function checkRegionMean(region: RegionMeanConfig, name: string, bad: (what: string) => LowdoseError): void {
  if (!(region.averageSigmaRows > 0 && region.averageSigmaColumns > 0) || !Number.isFinite(region.averageSigmaRows + region.averageSigmaColumns)) {
    throw bad(`${name} averaging sigma must be positive, got ${region.averageSigmaRows} x ${region.averageSigmaColumns} px`);
  }
  if (!(region.interiorSigmaRows >= 0 && region.interiorSigmaColumns >= 0) || !Number.isFinite(region.interiorSigmaRows + region.interiorSigmaColumns)) {
    throw bad(`${name} interior sigma must be >= 0, got ${region.interiorSigmaRows} x ${region.interiorSigmaColumns} px`);
  }
  if (!Number.isInteger(region.passes) || region.passes < 1 || region.passes > 100) throw bad(`${name}.passes must be an integer in 1..100, got ${region.passes}`);
}

/** Whether a slice of declared dose `doseLevel` (0 = unknown) gets the low-count step of `config`. */
export function usesLowCount(config: ConsistencyConfig, doseLevel: number): boolean {
  return config.lowCount !== undefined && doseLevel > 0 && doseLevel < config.lowCount.belowDose;
}

/** Whether a slice of declared dose `doseLevel` (0 = unknown) that takes the band step gets the large-region blend. */
export function usesLargeRegions(config: ConsistencyConfig, doseLevel: number): boolean {
  return config.largeRegions !== undefined && !usesLowCount(config, doseLevel) && (!config.largeRegions.onlyUnknownDose || !(doseLevel > 0));
}

/** Whether a slice of declared dose `doseLevel` (0 = unknown) gets the pilot average of `config`. */
export function usesPilot(config: ConsistencyConfig, doseLevel: number): boolean {
  const from = config.pilot?.fromDose;
  return config.pilot !== undefined && (from === undefined || doseLevel <= 0 || doseLevel >= from);
}

/**
 * The estimate pulled toward the measurement where their low bands disagree beyond the noise
 * (module comment). `estimate`, `measurement` and `out` are rows × columns; `out` may be `estimate`.
 * `doseLevel`: the slice's declared dose fraction (0 = unknown), which picks the low-count step.
 */
export function consistencyStep(
  estimate: Float32Array,
  measurement: Float32Array,
  rows: number,
  columns: number,
  config: ConsistencyConfig,
  out: Float32Array = new Float32Array(estimate.length),
  doseLevel = 0,
): Float32Array {
  const n = rows * columns;
  if (estimate.length !== n || measurement.length !== n || out.length !== n) {
    throw new LowdoseError('E_INTERNAL', `consistencyStep: arrays of ${estimate.length}, ${measurement.length}, ${out.length} values for ${rows}x${columns}`);
  }
  checkConsistencyConfig(config);
  if (config.strength === 0) {
    if (out !== estimate) out.set(estimate);
    return out;
  }
  const low = (values: ArrayLike<number>) => gaussianSmooth(values, rows, columns, config.sigmaRows, config.sigmaColumns, TRUNCATE);
  const start = config.bilateral ? smoothEstimate(estimate, rows, columns, config.bilateral) : estimate;
  const residual = new Float32Array(n);
  for (let i = 0; i < n; i++) residual[i] = measurement[i]! - start[i]!;
  const lowCount = config.lowCount && usesLowCount(config, doseLevel) ? config.lowCount : undefined;
  const gain = detectionGain(low(residual), low(start), lowCount?.threshold ?? config.threshold);
  const smoothGain = low(gain);

  const z = Float32Array.from(start);
  if (lowCount) {
    regionMeanCorrection(z, measurement, smoothGain, rows, columns, lowCount);
  } else {
    const iterations = config.iterations ?? DEFAULT_CONSISTENCY_ITERATIONS;
    for (let it = 0; it < iterations; it++) {
      for (let i = 0; i < n; i++) residual[i] = measurement[i]! - z[i]!;
      const r = low(residual);
      for (let i = 0; i < n; i++) z[i]! += smoothGain[i]! * r[i]!;
    }
    if (config.largeRegions && usesLargeRegions(config, doseLevel)) blendLargeRegions(z, start, measurement, smoothGain, rows, columns, config.largeRegions);
    if (config.largeScale) restoreLargeScale(z, measurement, rows, columns, config.largeScale);
  }
  if (config.pilot && usesPilot(config, doseLevel)) {
    let guideBase: Float32Array | undefined;
    if (config.pilot.guide === 'estimate+band') {
      for (let i = 0; i < n; i++) residual[i] = measurement[i]! - z[i]!;
      const band = low(residual);
      guideBase = Float32Array.from(z, (v, i) => v + band[i]!);
    }
    pilotAverage(z, measurement, rows, columns, config.pilot, config.pilot.outsideDetected ? smoothGain : undefined, guideBase);
  }
  const s = config.strength;
  for (let i = 0; i < n; i++) out[i] = estimate[i]! + s * (z[i]! - estimate[i]!);
  if (config.nonNegative) nonNegativeKeepingCounts(out, rows, columns, config.nonNegative);
  return out;
}

/** z += L_S(y − z), `passes` times, in place (module comment, "Large scales"). */
export function restoreLargeScale(z: Float32Array, measurement: Float32Array, rows: number, columns: number, wide: LargeScaleConfig): void {
  const n = z.length;
  const residual = new Float32Array(n);
  for (let pass = 0; pass < wide.passes; pass++) {
    for (let i = 0; i < n; i++) residual[i] = measurement[i]! - z[i]!;
    const low = gaussianSmooth(residual, rows, columns, wide.sigmaRows, wide.sigmaColumns, TRUNCATE);
    for (let i = 0; i < n; i++) z[i]! += low[i]!;
  }
}

/**
 * Values below 0 set to 0, in place, and the counts that adds taken back from the positive pixels
 * around each one in proportion to their value (module comment, "Non-negative"): with
 * z⁺ = max(z, 0) and e = z⁺ − z the counts added, pixel i gives z⁺_i · L(e / L(z⁺))_i, L a
 * normalised Gaussian of `spread`. Each negative pixel j hands its e_j to its neighbours i in the
 * shares L(i − j) z⁺_i / L(z⁺)_j, which sum to one, so the total stays what it was wherever the
 * kernel is not cut by the image's edge; no pixel gives more than it holds (the share is capped
 * at 1, which keeps a few counts where a negative pixel has almost no positive neighbours).
 */
export function nonNegativeKeepingCounts(z: Float32Array, rows: number, columns: number, spread: NonNegativeConfig): void {
  const n = z.length;
  let any = false;
  for (let i = 0; i < n; i++) {
    if (z[i]! < 0) {
      any = true;
      break;
    }
  }
  if (!any) return;
  const L = (values: ArrayLike<number>) => gaussianSmooth(values, rows, columns, spread.spreadRows, spread.spreadColumns, TRUNCATE);
  const positive = Float32Array.from(z, (v) => (v > 0 ? v : 0));
  const around = L(positive);
  const owed = new Float32Array(n);
  for (let i = 0; i < n; i++) if (z[i]! < 0 && around[i]! > 0) owed[i] = -z[i]! / around[i]!;
  const share = L(owed);
  for (let i = 0; i < n; i++) z[i] = positive[i]! * (1 - Math.min(share[i]!, 1));
}

/**
 * The bilateral pre-smoothing (module comment). The filter takes its spatial σ in mm over a
 * PixelSpacing: a spacing of 1/σ per axis with σ = 1 mm gives it σ pixels per axis. An estimate
 * with no measurable noise (flat) comes back unchanged.
 */
function smoothEstimate(estimate: Float32Array, rows: number, columns: number, bilateral: BilateralConfig): Float32Array {
  const image = { rows, columns, pixelSpacing: [1 / bilateral.sigmaRows, 1 / bilateral.sigmaColumns] as [number, number], data: estimate };
  let std: number;
  try {
    std = estimateFilterNoise(image, 'PT').std;
  } catch {
    return estimate;
  }
  if (!(std > 0)) return estimate;
  return bilateralFilter(image, { sigmaSpatialMm: 1, sigmaRange: bilateral.rangeFactor * std }).data;
}

/**
 * Step 4' (module comment), in place on `z`: smooth it inside the detected region (weight `gain`),
 * then `passes` times add gain ⊙ L₂(gain ⊙ (y − z)) / L₂(gain), where L₂(gain) is not negligible.
 */
function regionMeanCorrection(z: Float32Array, measurement: Float32Array, gain: Float32Array, rows: number, columns: number, low: RegionMeanConfig): void {
  const n = z.length;
  if (low.interiorSigmaRows > 0 && low.interiorSigmaColumns > 0) {
    const smooth = gaussianSmooth(z, rows, columns, low.interiorSigmaRows, low.interiorSigmaColumns, TRUNCATE);
    for (let i = 0; i < n; i++) z[i]! += gain[i]! * (smooth[i]! - z[i]!);
  }
  const average = (values: ArrayLike<number>) => gaussianSmooth(values, rows, columns, low.averageSigmaRows, low.averageSigmaColumns, TRUNCATE);
  const norm = average(gain);
  const weighted = new Float32Array(n);
  for (let pass = 0; pass < low.passes; pass++) {
    for (let i = 0; i < n; i++) weighted[i] = gain[i]! * (measurement[i]! - z[i]!);
    const mean = average(weighted);
    // Where the region's weight is negligible so is gain: nothing to move there.
    for (let i = 0; i < n; i++) if (norm[i]! > 1e-6) z[i]! += gain[i]! * (mean[i]! / norm[i]!);
  }
}

/**
 * The large-region blend (module comment), in place on the band step's result `z`: step 4' from
 * `start`, mixed in with weight w from the gain smoothed over the region radius.
 */
function blendLargeRegions(z: Float32Array, start: Float32Array, measurement: Float32Array, gain: Float32Array, rows: number, columns: number, large: LargeRegionConfig): void {
  const size = gaussianSmooth(gain, rows, columns, large.radiusRows, large.radiusColumns, TRUNCATE);
  const region = Float32Array.from(start);
  regionMeanCorrection(region, measurement, gain, rows, columns, large);
  const span = 1 - large.level;
  for (let i = 0; i < z.length; i++) {
    const w = Math.min(1, Math.max(0, (size[i]! - large.level) / span));
    if (w > 0) z[i]! += w * (region[i]! - z[i]!);
  }
}

/**
 * The measured-pixel average (module comment), in place on `z`: z += mix·(P − z), P the guided
 * non-local means of `measurement` with the weights of the variance-stabilised z. A measurement
 * with no measurable noise around z (a + b·z = 0) leaves z alone.
 */
export function pilotAverage(
  z: Float32Array,
  measurement: Float32Array,
  rows: number,
  columns: number,
  pilot: PilotConfig,
  detected?: Float32Array,
  /** The image whose patches give the weights (default: z itself). */
  guideBase: Float32Array = z,
): void {
  const n = z.length;
  const residual = new Float32Array(n);
  for (let i = 0; i < n; i++) residual[i] = measurement[i]! - z[i]!;
  const { a, b } = fitNoiseLevel(residual, z);
  const guide = new Float32Array(n);
  if (b > 0) {
    // Below 0 (CT's air and fat in model units; PET's rare negative pixels) T continues with its
    // slope at 0, so that it stays strictly increasing: clamping there would make air, fat and
    // water-below-0 one value and average them together.
    const t0 = (2 * Math.sqrt(a)) / b;
    const slope0 = 1 / Math.sqrt(Math.max(a, 1e-12 * b * b));
    for (let i = 0; i < n; i++) {
      const m = guideBase[i]!;
      guide[i] = m >= 0 ? (2 * Math.sqrt(a + b * m)) / b : t0 + m * slope0;
    }
  } else if (a > 0) {
    const scale = 1 / Math.sqrt(a);
    for (let i = 0; i < n; i++) guide[i] = guideBase[i]! * scale;
  } else {
    return;
  }
  const average = guidedNlm({ rows, columns, data: guide, pixelSpacing: [1, 1] }, measurement, {
    h: pilot.h,
    noiseStd: 0,
    patchRadius: pilot.patchRadius,
    searchRadius: pilot.searchRadius,
    selfWeight: pilot.selfWeight ?? 'max',
    kernel: pilot.kernel ?? 'exp',
  });
  if (detected) {
    for (let i = 0; i < n; i++) z[i]! += pilot.mix * (1 - Math.min(Math.max(detected[i]!, 0), 1)) * (average[i]! - z[i]!);
    return;
  }
  for (let i = 0; i < n; i++) z[i]! += pilot.mix * (average[i]! - z[i]!);
}

/**
 * g = clamp(|r| / (k σ) − 1, 0, 1) with σ² = a + b·max(μ, 0) fitted to r (`fitNoiseLevel`);
 * k = 0 gives 1 everywhere.
 */
export function detectionGain(lowResidual: Float32Array, localMean: Float32Array, threshold: number): Float32Array {
  const n = lowResidual.length;
  const gain = new Float32Array(n);
  if (threshold === 0) return gain.fill(1);
  const { a, b } = fitNoiseLevel(lowResidual, localMean);
  for (let i = 0; i < n; i++) {
    const r = Math.abs(lowResidual[i]!);
    if (r === 0) continue;
    const sigma = Math.sqrt(a + b * Math.max(localMean[i]!, 0));
    // σ = 0 (no noise at all where the fit is flat zero): any disagreement is real.
    const g = sigma > 0 ? r / (threshold * sigma) - 1 : 1;
    gain[i] = g <= 0 ? 0 : g >= 1 ? 1 : g;
  }
  return gain;
}

/**
 * Least-squares fit of r² = a + b·max(μ, 0) (a, b >= 0), trimmed twice: pixels whose r² exceeds
 * TRIM times the current fit are left out of the next, so biased regions (a few percent of the
 * image) do not inflate the noise estimate. Float64 sums.
 */
export function fitNoiseLevel(lowResidual: Float32Array, localMean: Float32Array): NoiseLevel {
  const n = lowResidual.length;
  if (localMean.length !== n) throw new LowdoseError('E_INTERNAL', `fitNoiseLevel: ${n} residuals, ${localMean.length} means`);
  let level: NoiseLevel | null = null;
  for (let pass = 0; pass < 3; pass++) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let sw = 0;
    let smw = 0;
    for (let i = 0; i < n; i++) {
      const w = lowResidual[i]! * lowResidual[i]!;
      const m = Math.max(localMean[i]!, 0);
      if (level && w > TRIM * (level.a + level.b * m)) continue;
      s0++;
      s1 += m;
      s2 += m * m;
      sw += w;
      smw += m * w;
    }
    if (s0 === 0) break;
    level = solveNonNegative(s0, s1, s2, sw, smw);
  }
  return level ?? { a: 0, b: 0 };
}

/** argmin Σ (w − a − b m)² over a, b >= 0, from the sums n, Σm, Σm², Σw, Σmw. */
function solveNonNegative(n: number, sm: number, smm: number, sw: number, smw: number): NoiseLevel {
  const det = n * smm - sm * sm;
  if (det > 1e-12 * n * smm) {
    const a = (smm * sw - sm * smw) / det;
    const b = (n * smw - sm * sw) / det;
    if (a >= 0 && b >= 0) return { a, b };
  }
  // One of the two on its bound: the better of b = 0 (a = mean w) and a = 0 (b = Σmw / Σm²).
  const aOnly = { a: Math.max(sw / n, 0), b: 0 };
  if (smm <= 0) return aOnly;
  const bOnly = { a: 0, b: Math.max(smw / smm, 0) };
  // Residual sums of squares up to the common Σw² term.
  const rssA = -2 * aOnly.a * sw + n * aOnly.a * aOnly.a;
  const rssB = -2 * bOnly.b * smw + smm * bOnly.b * bOnly.b;
  return rssA <= rssB ? aOnly : bOnly;
}

/**
 * The consistency step as a model card's `sampler.consistency` or the user sets it: the low-pass
 * scale in millimetres, since what averages the noise out and what a lesion measures are physical
 * sizes; `consistencyInPixels` turns it into a ConsistencyConfig for a series' pixel spacing.
 */
export interface ConsistencySettings {
  readonly strength: number;
  /** Standard deviation of the Gaussian low-pass, mm (default 4). */
  readonly scaleMm: number;
  /** k in noise standard deviations of the low-passed residual (default 1). */
  readonly threshold: number;
  readonly iterations?: number;
  /** The region-mean step below a declared dose (module comment); absent: the same step at every dose. */
  readonly lowCount?: LowCountSettings;
  /** The region mean inside large detected regions where the band step runs (module comment); absent: none. */
  readonly largeRegions?: LargeRegionSettings;
  /** Bilateral smoothing of the estimate before the step (module comment); absent: none. */
  readonly bilateral?: BilateralSettings;
  /** The measured-pixel average weighted by the estimate's patches (module comment); absent: none. */
  readonly pilot?: PilotSettings;
  /** The measurement's mean restored at large scales where the band step runs (module comment); absent: none. */
  readonly largeScale?: LargeScaleSettings;
  /** Values below 0 set to 0 keeping the counts (module comment); absent: left as they are. */
  readonly nonNegative?: NonNegativeSettings;
}

/** `ConsistencySettings.largeScale` in millimetres, as a card gives it. */
export interface LargeScaleSettings {
  /** Standard deviation of the Gaussian L_S, mm. */
  readonly scaleMm: number;
  readonly passes: number;
}

/** `ConsistencySettings.nonNegative` in millimetres, as a card gives it. */
export interface NonNegativeSettings {
  /** Standard deviation of the Gaussian over which a negative pixel's counts are taken back, mm. */
  readonly spreadMm: number;
}

/** `ConsistencySettings.largeRegions` in millimetres, as a card gives it. */
export interface LargeRegionSettings {
  /** Standard deviation of the gain's smoothing that measures a region's size, mm. */
  readonly radiusMm: number;
  /** Where the blend starts, [0, 1). */
  readonly level: number;
  readonly averageMm: number;
  readonly interiorMm: number;
  readonly passes: number;
  /** Only without a declared dose (absent: wherever the band step runs). */
  readonly onlyUnknownDose?: boolean;
}

/**
 * `ConsistencySettings.pilot` as a card gives it: `PilotConfig` with the patch and search
 * half-widths in mm (rounded to whole pixels at the mean pixel spacing; the search window at least
 * 1 pixel, at most 30).
 */
export interface PilotSettings extends Omit<PilotConfig, 'patchRadius' | 'searchRadius'> {
  /** Patch half-width, mm. */
  readonly patchMm: number;
  /** Search window half-width, mm. */
  readonly searchMm: number;
}

/** `ConsistencySettings.bilateral` as a card gives it. */
export interface BilateralSettings {
  /** Spatial standard deviation, mm. */
  readonly spatialMm: number;
  /** Range σ in units of the estimate's own noise SD. */
  readonly rangeFactor: number;
}

/** `ConsistencySettings.lowCount` in millimetres, as a card gives it. */
export interface LowCountSettings {
  readonly belowDose: number;
  readonly averageMm: number;
  readonly interiorMm: number;
  readonly passes: number;
  /** k at these doses (absent: the step's threshold). */
  readonly threshold?: number;
}

/**
 * The card field: a strength alone (scale and threshold at their defaults) or the full object, the
 * settings with scaleMm and threshold optional (CONSISTENCY_DEFAULTS).
 */
export type ConsistencyCardField =
  | number
  | (Omit<ConsistencySettings, 'scaleMm' | 'threshold'> & Partial<Pick<ConsistencySettings, 'scaleMm' | 'threshold'>>);

export const CONSISTENCY_DEFAULTS = { scaleMm: 4, threshold: 1 } as const;
/** The pilot average's windows when `--consistency-pilot` turns it on for a card that has none. */
export const PILOT_DEFAULTS = { patchMm: 4, searchMm: 25, mix: 1 } as const;

/**
 * The settings a run uses: the card's `consistency` with `strength` (the `--consistency` option)
 * overriding the card's strength and keeping its scale and threshold. Null when off (strength 0
 * or nothing set). `pilotH` (the `--consistency-pilot` option): 0 removes the card's pilot
 * average, above 0 sets its h (the card's windows, else PILOT_DEFAULTS).
 */
export function resolveConsistency(card: ConsistencyCardField | undefined, strength?: number, pilotH?: number): ConsistencySettings | null {
  const fromCard = card === undefined ? null : typeof card === 'number' ? { strength: card } : card;
  const s = strength ?? fromCard?.strength ?? 0;
  if (!(s >= 0 && s <= 1)) throw new LowdoseError('E_USAGE', `consistency strength must be in [0, 1], got ${s}`);
  if (pilotH !== undefined && !(pilotH >= 0 && pilotH <= 100)) throw new LowdoseError('E_USAGE', `consistency pilot h must be in [0, 100], got ${pilotH}`);
  if (s === 0) {
    if (pilotH !== undefined && pilotH > 0) throw new LowdoseError('E_USAGE', 'the pilot average is part of the consistency step: it needs a consistency strength above 0');
    return null;
  }
  const pilot = pilotH === undefined ? fromCard?.pilot : pilotH === 0 ? undefined : { ...PILOT_DEFAULTS, ...fromCard?.pilot, h: pilotH };
  return {
    strength: s,
    scaleMm: fromCard?.scaleMm ?? CONSISTENCY_DEFAULTS.scaleMm,
    threshold: fromCard?.threshold ?? CONSISTENCY_DEFAULTS.threshold,
    ...(fromCard?.iterations !== undefined ? { iterations: fromCard.iterations } : {}),
    ...(fromCard?.lowCount !== undefined ? { lowCount: fromCard.lowCount } : {}),
    ...(fromCard?.largeRegions !== undefined ? { largeRegions: fromCard.largeRegions } : {}),
    ...(fromCard?.bilateral !== undefined ? { bilateral: fromCard.bilateral } : {}),
    ...(pilot !== undefined ? { pilot } : {}),
    ...(fromCard?.largeScale !== undefined ? { largeScale: fromCard.largeScale } : {}),
    ...(fromCard?.nonNegative !== undefined ? { nonNegative: fromCard.nonNegative } : {}),
  };
}

/** `settings` for an image with DICOM PixelSpacing [row spacing, column spacing] in mm. */
export function consistencyInPixels(settings: ConsistencySettings, pixelSpacing: readonly [number, number]): ConsistencyConfig {
  const [dy, dx] = pixelSpacing;
  if (!(dy > 0 && dx > 0)) throw new LowdoseError('E_USAGE', `consistency needs a positive pixel spacing, got ${dy} x ${dx} mm`);
  const config = {
    strength: settings.strength,
    sigmaRows: settings.scaleMm / dy,
    sigmaColumns: settings.scaleMm / dx,
    threshold: settings.threshold,
    ...(settings.iterations !== undefined ? { iterations: settings.iterations } : {}),
    ...(settings.lowCount
      ? {
          lowCount: {
            belowDose: settings.lowCount.belowDose,
            ...regionMeanInPixels(settings.lowCount, dy, dx),
            ...(settings.lowCount.threshold !== undefined ? { threshold: settings.lowCount.threshold } : {}),
          },
        }
      : {}),
    ...(settings.largeRegions
      ? {
          largeRegions: {
            radiusRows: settings.largeRegions.radiusMm / dy,
            radiusColumns: settings.largeRegions.radiusMm / dx,
            level: settings.largeRegions.level,
            ...regionMeanInPixels(settings.largeRegions, dy, dx),
            ...(settings.largeRegions.onlyUnknownDose !== undefined ? { onlyUnknownDose: settings.largeRegions.onlyUnknownDose } : {}),
          },
        }
      : {}),
    ...(settings.bilateral
      ? { bilateral: { sigmaRows: settings.bilateral.spatialMm / dy, sigmaColumns: settings.bilateral.spatialMm / dx, rangeFactor: settings.bilateral.rangeFactor } }
      : {}),
    ...(settings.pilot ? { pilot: pilotInPixels(settings.pilot, (dy + dx) / 2) } : {}),
    ...(settings.largeScale ? { largeScale: { sigmaRows: settings.largeScale.scaleMm / dy, sigmaColumns: settings.largeScale.scaleMm / dx, passes: settings.largeScale.passes } } : {}),
    ...(settings.nonNegative ? { nonNegative: { spreadRows: settings.nonNegative.spreadMm / dy, spreadColumns: settings.nonNegative.spreadMm / dx } } : {}),
  };
  checkConsistencyConfig(config);
  return config;
}

/** Step 4''s averaging as a card gives it (mm) in pixels for row / column spacings dy / dx. */
function regionMeanInPixels(region: { averageMm: number; interiorMm: number; passes: number }, dy: number, dx: number): RegionMeanConfig {
  return {
    averageSigmaRows: region.averageMm / dy,
    averageSigmaColumns: region.averageMm / dx,
    interiorSigmaRows: region.interiorMm / dy,
    interiorSigmaColumns: region.interiorMm / dx,
    passes: region.passes,
  };
}

/** Square windows in whole pixels at the mean spacing `mm` (the NLM core's windows are square). */
function pilotInPixels(pilot: PilotSettings, mm: number): PilotConfig {
  return {
    patchRadius: Math.min(10, Math.round(pilot.patchMm / mm)),
    searchRadius: Math.min(30, Math.max(1, Math.round(pilot.searchMm / mm))),
    h: pilot.h,
    mix: pilot.mix,
    ...(pilot.selfWeight !== undefined ? { selfWeight: pilot.selfWeight } : {}),
    ...(pilot.fromDose !== undefined ? { fromDose: pilot.fromDose } : {}),
    ...(pilot.kernel !== undefined ? { kernel: pilot.kernel } : {}),
    ...(pilot.outsideDetected !== undefined ? { outsideDetected: pilot.outsideDetected } : {}),
    ...(pilot.guide !== undefined ? { guide: pilot.guide } : {}),
  };
}

/** One line for DerivationDescription and reports. */
export function describeConsistency(settings: ConsistencySettings | null): string {
  if (!settings) return 'consistency off';
  const low = settings.lowCount;
  const lowText = low
    ? `; below dose ${low.belowDose}: region mean ${low.averageMm} mm x ${low.passes}, interior ${low.interiorMm} mm${low.threshold !== undefined ? `, ${low.threshold} sd` : ''}`
    : '';
  const large = settings.largeRegions;
  const largeText = large
    ? `; large regions${large.onlyUnknownDose ? ' (dose unknown)' : ''}: region mean ${large.averageMm} mm x ${large.passes}, interior ${large.interiorMm} mm, weight the detection smoothed ${large.radiusMm} mm above ${large.level}`
    : '';
  const bi = settings.bilateral;
  const biText = bi ? `; estimate smoothed first: bilateral ${bi.spatialMm} mm, range ${bi.rangeFactor} x its noise SD` : '';
  const pi = settings.pilot;
  const piText = pi
    ? `; then${pi.fromDose !== undefined ? ` from dose ${pi.fromDose}` : ''} ${pi.mix === 1 ? '' : `${pi.mix} x `}the measurement averaged with the estimate's patch weights: ` +
      `patch ${pi.patchMm} mm, search ${pi.searchMm} mm, h ${pi.h} sd${pi.selfWeight === 'one' ? ', centre weight 1' : ''}`
    : '';
  const wide = settings.largeScale;
  const wideText = wide ? `; where the band step runs, the mean restored from ${wide.scaleMm} mm up${wide.passes === 1 ? '' : ` x ${wide.passes}`}` : '';
  const nonNegative = settings.nonNegative;
  const nonNegativeText = nonNegative ? `; values below 0 set to 0, their counts taken from within ${nonNegative.spreadMm} mm` : '';
  return `consistency ${settings.strength} (${settings.scaleMm} mm, ${settings.threshold} sd${lowText}${largeText}${biText}${piText}${wideText}${nonNegativeText})`;
}

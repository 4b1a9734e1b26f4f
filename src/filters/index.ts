/**
 * Classical denoisers, the baselines that `lowdose denoise --method gaussian|bilateral|nlm` runs
 * and the model card compares against. Pure functions over Image2D in modality units. See
 * docs/filters.md.
 */
export { classicalDenoise, CLASSICAL_DEFAULTS, CLASSICAL_METHODS, describeClassical } from './denoise.js';
export type { ClassicalDefaults, ClassicalDenoiseParams, ClassicalDenoiseResult, ClassicalMethod, ClassicalSettings } from './denoise.js';
export { gaussianFilter, gaussianSmooth, GAUSSIAN_TRUNCATE } from './gaussian.js';
export type { GaussianOptions } from './gaussian.js';
export { bilateralFilter, BILATERAL_TRUNCATE } from './bilateral.js';
export type { BilateralOptions } from './bilateral.js';
export { guidedNlm, nlmFilter, NLM_PATCH_RADIUS, NLM_SEARCH_RADIUS } from './nlm.js';
export type { NlmOptions } from './nlm.js';
export { smoothLowBand, resolveLowBand, describeLowBand, LOW_BAND_FILTERS, LOW_BAND_DEFAULT_FACTOR, LOW_BAND_MAX_STRENGTH } from './low-band.js';
export type { LowBandFilter, LowBandOptions, LowBandResult, LowBandSettings } from './low-band.js';
export { estimateFilterNoise, estimateSeriesNoise } from './noise.js';
export { defaultSpatialSigmaMm, filterWidthWarning, MIN_NEIGHBOUR_WEIGHT } from './width-warning.js';
export type { FilterWidthWarning } from './width-warning.js';
export type { FilterModality, NoiseLevel } from './noise.js';
export { tuneBilateralRange, tuneGaussianSigma, tuneInRanges, tuneNlmH, tuneParameter } from './tune.js';
export type { RegionWindow, TunableParameter, TuningOptions, TuningPair, TuningResult, TuningScore } from './tune.js';

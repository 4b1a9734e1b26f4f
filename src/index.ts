/**
 * lowdose's public API: what `import { ... } from 'lowdose'` gives. Everything exported here is the
 * library and follows semver; anything else under src/ is internal and may change without notice.
 * docs/api.md documents it with a runnable example.
 *
 * Grouped along the data path: errors and image types, DICOM in and out, models and devices, the
 * diffusion reverse process, classical filters, the pipelines the CLI runs (info, denoise,
 * simulate, metrics, phantom, QA), then the building blocks of simulation, phantoms and metrics.
 */

// Errors: one error type with stable codes (docs/contract.md lists them), and the CLI's exit codes.
export { ERROR_CODES, LowdoseError, isErrorCode, isLowdoseError, toLowdoseError, type ErrorCode } from './errors.js';
export { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './exit-codes.js';

// The named choices of a denoise run, one list each (types derived from them).
export {
  CLASSICAL_METHODS,
  DENOISE_METHODS,
  DEVICE_REQUESTS,
  DEVICES,
  SAMPLER_NAMES,
  TEXTURES,
  type ClassicalMethod,
  type DenoiseMethod,
  type Device,
  type DeviceRequest,
  type SamplerName,
  type Texture,
} from './choices.js';

// In-memory images: row-major Float32Array in modality units with size and spacing.
export { sliceOf, type Image2D, type PetDoseInfo, type Volume } from './image.js';
export { DEFAULT_PADDING_FILL, fillPadding, nonFinitePadding, restorePadding, type PaddingFill } from './padding.js';

// DICOM in: find files, group them into series, read slices in modality units (HU, SUVbw, Bq/ml).
export {
  applyModalityLut,
  buildSeries,
  clearSliceCache,
  findFiles,
  KNOWN_TRANSFER_SYNTAXES,
  modalityUnits,
  outOfFieldMask,
  paddingMask,
  readSlice,
  readSliceImage,
  readSlicePixels,
  scanPaths,
  suvbwFactors,
  type Orientation,
  type PetFrameRef,
  type PetFrameTiming,
  type PetGateTiming,
  type ScanOptions,
  type ScanResult,
  type Series,
  type SkippedFile,
  type SliceRef,
  type SlicePixels,
  type SuvOutcome,
  type TransferSyntax,
  type Units,
  type Vec3,
} from './dicom/index.js';
// DICOM out: a volume as a new series, or a derived series of an existing one.
export { writeVolumeSeries, type VolumeSeriesOptions, type WrittenSeries } from './dicom/write-volume.js';
export { createDerivedSeriesWriter, type DerivedSeriesOptions, type DerivedSeriesWriter } from './dicom/write-derived.js';
export type { ProcessingEquipment } from './dicom/contributing-equipment.js';

// Models: cards and ONNX graphs in a models folder, loaded on a device.
export {
  DEFAULT_MODELS,
  defaultModelsDir,
  Denoiser,
  denoiseSlices,
  modelSearchPath,
  resolveUncertainty,
  textureSettings,
  type DenoiseCall,
  type DenoiserLoadOptions,
  type DenoiserOptions,
  type DenoiserResult,
  type DenoiserSettings,
  type DenoiseSlicesOptions,
  type DenoiseSlicesResult,
  type ResolvedUncertainty,
  type SettingsWarning,
  type SliceInput,
  type SliceShape,
  type TextureReport,
  findInstalledModel,
  installedModels,
  listModelNames,
  loadModel,
  LoadedModel,
  MODEL_CARD_FORMAT,
  normalizationFor,
  parseModelCard,
  readModelCard,
  resolveModelFiles,
  type InstalledModel,
  type LoadModelOptions,
  type Modality,
  type ModelCard,
  type ModelFiles,
  type ResolvedModel,
} from './models/index.js';
export { AUTO_ORDER, expectedDevice, formatDeviceReport, isDeviceRequest, listBackends, type DeviceReport, type DeviceSkip } from './runtime/index.js';

// The reverse process: samplers (one interface, diffusers-style), schedules, the sampling loop.
export {
  CONSISTENCY_DEFAULTS,
  createSampler,
  DdimSampler,
  DdpmSampler,
  DEFAULT_WARM_START_STRENGTH,
  denoiseBatch,
  denoiseBatchInto,
  describeConsistency,
  fromModelSpace,
  GuidedModel,
  makeBetas,
  NoiseSchedule,
  PREDICTION_TYPES,
  resolveConsistency,
  RESSHIFT_DEFAULTS,
  ResShiftSampler,
  restoreTexture,
  SCHEDULE_DEFAULTS,
  TEXTURE_METHODS,
  textureWeight,
  transferAtDose,
  spacedTimesteps,
  TiledModel,
  TIMESTEP_SPACINGS,
  toModelSpace,
  WarmStartSampler,
  type BetaScheduleConfig,
  type BetaScheduleKind,
  type ConsistencySettings,
  type DdimOptions,
  type NoiseTransferTable,
  type TextureMethod,
  type DdpmOptions,
  type DenoiseBatchOptions,
  type DenoiseBatchResult,
  type DenoiseTiming,
  type DiffusionModel,
  type ForwardStats,
  type ModelBatch,
  type NoiseSource,
  type Normalization,
  type PredictionType,
  type ResShiftOptions,
  type ResShiftScheduleConfig,
  type Sampler,
  type SamplerChoice,
  type SamplerSettings,
  type ScheduleConfig,
  type StepInfo,
  type StepOutput,
  type TileSpec,
  type TimestepSpacing,
  type WarmStartOptions,
} from './diffusion/index.js';

// Classical baselines (Gaussian, bilateral, NLM) and their tuning.
export * from './filters/index.js';

// Pipelines: what the CLI commands run, callable with the same options.
export { runInfo, type InfoOptions, type InfoResult, type InfoSeries, type SliceStats } from './pipeline/info.js';
export { denoisePaths, outputFolderName, REPORT_FILE } from './pipeline/denoise.js';
export { createSliceDenoiser, type SliceBatchResult, type SliceDenoiser } from './pipeline/slice-denoiser.js';
export type { DenoiseOptions, DenoiseProgress, DenoiseReport, SeriesMetrics, SeriesReport } from './pipeline/types.js';
export { runSimulate, type CtMode, type SimulatedSeries, type SimulateOptions, type SimulateResult } from './pipeline/simulate.js';
export { runMetrics, type LesionReading, type LesionResult, type MetricsNoiseOptions, type MetricsNoiseReport, type MetricsOptions, type MetricsRegion, type MetricsResult } from './pipeline/metrics.js';
export { parseLesions, readLesionsFile } from './pipeline/lesions-file.js';
export { runPhantom, type PhantomSeriesOptions, type PhantomSeriesResult } from './pipeline/phantom.js';
export { runDemo, type DemoOptions, type DemoResult, type DemoRow } from './pipeline/demo.js';

// QA: the phantom-fixture gate.
export {
  CHECK_FAMILIES,
  DEFAULT_CONFIG_PATH,
  DEFAULT_DOSES,
  DEFAULT_FIXTURES_DIR,
  jsonResult as qaJsonResult,
  loadQaConfig,
  parseConfigObject as parseQaConfig,
  runQa,
  type QaCheck,
  type QaConfig,
  type QaDenoiseSettings,
  type QaOptions,
  type QaResult,
} from './qa/index.js';

// Low-dose simulation building blocks (CT projection-domain noise, PET counts + OSEM).
export {
  calibrateCtI0,
  CT_DEFAULTS,
  estimateCtI0,
  estimateVolumeCtI0,
  expectedCtFromTruth,
  expectedNoiseStd,
  huToMu,
  insertCtNoise,
  KERNEL_PRESETS,
  muToHu,
  PET_DEFAULTS,
  resolveKernel,
  scannerKernel,
  simulateCtFromTruth,
  simulatePet,
  simulateVolume,
  type BowtieKind,
  type CtSimulationOptions,
  type CtTruthResult,
  type KernelPreset,
  type KernelSpec,
  type PetSimulationOptions,
  type PetSimulationResult,
  type VolumeSimulationOptions,
  type VolumeSimulationResult,
} from './simulate/index.js';

// Phantoms: generators by name, in memory (generatePhantom) or as DICOM (runPhantom above).
export * from './phantoms/index.js';

// Image-quality metrics: pure functions over images in modality units.
export * from './metrics/index.js';

/**
 * Low-dose simulation: reduced-dose CT (fan-beam projection, Poisson + electronic noise, FBP) and
 * reduced-count PET (attenuated projection, Poisson counts, OSEM), slice by slice or for whole
 * volumes on worker threads. See docs/simulation.md.
 */
export { MU_WATER_CT_PER_MM, MU_WATER_PET_PER_MM, huToMu, muToHu } from './attenuation.js';
export { BOWTIE_KINDS, BOWTIE_SHAPES, bowtieTransmission, resolveBowtie } from './bowtie.js';
export type { BowtieKind, BowtieShape, BowtieSpec } from './bowtie.js';
export { MAX_TCM_STRENGTH, tubeCurrentModulation } from './tcm.js';
export { calibrateCtI0, estimateCtI0, estimateVolumeCtI0 } from './calibrate.js';
export type { CircleRoi, CtI0Estimate } from './calibrate.js';
export {
  CT_DEFAULTS,
  CT_PADDING_BELOW_HU,
  ctInsertionNoise,
  ctReconstructionRadius,
  expectedCtFromTruth,
  insertCtNoise,
  simulateCtFromTruth,
} from './ct.js';
export type { CtSimulationOptions, CtTruthResult } from './ct.js';
export {
  DEFAULT_FAN_BEAM,
  isocenterRaySpacing,
  resolveFanBeam,
  scanFieldRadius,
} from './ct-geometry.js';
export type { FanBeamGeometry } from './ct-geometry.js';
export { projectFanBeam } from './fan-projector.js';
export { reconstructFanBeam } from './fbp.js';
export { convertCtKernel, kernelConversionGain } from './kernel-conversion.js';
export type { KernelConversionOptions } from './kernel-conversion.js';
export { DEFAULT_BUTTERWORTH_ORDER, DEFAULT_KERNEL, FILTER_WINDOWS, KERNEL_PRESETS, describeKernel, resolveKernel, windowGain } from './filters.js';
export { MAYO_QUARTER_DOSE, scannerKernel, scannerKernelPreset } from './scanner-kernels.js';
export type { ScannerKernelMatch } from './scanner-kernels.js';
export type { FilterWindow, KernelPreset, KernelSpec, ReconKernel } from './filters.js';
export { bodyOutline, bodyOutlineMuMap } from './mu-map.js';
export { expectedNoiseStd, fullDoseNoiseStd } from './noise-scaling.js';
export { PET_DEFAULTS, petNormalisation, simulatePet } from './pet.js';
export type { PetSimulationOptions, PetSimulationResult } from './pet.js';
export { SimulationPool, defaultWorkerCount, simulateVolume } from './pool.js';
export type { VolumeSimulationOptions, VolumeSimulationResult } from './pool.js';
export { runSliceJob } from './slice-job.js';
export type { SliceInput, SliceJob, SliceOutput } from './slice-job.js';

/**
 * What `lowdose simulate` does: writes a simulated reduced-dose copy of every CT and PET series
 * found (docs/contract.md). CT defaults to noise insertion (the input is a real normal-dose
 * scan); mode `truth` treats the input as noise-free truth (a phantom) and scans it. PET is always
 * re-simulated from the image (counts drawn at the fraction, OSEM). The same seed gives the same
 * noise. The physics is src/simulate; this module plans each series, runs its slices through the
 * worker pool and writes the results as DICOM.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { LowdoseError, toLowdoseError } from '../errors.js';
import { stopReason } from './run-stopped.js';
import {
  clearSliceCache,
  readInstanceHeader,
  readSlicePixels,
  scanPaths,
  type Series,
} from '../dicom/index.js';
import { completionMarkerVersion, type ProcessingEquipment } from '../dicom/contributing-equipment.js';
import { createDerivedSeriesWriter, severalSeries, type DerivedSeriesWriter } from '../dicom/write-derived.js';
import { EXIT_USAGE, exitCodeForRun } from '../exit-codes.js';
import type { Image2D } from '../image.js';
import { acquireFolderLocks, assertAllHeld, releaseAll } from '../util/folder-lock.js';
import { removeTemporaries } from '../util/fs.js';
import { medianOf } from '../util/select.js';
import {
  BOWTIE_KINDS,
  CT_DEFAULTS,
  DEFAULT_KERNEL,
  PET_DEFAULTS,
  estimateCtI0,
  MAX_TCM_STRENGTH,
  resolveBowtie,
  SimulationPool,
  defaultWorkerCount,
  describeKernel,
  resolveKernel,
  scannerKernel,
  scannerKernelPreset,
  type BowtieKind,
  type KernelSpec,
  type SliceJob,
} from '../simulate/index.js';
import { packageVersion } from '../util/package-root.js';
import { frameMarker, reportedInput, seriesOutputNames, type ReportedInput, type SeriesOutputNames } from './frame-output.js';
import { scalarText } from '../util/text.js';
import { ignoredOptionWarnings } from './simulate-option-scope.js';
import { framesNoLongerInAcquisition, replaceEarlierSeriesFiles, type SeriesFiles } from './earlier-series-files.js';
import { writeSimulationMarkers } from './simulation-marker.js';
import { CodeSample, LISTED_PER_CODE } from '../util/code-sample.js';
import { ErrorListFile } from '../util/error-list-file.js';

export type CtMode = 'insert' | 'truth';

export interface SimulateOptions {
  /**
   * Stops the run (SIGINT / SIGTERM, src/cli/stop-on-signal.ts): the series being simulated stops
   * once the slices in the pool are written, its files are removed and it is an E_CANCELLED error;
   * the series not started are E_CANCELLED errors as not run.
   */
  readonly signal?: AbortSignal;
  readonly dose: number;
  readonly outDir: string;
  readonly seed?: number;
  /** CT: `insert` (default, real normal-dose input) or `truth` (noise-free phantom input). */
  readonly mode?: CtMode;
  /**
   * CT reconstruction kernel of the simulated FBP, or 'auto' (the default): the preset that matches
   * the series' ConvolutionKernel (scannerKernel: fitted for Siemens B30f / D45f, by family for
   * others), `standard` when the kernel is unknown or not recognised.
   */
  readonly kernel?: KernelSpec | 'auto';
  readonly cutoff?: number;
  /**
   * CT incident photons at full dose, or 'auto' (the default for noise insertion): calibrated per
   * series so the model's full-dose noise equals the images' own (estimateCtI0).
   */
  readonly i0?: number | 'auto';
  readonly electronicNoise?: number;
  readonly bowtie?: BowtieKind;
  /** CT bowtie strength replacing the named bowtie's (0..1; see src/simulate/bowtie.ts). */
  readonly bowtieStrength?: number;
  /** CT angular tube-current modulation strength (0 constant current .. 1; see src/simulate/tcm.ts). */
  readonly tcm?: number;
  /** PET OSEM settings and post-filter. */
  readonly iterations?: number;
  readonly subsets?: number;
  readonly postFilterMm?: number;
  /** Also write the matched full-dose reconstruction (CT truth mode and PET). */
  readonly withReference?: boolean;
  readonly workers?: number;
  readonly overwrite?: boolean;
  /** Wait for another run writing one of the output series folders (default: fail with E_LOCKED). */
  readonly waitLock?: boolean;
  readonly progress?: (message: string) => void;
}

interface WrittenRef {
  seriesInstanceUid: string;
  /** Every series written, when several (an addition): one per radiopharmaceutical of a multi-frame PET source. */
  seriesInstanceUids?: readonly string[];
  dir: string;
  files: string[];
}

export interface SimulatedSeries {
  /**
   * `petFrame`: the input is one frame of a dynamic or gated PET acquisition (as in `denoise`'s
   * report): its files join the other frames' in one simulated series (`output.seriesInstanceUid`
   * and `output.dir` shared), named `<tag>-IM0001.dcm`, ... (`<tag>-REF0001.dcm` for the reference).
   */
  input: ReportedInput;
  output: WrittenRef;
  /** The matched full-dose reconstruction, when written. */
  reference?: WrittenRef;
  modality: 'CT' | 'PT';
  mode: 'ct-insert' | 'ct-truth' | 'pet';
  dose: number;
  seed: number;
  settings: Record<string, unknown>;
  msPerSlice: number;
  /** Things that did not stop the simulation but weaken it (e.g. a failed noise calibration). */
  warnings: string[];
}

export interface SimulateResult {
  series: SimulatedSeries[];
  /** Every series error, and of the files that could not be read at most LISTED_PER_CODE of each code (src/util/code-sample.ts). */
  errors: Array<{ path: string | null; code: string; message: string }>;
  /** Every error, listed in `errors` or not. */
  errorCount: number;
  /** `errorCount` by code. */
  errorsByCode: Record<string, number>;
  /**
   * The whole list of the files the scan could not read, in the output folder (unreadable.tsv,
   * src/util/error-list-file.ts); absent when there was none or nothing was simulated.
   */
  errorsFile?: string;
  /** Series of other modalities, not simulated. */
  skipped: Array<{ key: string; modality: string; message: string }>;
}

/** What a series becomes: its job and how to read and write its pixels. */
interface SeriesPlan {
  readonly job: SliceJob;
  readonly settings: Record<string, unknown>;
  /** CT insertion with --i0 auto: each slice's own full-dose photon count (tube current modulation). */
  readonly i0PerSlice?: Float64Array;
}

/**
 * Calibrated slices are at most this far apart (mm). Clinical scans modulate the tube current
 * along z (Siemens CARE Dose4D, GE AutomA): on the AAPM-Mayo series XRayTubeCurrent runs from 204
 * to 643 mA within one series, and one photon count per series gave single slices 0.55x to 2x the
 * real quarter-dose noise (docs/simulation.md). Tube current changes over centimetres, so a
 * calibration every 15 mm, interpolated between, follows it. Each costs about one insertion.
 */
const CALIBRATION_SPACING_MM = 15;

/** Slices whose noise calibrates the photon count: the first, the last, and every 15 mm between. */
export function calibrationSlices(series: Pick<Series, 'slices' | 'spacing'>): number[] {
  const n = series.slices.length;
  const z = sliceZ(series);
  const picks = [0];
  for (let k = 1; k < n - 1; k++) if (Math.abs(z[k]! - z[picks[picks.length - 1]!]!) >= CALIBRATION_SPACING_MM) picks.push(k);
  if (n > 1) picks.push(n - 1);
  return picks;
}

/** Each slice's position along the series (mm): its location, or its index times the spacing. */
export function sliceZ(series: Pick<Series, 'slices' | 'spacing'>): number[] {
  const step = series.spacing[2] > 0 ? series.spacing[2] : 1;
  return series.slices.map((s, k) => s.location ?? k * step);
}

/** i0 of every slice: linear in z between calibrated slices, constant beyond the end ones. */
export function i0Profile(z: readonly number[], calibrated: ReadonlyArray<{ index: number; i0: number }>): Float64Array {
  const out = new Float64Array(z.length);
  const points = [...calibrated].sort((a, b) => z[a.index]! - z[b.index]!);
  for (let k = 0; k < z.length; k++) {
    const zk = z[k]!;
    let hi = points.findIndex((p) => z[p.index]! >= zk);
    if (hi < 0) hi = points.length - 1;
    const lo = Math.max(0, hi > 0 && z[points[hi]!.index]! > zk ? hi - 1 : hi);
    const a = points[lo]!;
    const b = points[hi]!;
    const za = z[a.index]!;
    const zb = z[b.index]!;
    const t = zb === za ? 0 : Math.min(1, Math.max(0, (zk - za) / (zb - za)));
    out[k] = a.i0 + t * (b.i0 - a.i0);
  }
  return out;
}

async function readImage(series: Series, index: number): Promise<Image2D> {
  const { data, rows, columns } = await readSlicePixels(series.slices[index]!, series.units);
  return { rows, columns, data, pixelSpacing: [series.spacing[0], series.spacing[1]] };
}

async function planCt(series: Series, options: SimulateOptions, seed: number, warnings: string[]): Promise<SeriesPlan> {
  if (series.units !== 'HU') throw new LowdoseError('E_UNSUPPORTED_PIXELS', `CT series ${series.key} is in ${series.units}, not HU`);
  const mode = options.mode ?? 'insert';
  const bowtie = options.bowtie ?? CT_DEFAULTS.bowtie;
  const electronicNoise = options.electronicNoise ?? CT_DEFAULTS.electronicNoise;
  const bowtieStrength = options.bowtieStrength ?? resolveBowtie(bowtie)?.strength ?? 0;
  const tcm = options.tcm ?? CT_DEFAULTS.tcm;
  const { spec, source } = seriesKernel(series, options.kernel, options.cutoff, mode === 'insert' ? warnings : []);
  const kernel = resolveKernel(spec, options.cutoff);
  const settings: Record<string, unknown> = { mode, kernel: describeKernel(kernel), kernelSource: source, electronicNoise, bowtie, bowtieStrength, tcm };
  let i0: number;
  let i0PerSlice: Float64Array | undefined;
  const requested = options.i0 ?? (mode === 'insert' ? 'auto' : CT_DEFAULTS.i0);
  if (requested !== 'auto') {
    i0 = requested;
  } else if (mode === 'truth') {
    throw new LowdoseError('E_USAGE', '--i0 auto needs real (noisy) images: give a number with --mode truth');
  } else {
    // The slices' own noise sets the photon count, slice by slice along z (tube current modulation).
    const calibrated: Array<{ index: number; i0: number }> = [];
    const noise: number[] = [];
    for (const index of calibrationSlices(series)) {
      try {
        const e = estimateCtI0(await readImage(series, index), { seed, kernel, bowtie, bowtieStrength, tcm, sliceIndex: index });
        calibrated.push({ index, i0: e.i0 });
        noise.push(e.imageNoise);
      } catch (error) {
        warnings.push(`slice ${index}: ${toLowdoseError(error).message}`);
      }
    }
    if (calibrated.length === 0) {
      i0 = CT_DEFAULTS.i0;
      warnings.push(`noise calibration failed; using i0 ${CT_DEFAULTS.i0}, so the added noise may not match this scan`);
    } else {
      i0PerSlice = i0Profile(sliceZ(series), calibrated);
      i0 = medianOf(Array.from(i0PerSlice));
      settings.measuredNoiseHu = Math.round(medianOf(noise) * 100) / 100;
      settings.i0Range = [Math.round(Math.min(...i0PerSlice)), Math.round(Math.max(...i0PerSlice))];
      settings.i0CalibratedSlices = calibrated.length;
    }
    settings.i0Calibrated = calibrated.length > 0;
  }
  // With a per-slice profile, i0 is its median (each slice gets its own, see i0Range).
  settings.i0 = Math.round(i0);
  const common = { dose: options.dose, seed, kernel, i0, electronicNoise, bowtie, bowtieStrength, tcm };
  const job: SliceJob =
    mode === 'truth'
      ? { kind: 'ct-truth', options: { ...common, fullDose: Boolean(options.withReference) } }
      : { kind: 'ct-insert', options: common };
  return { job, settings, ...(i0PerSlice ? { i0PerSlice } : {}) };
}

/**
 * Whether a requested kernel (after `--cutoff`) is the filter `auto` picks for a series of this
 * ConvolutionKernel: then it gives the same pixels, so it is the auto run (its folder name,
 * settings, DerivationDescription and UIDs), as a default given explicitly is.
 */
function isAutoKernel(requested: KernelSpec | 'auto' | undefined, convolutionKernel: string | null | undefined, cutoff: number | undefined): boolean {
  if (requested === undefined || requested === 'auto') return true;
  const auto = scannerKernelPreset(convolutionKernel);
  return describeKernel(resolveKernel(requested, cutoff)) === describeKernel(resolveKernel(auto, cutoff));
}

/**
 * The kernel to simulate with and why: the one asked for, or with 'auto' (or a kernel that resolves
 * to the same filter: isAutoKernel) the preset matching the series' ConvolutionKernel (`standard`
 * when it is not recognised, with a warning for noise insertion under 'auto', whose noise should
 * look like the scan's; a noise-free phantom has no kernel to match, and a kernel asked for by
 * name was chosen).
 */
function seriesKernel(series: Series, requested: KernelSpec | 'auto' | undefined, cutoff: number | undefined, warnings: string[]): { spec: KernelSpec; source: string } {
  const named = requested !== undefined && requested !== 'auto';
  if (named && !isAutoKernel(requested, series.convolutionKernel, cutoff)) return { spec: requested, source: 'requested' };
  const match = scannerKernel(series.convolutionKernel);
  if (match) {
    const how = match.basis === 'fitted' ? 'fitted to real low-dose noise of this kernel' : 'same kernel family';
    return { spec: match.preset, source: `ConvolutionKernel ${match.convolutionKernel}: ${match.preset} (${how})` };
  }
  const stored = series.convolutionKernel ? `ConvolutionKernel "${series.convolutionKernel}" is not one the simulator knows` : 'no ConvolutionKernel';
  if (!named) warnings.push(`${stored}; simulating with the standard kernel, so the noise texture may not match this scan (choose --kernel)`);
  return { spec: DEFAULT_KERNEL, source: `${stored}: standard` };
}

function planPet(series: Series, options: SimulateOptions, seed: number, frameDurationS: number | null): SeriesPlan {
  // The simulator works in Bq/ml; SUVbw series are converted with each slice's own factor.
  if (series.units !== 'BQML' && series.units !== 'SUVbw') {
    throw new LowdoseError('E_UNSUPPORTED_PIXELS', `PET series ${series.key} is in ${series.units}; simulation needs activity (Bq/ml)`);
  }
  const pet = {
    countsFraction: options.dose,
    seed,
    sliceThicknessMm: series.spacing[2],
    frameDurationS: frameDurationS ?? PET_DEFAULTS.frameDurationS,
    iterations: options.iterations ?? PET_DEFAULTS.iterations,
    subsets: options.subsets ?? PET_DEFAULTS.subsets,
    postFilterFwhmMm: options.postFilterMm ?? PET_DEFAULTS.postFilterFwhmMm,
    fullDose: Boolean(options.withReference),
    // A frame of a dynamic / gated acquisition draws its own events (src/simulate/pet.ts).
    ...(series.petFrame ? { frame: series.petFrame.frame } : {}),
  };
  return {
    job: { kind: 'pet', options: pet },
    settings: {
      frameDurationS: pet.frameDurationS,
      sliceThicknessMm: pet.sliceThicknessMm,
      osem: `${pet.iterations} iterations x ${pet.subsets} subsets`,
      postFilterFwhmMm: pet.postFilterFwhmMm,
      attenuation: 'body outline, water',
    },
  };
}

function describeJob(job: SliceJob, settings: Record<string, unknown>): string {
  const dose = job.kind === 'pet' ? job.options.countsFraction : job.options.dose;
  const parts = Object.entries(settings).map(([k, v]) => `${k} ${scalarText(v)}`);
  const what = job.kind === 'ct-insert' ? 'CT noise insertion' : job.kind === 'ct-truth' ? 'CT scan of noise-free input' : 'PET re-simulation (OSEM)';
  return `lowdose simulate: ${what}, dose ${dose}, seed ${job.options.seed}, ${parts.join(', ')}`.slice(0, 1024);
}

/**
 * A series' output folder: named for its key, or for a frame of a dynamic or gated PET acquisition
 * for the acquisition's key, so that its frames are one simulated series in one folder, as the
 * source was (./frame-output.ts).
 */
function seriesDir(outDir: string, series: Series, suffix = ''): string {
  const key = series.petFrame?.acquisitionKey ?? series.key;
  return path.join(outDir, `${series.modality}_${key.replace(/[^0-9A-Za-z.]+/g, '_')}${suffix}`);
}

/**
 * What the series' files, lock, leftover temporaries and completion marker (`.lowdose-simulated.json`,
 * ./simulation-marker.ts) are called in its folder (a frame shares the folder).
 */
function outputNames(series: Series, dir: string): SeriesOutputNames {
  return seriesOutputNames(series, path.basename(dir), 'simulate');
}

/**
 * The series files a series' simulation writes: its folders with their files' prefixes (`IM`,
 * `REF`, `t01-IM`) and its completion marker; for a frame of a dynamic or gated PET acquisition
 * also the files of frames an earlier run wrote that the acquisition no longer has (`t04` of 3 time
 * points now): a run over the whole acquisition or some of its frames replaces those with the
 * acquisition's series, and leaves the frames it has but this run does not write alone.
 */
async function seriesOutputs(series: Series, options: SimulateOptions): Promise<SeriesFiles[]> {
  const dirs = outputDirs(series, options);
  const names = outputNames(series, dirs.dose);
  const own: SeriesFiles[] = [
    { dir: dirs.dose, prefix: names.filePrefix, marker: names.marker },
    ...(dirs.reference ? [{ dir: dirs.reference, prefix: names.prefix('REF'), marker: names.marker }] : []),
  ];
  const ref = series.petFrame;
  if (!ref) return own;
  const simulated = (tag: string) => frameMarker(tag, 'simulate');
  const gone = [
    ...(await framesNoLongerInAcquisition(dirs.dose, ref, 'IM', simulated)),
    ...(dirs.reference ? await framesNoLongerInAcquisition(dirs.reference, ref, 'REF', simulated) : []),
  ];
  return [...own, ...gone];
}

/**
 * The folders a series' simulation writes: the reduced-dose copy and, when asked for, the matched
 * full-dose reconstruction (drawn from the same photons, so it depends on the dose and seed too).
 * Their names carry the CT mode, the dose, the seed and every other setting that changes this
 * modality's pixels and is not its default (runSettingsName), so runs with other settings into one
 * `-o` sit side by side; the same settings again find their own folders (E_EXISTS / --overwrite).
 */
function outputDirs(series: Series, options: SimulateOptions): { dose: string; reference: string | null } {
  const percent = `${Math.round(options.dose * 1000) / 10}%`;
  const mode = options.mode ?? 'insert';
  // CT noise insertion has no reconstruction of its own to write.
  const reconstructs = series.modality === 'PT' || mode === 'truth';
  const run = `${series.modality === 'CT' ? `_${mode}` : ''}_dose${percent.replace('%', 'pct')}_seed${options.seed ?? 0}${runSettingsName(series.modality, options, series.convolutionKernel)}`;
  return {
    dose: seriesDir(options.outDir, series, run),
    reference: options.withReference && reconstructs ? seriesDir(options.outDir, series, `${run}_fulldose`) : null,
  };
}

/**
 * The part of an output folder's name for the settings other than mode, dose and seed that change
 * the simulated pixels of this modality: `_<setting>-<value>` for each one given and not its
 * default (CT: kernel, cutoff, i0, electronic noise, bowtie, bowtie strength, tcm; PET: OSEM
 * iterations and subsets, post-filter), empty for a default run. The kernel's default is the one
 * `auto` picks for the series' ConvolutionKernel (`standard` for none): a kernel and cutoff that
 * resolve to it name nothing, a cutoff its kernel's own cutoff names nothing. Settings of the
 * other modality, `--workers` and `--with-reference` change nothing in the series, so they are
 * not named.
 */
export function runSettingsName(modality: string, options: SimulateOptions, convolutionKernel?: string | null): string {
  const parts: Array<[string, string | number | undefined]> = [];
  const isDefault = (value: unknown, fallback: unknown) => value === undefined || value === fallback;
  if (modality === 'CT') {
    const mode = options.mode ?? 'insert';
    const bowtie = options.bowtie ?? CT_DEFAULTS.bowtie;
    const kernel = options.kernel;
    const auto = describeKernel(resolveKernel(scannerKernelPreset(convolutionKernel)));
    const chosen = kernel === undefined || kernel === 'auto' ? scannerKernelPreset(convolutionKernel) : kernel;
    if (describeKernel(resolveKernel(chosen, options.cutoff)) !== auto) {
      if (describeKernel(resolveKernel(chosen)) !== auto) parts.push(['kernel', typeof chosen === 'string' ? chosen : describeKernel(resolveKernel(chosen))]);
      if (options.cutoff !== resolveKernel(chosen).cutoff) parts.push(['cutoff', options.cutoff]);
    }
    if (!isDefault(options.i0, mode === 'insert' ? 'auto' : CT_DEFAULTS.i0)) parts.push(['i0', options.i0]);
    if (!isDefault(options.electronicNoise, CT_DEFAULTS.electronicNoise)) parts.push(['enoise', options.electronicNoise]);
    if (!isDefault(bowtie, CT_DEFAULTS.bowtie)) parts.push(['bowtie', bowtie]);
    if (!isDefault(options.bowtieStrength, resolveBowtie(bowtie)?.strength ?? 0)) parts.push(['bowtiestrength', options.bowtieStrength]);
    if (!isDefault(options.tcm, CT_DEFAULTS.tcm)) parts.push(['tcm', options.tcm]);
  } else if (modality === 'PT') {
    if (!isDefault(options.iterations, PET_DEFAULTS.iterations)) parts.push(['iterations', options.iterations]);
    if (!isDefault(options.subsets, PET_DEFAULTS.subsets)) parts.push(['subsets', options.subsets]);
    if (!isDefault(options.postFilterMm, PET_DEFAULTS.postFilterFwhmMm)) parts.push(['postfilter', `${options.postFilterMm}mm`]);
  }
  return parts
    .filter((part): part is [string, string | number] => part[1] !== undefined)
    .map(([name, value]) => `_${name}-${String(value).replace(/[^0-9A-Za-z.-]+/g, '-')}`)
    .join('');
}

/**
 * What a simulated series is made from, as the seed its UIDs are hashed from (write-derived.ts
 * `uidSeed`): the source series, which output (the reduced-dose copy or the matched full-dose
 * reconstruction), the simulation's exact settings (dose, seed, kernel, photon counts per slice,
 * OSEM, ...) and lowdose's version. The same run again gives the same UIDs, so the same bytes (a
 * regenerated study can be checked, and a PACS given it twice keeps one copy); another seed,
 * dose or setting gives another series. Each instance's UID also hashes its source instance and
 * its pixels (write-derived.ts). `fullDose` (whether a reference is also written) is left out: it
 * does not change the reduced-dose series.
 */
function simulationIdentity(series: Series, plan: SeriesPlan, output: 'reduced-dose' | 'full-dose'): string {
  const options: Record<string, unknown> = { ...plan.job.options };
  const settings: Record<string, unknown> = { ...plan.settings };
  delete options.fullDose;
  if (series.petFrame) {
    // The frames of a dynamic or gated acquisition are one series, under one UID: it names the
    // acquisition and the run's settings, not what a frame reads from its own images (its frame
    // duration, fixed by the source acquisition the identity names) or its own random stream (its
    // frame number). Each instance's UID still
    // hashes its own source instance and pixels.
    delete options.frameDurationS;
    delete settings.frameDurationS;
    delete options.frame;
  }
  return JSON.stringify([
    'lowdose simulate',
    packageVersion(),
    series.seriesInstanceUid,
    series.petFrame?.acquisitionKey ?? series.key,
    output,
    plan.job.kind,
    options,
    settings,
    plan.i0PerSlice ? Array.from(plan.i0PerSlice) : null,
  ]);
}

/**
 * What a simulated series' Contributing Equipment item names as the model, the simulation itself,
 * and the completion marker its folder holds once it is finished (a reader tells a series cut short
 * from one written before markers were: ./simulation-marker.ts simulationMarkerWarning).
 */
const simulationEquipment = (marker: string): ProcessingEquipment => ({ modelName: 'simulate', softwareVersions: [completionMarkerVersion(marker)] });

/** Simulates one series slice by slice through the pool, writing each slice as it finishes. */
async function simulateSeries(
  series: Series,
  options: SimulateOptions,
  seed: number,
  pool: SimulationPool,
  /** Throws E_LOCKED once another run took one of the series' folders over (src/util/folder-lock.ts). */
  held: () => Promise<void>,
): Promise<SimulatedSeries> {
  const progress = options.progress ?? (() => {});
  const warnings: string[] = ignoredOptionWarnings(series.modality, options);
  let plan: SeriesPlan;
  if (series.modality === 'PT') {
    const header = await readInstanceHeader(series.slices[0]!.file);
    const frameMs = header.pet?.ActualFrameDuration;
    plan = planPet(series, options, seed, frameMs && frameMs > 0 ? frameMs / 1000 : null);
  } else {
    plan = await planCt(series, options, seed, warnings);
  }
  const derivation = describeJob(plan.job, plan.settings);
  const percent = `${Math.round(options.dose * 1000) / 10}%`;
  const dirs = outputDirs(series, options);
  const names = outputNames(series, dirs.dose);
  // Under this run's lock, a temporary of ours can only be what a killed run left; the frames of an
  // acquisition share the folders, so only this frame's are ours.
  await held();
  for (const dir of [dirs.dose, dirs.reference]) if (dir) await removeTemporaries(dir, names.owns);
  // An earlier run's files of these series: refused, or with --overwrite removed first (its
  // completion marker before them), so that a rerun never leaves its slices beside the earlier
  // run's (fewer slices now, a run stopped half way), nor a frame the acquisition no longer has.
  const replaced = await replaceEarlierSeriesFiles(await seriesOutputs(series, options), series.slices.map((s) => s.file), Boolean(options.overwrite));
  if (replaced > 0) progress(`  --overwrite: removed ${replaced} file(s) an earlier run wrote of this series`);
  // Reproducible files: UIDs hashed from what made the series, no InstanceCreationDate/Time (Type
  // 3; every other date is the source's), so the same run writes the same bytes.
  const writer = createDerivedSeriesWriter(series, {
    outDir: dirs.dose,
    derivationDescription: derivation,
    // No ContributionDateTime either (now: null); the item's SoftwareVersions is the version the UIDs hash.
    equipment: simulationEquipment(names.marker),
    seriesDescriptionSuffix: ` simulated ${percent} dose`,
    filePrefix: names.filePrefix,
    overwrite: options.overwrite,
    uidSeed: simulationIdentity(series, plan, 'reduced-dose'),
    now: null,
  });
  const reference: DerivedSeriesWriter | null = dirs.reference
    ? createDerivedSeriesWriter(series, {
        outDir: dirs.reference,
        derivationDescription: `${derivation}; matched full-dose reconstruction`,
        equipment: simulationEquipment(names.marker),
        seriesDescriptionSuffix: ' simulated full dose',
        filePrefix: names.prefix('REF'),
        overwrite: options.overwrite,
        uidSeed: simulationIdentity(series, plan, 'full-dose'),
        now: null,
      })
    : null;

  const started = performance.now();
  // Bounded look-ahead: a few slices in flight per worker, never the whole series in memory.
  const inFlight = new Set<Promise<void>>();
  const limit = Math.max(2, 2 * pool.size);
  let failure: unknown = null;
  let written = 0;
  try {
    for (let k = 0; k < series.slices.length && failure === null && !options.signal?.aborted; k++) {
      const slice = series.slices[k]!;
      const { data, padding, rows, columns } = await readSlicePixels(slice, series.units);
      if (rows !== series.rows || columns !== series.columns) {
        throw new LowdoseError('E_INCONSISTENT_SERIES', `${slice.file}: slice is ${columns} x ${rows}, series is ${series.columns} x ${series.rows}`, { path: slice.file });
      }
      // PET in SUV: back to Bq/ml with this slice's factor (readSlice multiplied by it).
      const scale = series.modality === 'PT' && slice.unitsScale > 0 ? slice.unitsScale : 1;
      const input = scale === 1 ? data : Float32Array.from(data, (v) => v / scale);
      const image: Image2D = { rows, columns, data: input, pixelSpacing: [series.spacing[0], series.spacing[1]] };
      const job: SliceJob =
        plan.i0PerSlice && plan.job.kind === 'ct-insert' ? { kind: 'ct-insert', options: { ...plan.job.options, i0: plan.i0PerSlice[k]! } } : plan.job;
      const task = pool.run(job, { image, sliceIndex: k }).then(async (out) => {
        const restore = (values: Float32Array) => {
          const result = scale === 1 ? values : Float32Array.from(values, (v) => v * scale);
          // Padding and out-of-field fill keep their values (and stored values) so viewers still hide them.
          if (padding) for (let i = 0; i < result.length; i++) if (padding[i]) result[i] = data[i]!;
          return result;
        };
        await held();
        await writer.writeSlice(k, restore(out.lowDose), padding);
        if (reference && out.fullDose) await reference.writeSlice(k, restore(out.fullDose), padding);
        written++;
        if (written % 25 === 0) progress(`  ${written}/${series.slices.length} slices`);
      });
      const tracked: Promise<void> = task
        .catch((error: unknown) => {
          failure ??= error;
        })
        .finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= limit) await Promise.race(inFlight);
    }
  } finally {
    // A slice that failed to read stops the series: the slices in the pool finish (or fail) first,
    // so that nothing is left writing into the folder once the run has said the series failed.
    await Promise.all(inFlight);
  }
  if (failure !== null) throw failure instanceof Error ? failure : new Error(scalarText(failure));
  if (options.signal?.aborted) {
    // Stopped: the slices written are removed (no completion marker was written), so the folder
    // holds no part of a series and a rerun simulates it without --overwrite.
    const files = [...writer.files, ...(reference?.files ?? [])];
    await Promise.all(files.map((file) => rm(file, { force: true })));
    throw new LowdoseError(
      'E_CANCELLED',
      `${series.modality} series ${series.key} was stopped after ${written} of ${series.slices.length} slices (${stopReason(options.signal)}): the ${files.length} file(s) written were removed from ${writer.dir}`,
      { path: writer.dir },
    );
  }
  const ms = performance.now() - started;
  const simulated: SimulatedSeries = {
    input: reportedInput(series),
    output: { seriesInstanceUid: writer.seriesInstanceUid, ...severalSeries(writer), dir: writer.dir, files: writer.files },
    ...(reference ? { reference: { seriesInstanceUid: reference.seriesInstanceUid, ...severalSeries(reference), dir: reference.dir, files: reference.files } } : {}),
    modality: series.modality as 'CT' | 'PT',
    mode: plan.job.kind,
    dose: options.dose,
    seed,
    settings: plan.settings,
    msPerSlice: ms / series.slices.length,
    // What writing repaired or dropped of the source's values, in the same "[code] message" form.
    warnings: [...warnings, ...writer.warnings.map((w) => `[${w.code}] ${w.message}`)],
  };
  // Written last: the series is finished (every slice written) once its marker is there.
  await held();
  await writeSimulationMarkers(names.marker, simulated);
  return simulated;
}

/** Does the work of `lowdose simulate`; returns the JSON result and the exit code. */
export async function runSimulate(paths: readonly string[], options: SimulateOptions): Promise<{ result: SimulateResult; exitCode: number }> {
  if (!(options.dose > 0 && options.dose <= 1)) throw new LowdoseError('E_USAGE', `--dose must be a fraction in (0, 1], got ${options.dose}`);
  if (options.mode && options.mode !== 'insert' && options.mode !== 'truth') throw new LowdoseError('E_USAGE', `--mode must be insert or truth, got "${String(options.mode)}"`);
  if (options.bowtie && !BOWTIE_KINDS.includes(options.bowtie)) throw new LowdoseError('E_USAGE', `--bowtie must be one of ${BOWTIE_KINDS.join(', ')}`);
  if (options.bowtieStrength !== undefined && !(options.bowtieStrength >= 0 && options.bowtieStrength <= 1)) {
    throw new LowdoseError('E_USAGE', `--bowtie-strength must be in [0, 1], got ${options.bowtieStrength}`);
  }
  if (options.tcm !== undefined && !(options.tcm >= 0 && options.tcm <= MAX_TCM_STRENGTH)) {
    throw new LowdoseError('E_USAGE', `--tcm must be in [0, ${MAX_TCM_STRENGTH}], got ${options.tcm}`);
  }
  if (options.kernel !== 'auto') resolveKernel(options.kernel, options.cutoff);
  else if (options.cutoff !== undefined) resolveKernel(DEFAULT_KERNEL, options.cutoff);
  // Every unreadable file goes to the whole list as the scan meets it; the result lists a sample.
  const unreadable = ErrorListFile.open();
  try {
    return await simulateScanned(paths, options, unreadable);
  } finally {
    await unreadable.discard();
  }
}

async function simulateScanned(paths: readonly string[], options: SimulateOptions, unreadable: ErrorListFile): Promise<{ result: SimulateResult; exitCode: number }> {
  const progress = options.progress ?? (() => {});
  const seed = options.seed ?? 0;
  const scan = await scanPaths(paths, { listedPerCode: LISTED_PER_CODE, onError: (e) => unreadable.add(e.toJSON()) });
  const errors = CodeSample.of<SimulateResult['errors'][number]>(scan.errors.map((e) => e.toJSON()), scan);
  const result: SimulateResult = { series: [], errors: errors.items, ...errors.counted(), skipped: [] };
  const targets = scan.series.filter((s) => s.modality === 'CT' || s.modality === 'PT');
  for (const s of scan.series) {
    if (!targets.includes(s)) result.skipped.push({ key: s.key, modality: s.modality, message: `${s.modality || 'unknown'} series: only CT and PET are simulated` });
  }
  if (targets.length === 0) {
    return { result, exitCode: EXIT_USAGE };
  }
  const lockDirsOf = (series: Series) =>
    Object.values(outputDirs(series, options))
      .filter((d): d is string => d !== null)
      .map((d) => path.resolve(outputNames(series, d).lockPath(d)));
  const locks = await acquireFolderLocks(targets.flatMap(lockDirsOf), { wait: Boolean(options.waitLock), log: progress });
  // Without --overwrite, a series an earlier run wrote refuses the whole run (E_EXISTS): before
  // any series is written, so a refused run leaves the folder as it found it.
  if (!options.overwrite) {
    try {
      for (const series of targets) await replaceEarlierSeriesFiles(await seriesOutputs(series, options), series.slices.map((s) => s.file), false);
    } catch (error) {
      await releaseAll(locks);
      throw error;
    }
  }
  const pool = new SimulationPool(options.workers ?? defaultWorkerCount());
  try {
    const errorsFile = await unreadable.publish(path.resolve(options.outDir));
    if (errorsFile) result.errorsFile = errorsFile;
    for (const series of targets) {
      if (options.signal?.aborted) {
        errors.keep({ code: 'E_CANCELLED', message: `series ${series.key} was not run: ${stopReason(options.signal)}`, path: series.slices[0]?.file ?? null });
        Object.assign(result, errors.counted());
        continue;
      }
      progress(`simulating ${series.modality} ${series.key} (${series.slices.length} slice(s)) at ${options.dose} dose`);
      try {
        const own = locks.filter((lock) => lockDirsOf(series).includes(lock.dir));
        result.series.push(await simulateSeries(series, options, seed, pool, () => assertAllHeld(own)));
      } catch (error) {
        const e = toLowdoseError(error, 'E_INTERNAL', series.slices[0]?.file);
        // Refusing to overwrite is a usage problem for the whole run, not one series.
        if (e.code === 'E_EXISTS') throw e;
        errors.keep(e.toJSON());
        Object.assign(result, errors.counted());
      }
    }
  } finally {
    await pool.close();
    clearSliceCache();
    await releaseAll(locks);
  }
  return { result, exitCode: exitCodeForRun(result.series.length, result.errors) };
}

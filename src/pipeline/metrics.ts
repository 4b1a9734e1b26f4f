/**
 * What `lowdose metrics` reports: PSNR, SSIM and RMSE per slice and their means between a
 * reference and a test series (docs/contract.md). Slices are matched by
 * ImagePositionPatient, else by order (src/metrics/slice-pairing.ts). With lesions (`--lesions`),
 * also SUVmean / SUVmax / SUVpeak per lesion in both series and their ratio (src/metrics/lesions.ts);
 * for two dynamic or gated PET acquisitions, per frame pair (`frames[].lesions`).
 * With `region: 'patient'`, PSNR / SSIM / RMSE count only the pixels inside the patient outline of
 * each reference slice (docs/metrics.md, "Inside the patient"). With `noise` (`--noise --input`),
 * also the test's noise without anatomy, against the low-dose input it was made from
 * (src/metrics/noise-transfer.ts; docs/metrics.md, "Noise without anatomy").
 */
import { existsSync } from 'node:fs';
import { rmdir } from 'node:fs/promises';
import path from 'node:path';
import { LowdoseError, toLowdoseError } from '../errors.js';
import type { Image2D } from '../image.js';
import { clearSliceCache, readSliceImage, sameFrame, scanPaths, scanProblems, type PetFrameTiming, type PetGateTiming, type Series } from '../dicom/index.js';
import { exitCodeForRun } from '../exit-codes.js';
import { meanScores, SeriesComparison, type SeriesScores, type SliceScores } from '../metrics/compare.js';
import { alongNormal, distanceFromSlice, lesionReach, lesionStats, stackEdges, type Lesion, type LesionStats, type PlacedImage, type StackEdges } from '../metrics/lesions.js';
import { CT_RANGE, type IntensityRange } from '../metrics/range.js';
import { patientOutline } from '../metrics/patient-outline.js';
import { pairingGridMismatch, pairSlices } from '../metrics/slice-pairing.js';
import { pairingWarnings, type PairingWarning } from '../metrics/pairing-warnings.js';
import { simulationMarkerWarning, type SimulationWarning } from './simulation-marker.js';
import { paddingUnion } from '../metrics/pixels.js';
import { ssimWindowRefusal } from '../metrics/ssim.js';
import { resolveSfrcOptions, sfrcSlice, type SfrcOptions } from '../metrics/sfrc.js';
import type { Detrend } from '../metrics/detrend.js';
import { NoiseTransfer, type NoiseRoiKind, type NoiseTransferResult, type NoiseWindow } from '../metrics/noise-transfer.js';
import { bodyOutline } from '../simulate/mu-map.js';
import { newUid } from '../dicom/uid.js';
import { committedSummary, HallucinationRecorder, prepareHallucinationFolder, type HallucinationSummary } from './hallucination.js';
import { acquireFolderLock } from '../util/folder-lock.js';
import { CodeSample, LISTED_PER_CODE } from '../util/code-sample.js';
import { makeOutputFolder } from '../util/fs.js';
import { petFrameReport } from './frame-output.js';
import { referenceOfTestAgent } from './agent-reference.js';
import { METRICS_MAP_EQUIPMENT, writeMapMarker } from './output-markers.js';

/**
 * Which pixels PSNR / SSIM / RMSE count. `field`: every pixel of the scanned field (not padding,
 * not outside the reconstruction circle). `patient`: those of them inside the patient outline of
 * the reference slice, so that the air around the body (a third to a half of an abdomen CT field,
 * where every method scores near perfect) does not dilute differences in the body.
 */
export type MetricsRegion = 'field' | 'patient';
export const METRICS_REGIONS: readonly MetricsRegion[] = ['field', 'patient'];

export interface MetricsOptions {
  /** Stops the run between slices (SIGINT / SIGTERM): a --hallucination map being written is removed, an earlier one kept. */
  readonly signal?: AbortSignal;
  readonly reference: string;
  readonly test: string;
  /** Default `field`. */
  readonly region?: MetricsRegion;
  /** Default: CT [-1000, 1000] HU, PET [0, max of the reference series]. */
  readonly range?: IntensityRange;
  /** Spheres in patient mm (`--lesions`): adds `lesions` to the result. */
  readonly lesions?: readonly Lesion[];
  /**
   * Also writes an sFRC hallucination map of test against reference into `dir` (src/metrics/sfrc.ts).
   * An earlier map in `dir` is refused (E_EXISTS), or with `overwrite` replaced once the new one is
   * complete (`prepareHallucinationFolder`); another run writing `dir` is E_LOCKED.
   */
  readonly hallucination?: { readonly dir: string; readonly options?: SfrcOptions; readonly overwrite?: boolean };
  /** Also the test's noise without anatomy (`--noise`), from the low-dose series `input` the test was made from. */
  readonly noise?: MetricsNoiseOptions;
  readonly progress?: (message: string) => void;
}

/** One slice pair's scores; `frame` names the frame (`t02`, `g03`) when the series are a dynamic or gated acquisition's. */
export interface MetricsSliceScores extends SliceScores {
  readonly frame?: string;
}

/**
 * One frame pair of a dynamic or gated acquisition: the test's frame and the reference's frame of
 * the same kind and number (`sameFrame`), scored with the run's one range.
 */
export interface MetricsFrame {
  /** `t01`, `g03`, as `denoise` names the frame (`input.petFrame.tag`). */
  readonly tag: string;
  readonly kind: 'dynamic' | 'gated';
  readonly frame: number;
  readonly reference: { readonly key: string; readonly slices: number };
  readonly test: { readonly key: string; readonly slices: number };
  readonly matchedBy: 'position' | 'order';
  /** The means over this frame's slice pairs (`slices[]` entries with this `frame`). */
  readonly mean: SeriesScores['mean'];
  /** The range this frame pair's PSNR / SSIM use: `--range`, else the reference frame's own default. */
  readonly range: [number, number];
  /**
   * A time point's timing (dynamic acquisitions): the test frame's start, duration, middle and
   * FrameReferenceTime in ms from its series reference time, and its start as a DICOM DT
   * (`PetFrameTiming`, docs/dicom.md); the reference frame's when the test frame has none.
   */
  readonly timing?: PetFrameTiming;
  /** A gate's TriggerTime / NominalInterval / LowRRValue / HighRRValue in ms, those the test frame's files carry (else the reference's). */
  readonly gating?: PetGateTiming;
  /**
   * With `--lesions` and several frames: each lesion in this frame pair, as the top-level `lesions`
   * of one series (the result then has no top-level `lesions`). Absent with one frame pair, whose
   * lesions are the top-level ones.
   */
  readonly lesions?: LesionResult[];
  /**
   * With `--hallucination` and several frames: this frame pair's sFRC map summary, as the top-level
   * `hallucination` of one series (`flagged[].slice` indexes this frame's slices). The frames' maps
   * are one derived series in `<dir>/map` (one `map.seriesInstanceUid`, files `t01-IM0001.dcm`, ...;
   * overlays `t01-slice-0001.png`), as `denoise` writes a frame's map; `map.files` are this frame's.
   */
  readonly hallucination?: HallucinationSummary;
}

/** The CONTRACT shape plus what was compared and how. */
/** A warning of `metrics`' result. */
export type MetricsWarning = PairingWarning | SimulationWarning;

/** A run's errors: the files and slices that could not be read, a capped list, all counted. */
type MetricsErrors = CodeSample<MetricsResult['errors'][number]>;

export interface MetricsResult extends SeriesScores {
  readonly slices: MetricsSliceScores[];
  /** The pixels PSNR / SSIM / RMSE counted (`MetricsRegion`). */
  readonly region: MetricsRegion;
  readonly units: string;
  readonly matchedBy: 'position' | 'order';
  readonly reference: { readonly seriesInstanceUid: string; readonly slices: number };
  readonly test: { readonly seriesInstanceUid: string; readonly slices: number };
  /** Files and slices that could not be read: at most LISTED_PER_CODE of each code (src/util/code-sample.ts). */
  readonly errors: Array<{ path: string | null; code: string; message: string }>;
  /** Every error, listed in `errors` or not (an addition). */
  readonly errorCount?: number;
  /** `errorCount` by code (an addition). */
  readonly errorsByCode?: Record<string, number>;
  /**
   * What makes the pair suspect although it lines up (`pairingWarnings`: W_KERNEL_MISMATCH,
   * W_TEST_IS_REFERENCE), and a simulated series that may be incomplete (W_SIMULATION_INCOMPLETE).
   */
  readonly warnings: MetricsWarning[];
  /**
   * Per lesion of `--lesions`, in the series' units (SUVbw for PET with SUV). Absent when several
   * frame pairs are scored: each frame's are in `frames[].lesions`.
   */
  readonly lesions?: LesionResult[];
  /**
   * With `hallucination`: the sFRC map's summary (CONTRACT: patchSizeMm, patches, flagged[]). Absent
   * when several frame pairs are scored: each frame's is in `frames[].hallucination`.
   */
  readonly hallucination?: HallucinationSummary;
  /** With `noise`: the test's noise without anatomy against the full dose's (docs/contract.md). */
  readonly noise?: MetricsNoiseReport;
  /**
   * When the test is a dynamic or gated PET acquisition (or one frame of it): each frame pair's
   * scores, in frame order. `slices` then holds every frame's slices, each naming its `frame`, and
   * `mean` is over all of them.
   */
  readonly frames?: MetricsFrame[];
}

export interface MetricsNoiseOptions {
  /** The low-dose series the test was made from (`--input`). */
  readonly input: string;
  /** Default `soft-tissue` (64 px tiles). */
  readonly rois?: NoiseRoiKind;
  /** Default `poly2`. */
  readonly detrend?: Detrend;
  /** Default `none`. */
  readonly window?: NoiseWindow;
}

/** `NoiseTransferResult` for JSON: one output (the test), NaN as null. */
export interface MetricsNoiseReport {
  /** How the noise was told from the anatomy: the cross-spectrum with the extra noise input - reference. */
  readonly method: 'extra-noise-cross-spectrum';
  readonly input: { readonly seriesInstanceUid: string; readonly slices: number };
  /** Slice positions measured (all three series read). */
  readonly slices: number;
  readonly roi: { readonly kind: NoiseRoiKind; readonly size: number; readonly count: number; readonly kappaCount: number };
  readonly detrend: Detrend;
  readonly window: NoiseWindow;
  /** var(full-dose noise) / var(extra noise). */
  readonly kappa: number;
  /** sqrt(kappa / (1 + kappa)): the transfer a full-dose scan has at every frequency. */
  readonly fullDoseTransfer: number;
  /** Noise SD of the test over the full dose's (noise that follows the input's only: a lower bound). */
  readonly sdRatio: number;
  /** Noise SDs in the series' units over the ROIs' bins. */
  readonly sd: { readonly test: number; readonly reference: number };
  readonly peakCyclesPerMm: { readonly test: number | null; readonly reference: number | null };
  /** test / reference - 1 of the NPS peaks. */
  readonly peakShift: number | null;
  readonly frequencyCyclesPerMm: number[];
  /** T per bin (null at zero frequency). */
  readonly transfer: Array<number | null>;
  /** Noise-only NPS per bin, units^2 mm^2 (null at zero frequency). */
  readonly nps: { readonly test: Array<number | null>; readonly reference: Array<number | null> };
}

/** What a series reads in one lesion (`lesionStats` without the bookkeeping). */
export interface LesionReading {
  readonly voxels: number;
  readonly mean: number;
  readonly max: number;
  readonly peak: number;
  /** Centre of the 1.2 cm sphere that gave SUVpeak, patient mm. */
  readonly peakCentre: readonly [number, number, number];
  /**
   * That sphere lost voxels past the series' first or last slice, outside the image's rows or
   * columns, or to padding (outside the scanned field; `sphereCut` in src/metrics/lesions.ts):
   * `peak` is the mean over the voxels that exist, not the whole 1 cm³ sphere.
   */
  readonly peakSphereCut: boolean;
}

export interface LesionResult {
  readonly name: string;
  readonly centre: readonly [number, number, number];
  readonly radius: number;
  readonly reference: LesionReading;
  readonly test: LesionReading;
  /**
   * test / reference for each (the recovery ratio): null where the reference reads 0, and for HU,
   * whose zero is water's by definition, so that a ratio of two HU values means nothing (2.39 on an
   * insert near 0 HU): read `difference` there.
   */
  readonly recovery: { readonly mean: number | null; readonly max: number | null; readonly peak: number | null };
  /** test − reference for each, in the series' units: what a CT insert's comparison reads. */
  readonly difference: { readonly mean: number; readonly max: number; readonly peak: number };
}

/**
 * Does the work of `lowdose metrics`. Throws E_USAGE-class errors (exit 2) when nothing can be
 * compared; slices that fail to read become `errors` entries (exit 1).
 */
export async function runMetrics(options: MetricsOptions): Promise<{ result: MetricsResult; exitCode: number }> {
  const progress = options.progress ?? (() => {});
  const errors: MetricsErrors = new CodeSample();
  const references = await seriesOrFrames(options.reference, '--reference', errors);
  const tests = await seriesOrFrames(options.test, '--test', errors);
  const pairs = await ownAgentPairs(pairFrames(references, tests, options, progress), progress);
  if (!options.hallucination) return scorePairs(pairs, options, errors, progress);
  // Every refusal that needs no pixel first.
  for (const [reference, test] of pairs) checkComparable(reference, test);
  const inputs = pairs.flatMap(([reference, test]) => [...reference.slices, ...test.slices].map((s) => s.file));
  // One run writes a map folder at a time: another one's unfinished map is not a killed run's.
  const mapFolder = path.resolve(options.hallucination.dir);
  const made = !existsSync(mapFolder);
  await makeOutputFolder(mapFolder);
  const lock = await acquireFolderLock(mapFolder);
  try {
    const staged = await prepareHallucinationFolder(options.hallucination.dir, options.hallucination.overwrite ?? false, inputs, progress);
    let run: { result: MetricsResult; exitCode: number };
    try {
      // The map is written beside the earlier one and replaces it only once complete.
      run = await scorePairs(pairs, { ...options, hallucination: { ...options.hallucination, dir: staged.dir } }, errors, progress);
    } catch (error) {
      await staged.abandon();
      throw error;
    }
    // Another run that judged this one dead (no heartbeat for too long) took the folder over: its
    // map, not this one, goes in place (src/util/folder-lock.ts).
    try {
      await lock.assertHeld();
    } catch (error) {
      await staged.abandon();
      throw error;
    }
    const { result } = run;
    const committed: Partial<MetricsResult> = {
      ...(result.hallucination ? { hallucination: committedSummary(result.hallucination, staged) } : {}),
      ...(result.frames ? { frames: result.frames.map((f) => (f.hallucination ? { ...f, hallucination: committedSummary(f.hallucination, staged) } : f)) } : {}),
    };
    // The map's completion marker, last (./output-markers.ts): every frame's files, as they lie once in place.
    const maps = [committed.hallucination, ...(committed.frames ?? []).map((f) => f.hallucination)].filter((m): m is HallucinationSummary => m !== undefined);
    const files = maps.flatMap((m) => m.map.files);
    if (maps[0] && files.length > 0) await writeMapMarker(path.join(staged.dir, 'map'), { seriesInstanceUid: maps[0].map.seriesInstanceUid, dir: maps[0].map.dir, files });
    await staged.commit();
    return { ...run, result: { ...result, ...committed } };
  } catch (error) {
    // A run that made the map folder and was stopped or failed leaves no empty folder behind.
    if (made) await rmdir(mapFolder).catch(() => undefined);
    throw error;
  } finally {
    await lock.release();
  }
}

/** Scores one series pair, or every frame pair of two acquisitions. */
async function scorePairs(
  pairs: ReadonlyArray<readonly [Series, Series]>,
  options: MetricsOptions,
  errors: MetricsErrors,
  progress: (message: string) => void,
): Promise<{ result: MetricsResult; exitCode: number }> {
  if (pairs.length === 1) {
    const [reference, test] = pairs[0]!;
    const run = await scoreSeries(reference, test, options, errors, progress);
    return test.petFrame ? { ...run, result: { ...run.result, frames: [frameScores(reference, test, run.result)] } } : run;
  }
  return scoreFrames(pairs, options, errors, progress);
}

/**
 * Every frame pair of two dynamic or gated acquisitions, each scored as that frame pair alone would
 * be (`--range`, else the reference frame's own default range: PET [0, that frame's maximum]), so a
 * frame's PSNR / SSIM do not depend on which other frames were scored with it: `slices` holds every
 * frame's, `mean` is over all of them, `frames` each frame's with its `range`.
 * With lesions, each frame pair's are measured as one series' are (`scoreSeries`, `measureLesions`)
 * and go into its `frames[]` entry: the lesions' time-activity (or gate-activity) curves. So does
 * each frame pair's sFRC map summary, the frames' maps written as one series (`frameMap`).
 */
async function scoreFrames(
  pairs: ReadonlyArray<readonly [Series, Series]>,
  options: MetricsOptions,
  errors: MetricsErrors,
  progress: (message: string) => void,
): Promise<{ result: MetricsResult; exitCode: number }> {
  if (options.noise) throw noiseModalityRefusal(pairs[0]![0].modality);
  const frames: MetricsFrame[] = [];
  const slices: MetricsSliceScores[] = [];
  let first: MetricsResult | null = null;
  const warningsOfFrames: MetricsWarning[] = [];
  const mapUid = options.hallucination ? newUid() : null;
  for (const [reference, test] of pairs) {
    progress(`frame ${test.key}: against ${reference.key}`);
    const frameMap = mapUid ? { seriesInstanceUid: mapUid, frameTag: petFrameReport(test.petFrame!).tag } : undefined;
    // Without --range each frame gets its own reference frame's default, as the same frame scored
    // alone, by `denoise --reference` or in the viewer does (one PET frame: [0, its maximum]).
    const { result } = await scoreSeries(reference, test, options, errors, progress, frameMap);
    first ??= result;
    warningsOfFrames.push(...result.warnings);
    const frame = frameScores(reference, test, result);
    frames.push({
      ...frame,
      ...(result.lesions ? { lesions: result.lesions } : {}),
      ...(result.hallucination ? { hallucination: result.hallucination } : {}),
    });
    slices.push(...result.slices.map((s) => ({ ...s, frame: frame.tag })));
  }
  const [reference, test] = pairs[0]!;
  const count = (side: 0 | 1) => pairs.reduce((n, pair) => n + pair[side].slices.length, 0);
  const result: MetricsResult = {
    slices,
    mean: meanScores(slices),
    // --range, else the span of the frames' own ranges (each frame's PSNR / SSIM use frames[].range).
    range: options.range ? [options.range[0], options.range[1]] : [Math.min(...frames.map((f) => f.range[0])), Math.max(...frames.map((f) => f.range[1]))],
    region: first!.region,
    units: first!.units,
    matchedBy: frames.every((f) => f.matchedBy === 'position') ? 'position' : 'order',
    reference: { seriesInstanceUid: reference.seriesInstanceUid, slices: count(0) },
    test: { seriesInstanceUid: test.seriesInstanceUid, slices: count(1) },
    errors: errors.items,
    ...errors.counted(),
    warnings: uniqueWarnings(warningsOfFrames),
    frames,
  };
  return { result, exitCode: exitCodeForRun(slices.length, errors.items) };
}

/** Each code and message once (the frames of one acquisition share their kernel). */
function uniqueWarnings(warnings: readonly MetricsWarning[]): MetricsWarning[] {
  const seen = new Set<string>();
  return warnings.filter((w) => !seen.has(`${w.code}\0${w.message}`) && Boolean(seen.add(`${w.code}\0${w.message}`)));
}

function frameScores(reference: Series, test: Series, result: MetricsResult): MetricsFrame {
  const { tag, kind, frame } = petFrameReport(test.petFrame!);
  const timing = test.petFrame!.timing ?? reference.petFrame?.timing;
  const gating = test.petFrame!.gating ?? reference.petFrame?.gating;
  return {
    tag,
    kind,
    frame,
    reference: { key: reference.key, slices: reference.slices.length },
    test: { key: test.key, slices: test.slices.length },
    matchedBy: result.matchedBy,
    mean: result.mean,
    range: [result.range[0], result.range[1]],
    ...(timing ? { timing } : {}),
    ...(gating ? { gating } : {}),
  };
}

/**
 * Each pair with the reference restricted to the frames of the test's radiopharmaceutical, where the
 * reference is a multi-frame PET series of several and the test one of them (./agent-reference.ts):
 * a per-agent series lowdose wrote is scored against its own agent's source frames, its range theirs;
 * one gate of an agent, against that agent's frames of that gate.
 */
async function ownAgentPairs(pairs: Array<[Series, Series]>, progress: (message: string) => void): Promise<Array<[Series, Series]>> {
  const out: Array<[Series, Series]> = [];
  for (const [reference, test] of pairs) {
    const own = await referenceOfTestAgent(reference, test);
    if (own) progress(`reference: its ${own.series.slices.length} of ${reference.slices.length} slices of radiopharmaceutical agent ${own.agent}${own.gate ? ` and ${own.gate}` : ''}, the test's`);
    out.push([own ? own.series : reference, test]);
  }
  return out;
}

/**
 * Which reference series each test series is scored against. One series each: that pair, unless
 * both are frames of a dynamic or gated acquisition and not the same frame (`sameFrame`: their
 * frames share every slice position, so slice pairing would not notice). The frames of an
 * acquisition: each test frame against the reference's same frame; a reference frame the test
 * lacks is skipped (as a reference slice is), a test frame the reference lacks, or frames against
 * one series of its own (which frame?), is a usage error naming the keys.
 */
function pairFrames(references: readonly Series[], tests: readonly Series[], options: MetricsOptions, progress: (message: string) => void): Array<[Series, Series]> {
  const keys = (list: readonly Series[]) => list.map((s) => s.key).join(', ');
  const framed = (list: readonly Series[]) => list.every((s) => s.petFrame);
  if (references.length === 1 && tests.length === 1 && sameFrame(references[0]!, tests[0]!)) return [[references[0]!, tests[0]!]];
  if (!framed(references) || !framed(tests)) {
    throw new LowdoseError(
      'E_USAGE',
      `--reference ${options.reference} holds ${keys(references)} and --test ${options.test} holds ${keys(tests)}: ` +
        'the frames of a dynamic or gated PET acquisition are scored against the same frames of another; give both as acquisitions, or one frame of each',
    );
  }
  const pairs: Array<[Series, Series]> = [];
  const missing: Series[] = [];
  for (const test of tests) {
    const reference = references.find((r) => sameFrame(r, test));
    if (reference) pairs.push([reference, test]);
    else missing.push(test);
  }
  if (missing.length > 0) {
    throw new LowdoseError(
      'E_USAGE',
      `--test ${options.test}: no frame of the same kind and number as ${keys(missing)} in --reference ${options.reference} (${keys(references)}); ` +
        'a frame of a dynamic or gated acquisition is scored only against the same frame',
    );
  }
  for (const reference of references) {
    if (!pairs.some(([r]) => r === reference)) progress(`reference frame ${reference.key} has no test frame; skipped`);
  }
  return pairs;
}

/**
 * Scores one reference series against one test series (`runMetrics` for a pair). `frameMap`: the
 * test is one frame of an acquisition whose frames' sFRC maps make one series of that UID, this
 * frame's files named with its tag (`HallucinationRecorderOptions.shared`).
 */
async function scoreSeries(
  reference: Series,
  test: Series,
  options: MetricsOptions,
  errors: MetricsErrors,
  progress: (message: string) => void,
  frameMap?: { readonly seriesInstanceUid: string; readonly frameTag: string },
): Promise<{ result: MetricsResult; exitCode: number }> {
  checkComparable(reference, test);
  const noiseInput = options.noise ? await noiseInputSeries(reference, options.noise.input, errors) : null;
  const region = options.region ?? 'field';
  if (region === 'patient' && reference.modality !== 'CT' && reference.modality !== 'PT') {
    throw new LowdoseError('E_USAGE', `--region patient needs CT or PET; the reference is ${reference.modality || 'of unknown modality'}`);
  }
  const pairing = pairSlices(reference, test);
  // A simulated test or reference whose run stopped half way may lack slices (./simulation-marker.ts).
  const incomplete = (await Promise.all([reference, test].map(simulationMarkerWarning))).filter((w) => w !== null);
  const warnings: MetricsWarning[] = [...pairingWarnings(reference, test), ...incomplete];
  for (const w of warnings) progress(`warning [${w.code}] ${w.message}`);
  for (const [r, t] of pairing.pairs) {
    if (t < 0) progress(`reference slice ${r} has no test slice at its position; skipped`);
  }
  const pairs = pairing.pairs.filter(([, t]) => t >= 0);
  checkSameGrid(reference, test, pairs, 'test', pairing.matchedBy);
  progress(`comparing ${pairs.length} slice pair(s), matched by ${pairing.matchedBy}`);
  if (pairing.matchedBy === 'order' && pairing.bothPositioned) {
    progress('warning: no test slice lies at a reference slice position although both series carry positions; slices were paired by order: check that both are the same scan');
  }
  const inputOf = noiseInput ? inputSlices(reference, test, noiseInput, pairing.matchedBy, pairs) : null;

  try {
    const range = options.range ?? (await defaultSeriesRange(reference, progress));
    const comparison = new SeriesComparison(range);
    const sfrc = options.hallucination ? resolveSfrcOptions(options.hallucination.options) : null;
    const recorder =
      options.hallucination && sfrc
        ? new HallucinationRecorder(test, {
            outDir: options.hallucination.dir,
            sfrc,
            against: 'reference',
            equipment: METRICS_MAP_EQUIPMENT,
            description: frameMap
              ? `test frame ${test.key} against reference frame ${reference.key}`
              : `test series ${test.seriesInstanceUid} against reference ${reference.seriesInstanceUid}`,
            ...(frameMap ? { shared: frameMap } : {}),
            // A new folder (`prepareHallucinationFolder`'s staged one): a file in the way is no earlier map's to replace.
            overwrite: false,
          })
        : null;
    let noise: NoiseTransfer | null = null;
    let noiseSpacing: readonly [number, number] | null = null;
    let failed = 0;
    let outside = 0;
    for (const [n, [r, t]] of pairs.entries()) {
      options.signal?.throwIfAborted();
      if (n > 0 && n % 20 === 0) progress(`  ${n}/${pairs.length}`);
      const referenceImage = await readOrReport(reference, r, errors);
      const testImage = referenceImage && (await readOrReport(test, t, errors));
      if (!referenceImage || !testImage) {
        failed++;
        continue;
      }
      if (noiseInput && inputOf) {
        const inputImage = await readOrReport(noiseInput, inputOf.get(r)!, errors);
        if (inputImage) {
          noiseSpacing ??= referenceImage.pixelSpacing;
          for (const image of [referenceImage, testImage, inputImage]) {
            if (image.pixelSpacing[0] !== noiseSpacing[0] || image.pixelSpacing[1] !== noiseSpacing[1]) {
              throw new LowdoseError('E_USAGE', '--noise needs one pixel spacing across the reference, test and input slices');
            }
          }
          noise ??= new NoiseTransfer(referenceImage.rows, referenceImage.columns, 1, { pixelSpacing: noiseSpacing, ...noiseSettings(options.noise!) });
          noise.add({ input: inputImage.data, reference: referenceImage.data, outputs: [testImage.data] });
        }
      }
      const valid = region === 'patient' ? patientRegion(referenceImage, reference.modality) : undefined;
      if (valid && !valid.some((v, i) => v && !referenceImage.padding?.[i] && !testImage.padding?.[i])) {
        progress(`reference slice ${r} shows no patient; skipped`);
        outside++;
        continue;
      }
      comparison.add(r, referenceImage, testImage, valid);
      if (recorder && sfrc) {
        const result = sfrcSlice(
          {
            rows: testImage.rows,
            columns: testImage.columns,
            test: testImage.data,
            reference: referenceImage.data,
            pixelSpacing: testImage.pixelSpacing,
            units: reference.units,
            padding: paddingUnion(referenceImage, testImage),
          },
          sfrc,
        );
        await recorder.add(t, result, [testImage.data, referenceImage.data], r);
      }
    }
    if (failed === pairs.length) {
      const [first] = errors.items;
      const more = errors.total - 1;
      throw new LowdoseError('E_USAGE', `no slice pair could be read: ${first?.message ?? ''}${more > 0 ? ` (and ${more} more error(s))` : ''}`);
    }
    if (outside > 0 && failed + outside === pairs.length) {
      throw new LowdoseError('E_USAGE', 'no reference slice shows a patient outline to score with --region patient');
    }
    const scores = comparison.result();
    const lesions = options.lesions && options.lesions.length > 0 ? await measureLesions(reference, test, options.lesions, pairs, progress) : null;
    const noiseReport = noiseInput ? noiseReportOf(noise, noiseInput) : null;
    const result: MetricsResult = {
      ...scores,
      region,
      units: reference.units,
      matchedBy: pairing.matchedBy,
      reference: { seriesInstanceUid: reference.seriesInstanceUid, slices: reference.slices.length },
      test: { seriesInstanceUid: test.seriesInstanceUid, slices: test.slices.length },
      errors: errors.items,
      ...errors.counted(),
      warnings,
      ...(lesions ? { lesions } : {}),
      ...(recorder ? { hallucination: recorder.summary() } : {}),
      ...(noiseReport ? { noise: noiseReport } : {}),
    };
    return { result, exitCode: exitCodeForRun(pairs.length - failed - outside, errors.items) };
  } finally {
    clearSliceCache();
  }
}

function noiseSettings(options: MetricsNoiseOptions) {
  return {
    ...(options.rois ? { rois: options.rois } : {}),
    ...(options.detrend ? { detrend: options.detrend } : {}),
    ...(options.window ? { window: options.window } : {}),
  };
}

/**
 * The low-dose series of `--noise`: one CT series on the reference's grid. The measure assumes
 * the low dose is the full dose plus extra noise that is additive and independent of the anatomy
 * and of the full dose's noise (CT noise insertion, a dose-split acquisition); PET count thinning's
 * noise scales with the activity, so other modalities are refused.
 */
async function noiseInputSeries(reference: Series, path: string, errors: MetricsErrors): Promise<Series> {
  if (reference.modality !== 'CT') throw noiseModalityRefusal(reference.modality);
  const input = await singleSeries(path, '--input', errors);
  checkComparable(reference, input, 'input');
  return input;
}

/** Why `--noise` refuses a reference of `modality` other than CT (the frames of a dynamic or gated acquisition are PET). */
function noiseModalityRefusal(modality: string): LowdoseError {
  return new LowdoseError(
    'E_USAGE',
    `--noise needs CT: it assumes the low dose is the full dose plus additive extra noise independent of the anatomy ` +
      `(CT noise insertion or a dose-split acquisition), which ${modality || 'this modality'} does not give (PET count thinning's noise scales with the activity)`,
  );
}

/**
 * The input slice at each scored reference slice's position. The three series must be one
 * acquisition's slices, matched by ImagePositionPatient: order is not enough to trust that the
 * input's extra noise is the reference's.
 */
function inputSlices(reference: Series, test: Series, input: Series, testMatchedBy: 'position' | 'order', pairs: ReadonlyArray<[number, number]>): Map<number, number> {
  const inputPairing = pairSlices(reference, input);
  if (testMatchedBy !== 'position' || inputPairing.matchedBy !== 'position') {
    const which = [testMatchedBy !== 'position' ? 'test' : null, inputPairing.matchedBy !== 'position' ? 'input' : null].filter(Boolean).join(' and ');
    throw new LowdoseError('E_USAGE', `--noise needs the reference, test and input slices matched by position (ImagePositionPatient); the ${which} slices are not`);
  }
  checkSameGrid(reference, input, inputPairing.pairs.filter(([, i]) => i >= 0), 'input');
  const map = new Map<number, number>();
  for (const [r] of pairs) {
    const i = inputPairing.pairs[r]![1];
    if (i < 0) {
      throw new LowdoseError('E_USAGE', `--noise: reference slice ${r} (${reference.slices[r]!.file}) has no input slice at its position; the input must be the same acquisition at a lower dose`);
    }
    map.set(r, i);
  }
  return map;
}

function noiseReportOf(noise: NoiseTransfer | null, input: Series): MetricsNoiseReport {
  if (!noise) throw new LowdoseError('E_USAGE', '--noise: no slice position could be read in all three series');
  let result: NoiseTransferResult;
  try {
    result = noise.result();
  } catch (error) {
    throw new LowdoseError('E_USAGE', `--noise: ${(error as Error).message}`);
  }
  if (!(result.kappa > 0 && Number.isFinite(result.kappa))) {
    throw new LowdoseError('E_USAGE', `--noise: the input holds no extra noise over the reference (kappa ${result.kappa}); give the low-dose series the test was made from`);
  }
  const test = result.outputs[0]!;
  const finite = (v: number) => (Number.isFinite(v) ? v : null);
  const list = (values: Float64Array) => [...values].map(finite);
  const peakShift = test.peakCyclesPerMm / result.reference.peakCyclesPerMm - 1;
  return {
    method: 'extra-noise-cross-spectrum',
    input: { seriesInstanceUid: input.seriesInstanceUid, slices: input.slices.length },
    slices: result.slices,
    roi: { kind: result.rois, size: result.roiSize, count: result.roiCount, kappaCount: result.kappaRoiCount },
    detrend: result.detrend,
    window: result.window,
    kappa: result.kappa,
    fullDoseTransfer: result.fullDoseTransfer,
    sdRatio: test.sdRatio,
    sd: { test: test.sd, reference: result.reference.sd },
    peakCyclesPerMm: { test: finite(test.peakCyclesPerMm), reference: finite(result.reference.peakCyclesPerMm) },
    peakShift: finite(peakShift),
    frequencyCyclesPerMm: [...result.frequency],
    transfer: list(test.transfer),
    nps: { test: list(test.nps), reference: list(result.reference.nps) },
  };
}

/**
 * The patient outline of a reference slice (1 inside): CT, `patientOutline` (above -500 HU after
 * a 2 mm Gaussian, holes filled); PET, `bodyOutline` (above 2 % of the 99th percentile of the
 * smoothed activity, holes filled), a fraction of the image's own percentile, so SUV and Bq/ml
 * give the same outline. Padding is left out later by `compareSlices`.
 */
function patientRegion(image: Image2D, modality: string): Uint8Array {
  return modality === 'CT' ? patientOutline(image) : bodyOutline(image.data, image.rows, image.columns);
}

/**
 * SUVmean / SUVmax / SUVpeak of every lesion in both series, and test over reference, on the slices
 * the two share (`pairs`, the scored pairs): a test that covers only part of the reference (a
 * partial denoise) is read over the same voxels as the reference, so a ratio compares like with
 * like; over every slice of each, the reference's own first two IEC slices as the test read a
 * SUVpeak "recovery" of 0.919 on identical pixels. Where a lesion's reach holds a reference slice
 * between the shared ones that has no partner, its peak sphere lacks that slice's voxels in both
 * series, and `peakSphereCut` says so.
 */
async function measureLesions(
  reference: Series,
  test: Series,
  lesions: readonly Lesion[],
  pairs: ReadonlyArray<readonly [number, number]>,
  progress: (message: string) => void,
): Promise<LesionResult[]> {
  progress(`measuring ${lesions.length} lesion(s)`);
  const referenceKept = new Set(pairs.map(([r]) => r));
  const testKept = new Set(pairs.map(([, t]) => t));
  if (referenceKept.size < reference.slices.length || testKept.size < test.slices.length) {
    progress(`lesions are measured on the ${pairs.length} slice(s) both series hold`);
  }
  const referenceSlices = await slicesNear(reference, lesions, '--reference', referenceKept);
  const testSlices = await slicesNear(test, lesions, '--test', testKept);
  const referenceEdges = seriesEdges(reference, referenceKept);
  const testEdges = seriesEdges(test, testKept);
  // HU is an interval scale (0 is water by definition): a ratio of two HU values is not a recovery.
  const ratio = (t: number, r: number) => (r === 0 || reference.units === 'HU' ? null : t / r);
  return lesions.map((lesion, i) => {
    const name = lesion.name ?? `lesion ${i + 1}`;
    const gap = unpairedSliceWithin(reference, referenceKept, referenceEdges, lesion);
    const measure = (slices: PlacedImage[], edges: StackEdges | null, option: string): LesionReading => {
      let stats: LesionStats;
      try {
        stats = lesionStats(slices, lesion, edges);
      } catch (error) {
        throw new LowdoseError('E_USAGE', `${option}: ${name} holds no voxel of the series: ${(error as Error).message}`);
      }
      return { voxels: stats.voxels, mean: stats.mean, max: stats.max, peak: stats.peak, peakCentre: stats.peakCentre, peakSphereCut: stats.peakSphereCut === true || gap };
    };
    const r = measure(referenceSlices, referenceEdges, '--reference');
    const t = measure(testSlices, testEdges, '--test');
    return {
      name,
      centre: lesion.centre,
      radius: lesion.radius,
      reference: r,
      test: t,
      recovery: { mean: ratio(t.mean, r.mean), max: ratio(t.max, r.max), peak: ratio(t.peak, r.peak) },
      difference: { mean: t.mean - r.mean, max: t.max - r.max, peak: t.peak - r.peak },
    };
  });
}

/** Where the `kept` slices of `series` end along its normal (every slice has a position: `slicesNear` has checked). */
function seriesEdges(series: Series, kept: ReadonlySet<number>): StackEdges | null {
  return stackEdges(series.slices.map((s, i) => (s.position && kept.has(i) ? alongNormal(series.orientation, s.position) : null)));
}

/** Whether a slice of `series` left out of `kept` lies between the kept ones' edges and within the lesion's reach. */
function unpairedSliceWithin(series: Series, kept: ReadonlySet<number>, edges: StackEdges | null, lesion: Lesion): boolean {
  if (!edges) return false;
  return series.slices.some((s, i) => {
    if (kept.has(i) || !s.position) return false;
    const location = alongNormal(series.orientation, s.position);
    return location > edges.first && location < edges.last && distanceFromSlice(sliceGeometry(series, i), lesion.centre) <= lesionReach(lesion);
  });
}

/** Slice `i`'s place in patient space, without its pixels (what `distanceFromSlice` reads). */
function sliceGeometry(series: Series, i: number): PlacedImage {
  return {
    position: series.slices[i]!.position!,
    orientation: series.orientation,
    rows: series.rows,
    columns: series.columns,
    pixelSpacing: [series.spacing[0], series.spacing[1]] as const,
    data: new Float32Array(0),
  };
}

/** The `kept` slices of `series` that a lesion or its peak sphere reaches, placed in patient space. */
async function slicesNear(series: Series, lesions: readonly Lesion[], option: string, kept: ReadonlySet<number>): Promise<PlacedImage[]> {
  const placed: PlacedImage[] = [];
  for (let i = 0; i < series.slices.length; i++) {
    const ref = series.slices[i]!;
    if (!ref.position) throw new LowdoseError('E_USAGE', `${option}: ${ref.file} has no ImagePositionPatient, so lesions in patient mm cannot be placed`, { path: ref.file });
    if (!kept.has(i)) continue;
    if (!lesions.some((l) => distanceFromSlice(sliceGeometry(series, i), l.centre) <= lesionReach(l))) continue;
    const image = await readSliceImage(series, i);
    placed.push({ ...image, position: ref.position, orientation: series.orientation });
  }
  return placed;
}

/** A slice as an Image2D, or null with its error recorded. */
async function readOrReport(series: Series, index: number, errors: MetricsErrors): Promise<Image2D | null> {
  try {
    return await readSliceImage(series, index);
  } catch (error) {
    errors.add(toLowdoseError(error, 'E_DECODE', series.slices[index]!.file).toJSON());
    return null;
  }
}

/**
 * The one image series under `path`, or the frames of one dynamic or gated PET acquisition (read as
 * one series per frame); anything else is bad usage. Unreadable files go to `errors`.
 */
async function seriesOrFrames(path: string, option: string, errors: MetricsErrors): Promise<Series[]> {
  const scan = await scanPaths([path], { listedPerCode: LISTED_PER_CODE });
  const acquisition = scan.series[0]?.petFrame?.acquisitionKey;
  if (scan.series.length > 1 && acquisition !== undefined && scan.series.every((s) => s.petFrame?.acquisitionKey === acquisition)) {
    errors.absorb(scan.errors.map((e) => e.toJSON()), scan);
    return scan.series;
  }
  return [await singleSeries(path, option, errors, scan)];
}

/** The one image series under `path`; anything else is bad usage. Unreadable files go to `errors`. */
async function singleSeries(path: string, option: string, errors: MetricsErrors, scanned?: Awaited<ReturnType<typeof scanPaths>>): Promise<Series> {
  const scan = scanned ?? (await scanPaths([path], { listedPerCode: LISTED_PER_CODE }));
  if (scan.missing.length > 0) throw new LowdoseError('E_NOT_FOUND', `${option} ${path}: no such file or directory`, { path });
  errors.absorb(scan.errors.map((e) => e.toJSON()), scan);
  if (scan.series.length === 0) {
    // The first file's reason and the count of the rest (scanProblems): a folder of junk makes a line, not one per file.
    throw new LowdoseError('E_USAGE', `${option} ${path}: no readable image series found${scanProblems(scan)}`);
  }
  if (scan.series.length > 1) {
    const list = scan.series.map((s) => `${s.key} (${s.modality}, ${s.slices.length} slices, "${s.seriesDescription}")`).join('; ');
    throw new LowdoseError('E_USAGE', `${option} ${path} holds ${scan.series.length} series (${list}); point it at the files or folder of one series`);
  }
  return scan.series[0]!;
}

function checkComparable(reference: Series, test: Series, label = 'test'): void {
  if (reference.rows !== test.rows || reference.columns !== test.columns) {
    throw new LowdoseError(
      'E_USAGE',
      `reference slices are ${reference.columns} x ${reference.rows} but ${label} slices are ${test.columns} x ${test.rows}; metrics need the same grid`,
    );
  }
  const tooSmall = ssimWindowRefusal(reference.rows, reference.columns);
  if (tooSmall !== null) throw new LowdoseError('E_USAGE', tooSmall);
  if (reference.modality !== test.modality) {
    throw new LowdoseError('E_USAGE', `reference is ${reference.modality || 'of unknown modality'} but ${label} is ${test.modality || 'of unknown modality'}`);
  }
  if (reference.units !== test.units) {
    throw new LowdoseError('E_USAGE', `reference is in ${reference.units} but ${label} is in ${test.units}; metrics need the same units`);
  }
}

/** Pixel-by-pixel scores need one pixel grid (pairingGridMismatch, the server's rule too); checked on the first pair. */
function checkSameGrid(reference: Series, other: Series, pairs: Array<[number, number]>, label: string, matchedBy: 'position' | 'order' = 'position'): void {
  const mismatch = pairingGridMismatch(reference, other, { pairs, matchedBy });
  if (mismatch) {
    throw new LowdoseError(
      'E_USAGE',
      `the reference and ${label} slices are not on one pixel grid (${mismatch}): pixel-by-pixel metrics would compare other places of the patient; resample one series onto the other's grid first`,
    );
  }
}

/** CONTRACT defaults: CT [-1000, 1000] HU; PET [0, max of the reference series]. */
async function defaultSeriesRange(reference: Series, progress: (message: string) => void): Promise<IntensityRange> {
  if (reference.modality === 'CT') return CT_RANGE;
  if (reference.modality !== 'PT') {
    throw new LowdoseError('E_USAGE', `no default metric range for modality ${reference.modality || '(none)'}; give --range lo,hi`);
  }
  progress(`finding the maximum of the reference (${reference.slices.length} slices) for the PET range`);
  let max = -Infinity;
  for (let i = 0; i < reference.slices.length; i++) {
    const { data, padding } = await readSliceImage(reference, i);
    for (let k = 0; k < data.length; k++) if (!padding?.[k] && data[k]! > max && Number.isFinite(data[k]!)) max = data[k]!;
  }
  if (!(max > 0)) throw new LowdoseError('E_USAGE', `the PET reference has no positive value (max ${max}); give --range lo,hi`);
  return [0, max];
}

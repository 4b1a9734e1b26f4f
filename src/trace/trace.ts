/**
 * `lowdose trace` as a library call: one DICOM slice through the forward process (under a chosen
 * β schedule) and through the model's reverse process, drawn as a labelled grid PNG, with the
 * numbers behind every panel.
 *
 * The forward frames use the schedule asked for (default: the model's own), with the model's T and
 * value mapping; the reverse process always uses the model's own training schedule and the chosen
 * sampler, since a network only knows the noise levels it was trained on.
 */
import { readSliceImage, scanPaths, scanProblems, type Series } from '../dicom/index.js';
import { describeConsistency, type SamplerName } from '../diffusion/index.js';
import { fillGaussian } from '../diffusion/gaussian.js';
import { NoiseSchedule, type BetaScheduleConfig, type BetaScheduleKind, isResShiftSchedule } from '../diffusion/schedules.js';
import { LowdoseError } from '../errors.js';
import { CT_RANGE, defaultRange, maxValue, type IntensityRange } from '../metrics/range.js';
import { Denoiser, type Modality, type ModelCard } from '../models/index.js';
import { NothingToDenoiseError, nothingToDenoiseScan, seriesToDenoiseIn } from '../pipeline/not-denoised.js';
import { defaultWindow, type DisplayWindow } from '../pipeline/preview.js';
import type { DeviceRequest } from '../runtime/index.js';
import { withoutUndefined } from '../util/defined.js';
import { Rng } from '../util/random.js';
import { roundTo } from '../util/round.js';
import { forwardProcess, fractionLabel, DEFAULT_FORWARD_FRACTIONS, type ForwardFrame } from './forward.js';
import { renderTraceGrid, type GridLayout, type TracePanel } from './render.js';
import { reverseProcess, type ReverseFrame } from './reverse.js';

/** The forward schedules `trace --schedule` draws. */
export { BETA_SCHEDULE_KINDS as SCHEDULE_KINDS } from '../diffusion/schedules.js';
/** Rng stream key of the forward frames' noise field (the reverse process uses denoise's own streams). */
export const FORWARD_NOISE_STREAM = 0x464f5257;

export interface TraceOptions {
  readonly paths: readonly string[];
  /** Slice index in the series (sorted along its normal); default the middle one. */
  readonly slice?: number;
  /** Default: the shipped model for the series' modality. */
  readonly model?: string;
  /** Schedule of the forward frames; default the model's own. */
  readonly schedule?: BetaScheduleKind;
  readonly sampler?: SamplerName;
  /** Default: the card's. */
  readonly steps?: number;
  readonly seed?: number;
  readonly guidance?: number;
  /** Measurement-consistency strength; default: the card's. */
  readonly consistency?: number;
  /** Dose fraction of the input, if known. */
  readonly dose?: number;
  readonly device?: DeviceRequest;
  readonly threads?: number;
  readonly fractions?: readonly number[];
  /** Display window; default CT -1000..1000 HU, PET SUV 0..5. */
  readonly window?: DisplayWindow;
  /** Largest panel edge, px. */
  readonly panel?: number;
  /** Most panels per row. */
  readonly maxColumns?: number;
  readonly modelsDir?: string | readonly string[];
  readonly log?: (message: string) => void;
}

export interface TraceReport {
  readonly input: {
    readonly file: string;
    readonly seriesInstanceUid: string;
    readonly modality: Modality;
    readonly units: string;
    readonly rows: number;
    readonly columns: number;
    readonly slice: number;
    readonly slices: number;
  };
  readonly model: string;
  readonly device: string;
  readonly sampler: SamplerName;
  readonly steps: number;
  readonly seed: number;
  readonly guidance: number;
  /** The consistency strength used (0 = off). */
  readonly consistency: number;
  readonly window: [number, number];
  /** Intensity range of the SSIM values. */
  readonly range: [number, number];
  readonly forward: {
    readonly schedule: BetaScheduleConfig;
    readonly frames: Array<Omit<ForwardFrame, 'image'> & { readonly label: string }>;
  };
  readonly reverse: {
    readonly schedule: ModelCard['schedule'];
    readonly frames: Array<Omit<ReverseFrame, 'sample' | 'prediction'>>;
    readonly output: { readonly ssim: number };
    readonly totalMs: number;
    readonly modelMs: number;
  };
  readonly grid: { readonly width: number; readonly height: number; readonly columns: number; readonly factor: number };
}

export interface TraceResult {
  readonly report: TraceReport;
  readonly png: Buffer;
  readonly layout: GridLayout;
}

/** The forward schedule for a model: the kind asked for, with the card's parameters when it is the card's kind. */
export function forwardSchedule(card: ModelCard, kind?: BetaScheduleKind): BetaScheduleConfig {
  const own = isResShiftSchedule(card.schedule) ? null : card.schedule;
  const wanted = kind ?? own?.kind ?? 'cosine';
  if (own && own.kind === wanted) return own;
  return { kind: wanted, trainSteps: own?.trainSteps ?? 1000 };
}

/** SSIM range (CONTRACT): CT [-1000, 1000] HU, PET [0, max of the input]. */
export function traceRange(modality: Modality, input: Float32Array): IntensityRange {
  return modality === 'CT' ? CT_RANGE : defaultRange('PT', Math.max(maxValue([input]), 1e-6));
}

export function traceWindow(modality: Modality, units: string, input: Float32Array): DisplayWindow {
  return modality === 'CT' ? { lo: -1000, hi: 1000 } : defaultWindow(units, input);
}

export async function traceSlice(options: TraceOptions): Promise<TraceResult> {
  const log = options.log ?? (() => {});
  const { series, modality } = await pickSeries(options.paths, log);
  const count = series.slices.length;
  const index = options.slice ?? Math.floor((count - 1) / 2);
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new LowdoseError('E_USAGE', `--slice must be in 0..${count - 1} for series ${series.seriesInstanceUid}, got ${options.slice}`);
  }
  // The sampler, steps, guidance and consistency as `lowdose denoise` would resolve them.
  const denoiser = await Denoiser.load(options.model, {
    modality,
    log,
    ...withoutUndefined({
      device: options.device,
      threads: options.threads,
      modelsDir: options.modelsDir,
      sampler: options.sampler,
      steps: options.steps,
      seed: options.seed,
      guidance: options.guidance,
      consistency: options.consistency,
    }),
  });
  const { model, card, normalization: norm, sampler, steps, seed, guidance, consistency } = denoiser;
  try {
    denoiser.checkSeries(series);
    const image = await readSliceImage(series, index);
    const { rows, columns, data: input } = image;
    const range = traceRange(modality, input);
    const window = options.window ?? traceWindow(modality, series.units, input);

    const schedule = new NoiseSchedule(forwardSchedule(card, options.schedule));
    const noise = fillGaussian(new Rng(seed, index, FORWARD_NOISE_STREAM), new Float32Array(rows * columns));
    const fractions = options.fractions ?? DEFAULT_FORWARD_FRACTIONS;
    const forward = forwardProcess(input, { rows, columns, normalization: norm, schedule, noise, range, fractions });

    const neighbours = card.neighbours === 1
      ? {
          below: (await readSliceImage(series, Math.max(0, index - 1))).data,
          above: (await readSliceImage(series, Math.min(count - 1, index + 1))).data,
        }
      : {};
    const reverse = await reverseProcess(model, input, {
      rows,
      columns,
      modality,
      sampler,
      steps,
      seed,
      sliceIndex: index,
      guidance,
      range,
      consistency,
      pixelSpacing: image.pixelSpacing,
      ...neighbours,
      ...(options.dose !== undefined ? { doseLevel: options.dose } : {}),
    });

    const file = series.slices[index]!.file;
    const level = (f: { alphaBar: number | null; eta: number | null }) =>
      f.alphaBar !== null ? `ᾱ=${fmt(f.alphaBar)}` : f.eta !== null ? `η=${fmt(f.eta)}` : '';
    const grid = {
      rows,
      columns,
      window,
      title: [
        `lowdose trace  ${modality} slice ${index + 1}/${count}  ${shortName(file)}  window ${window.lo}..${window.hi} ${series.units}`,
        `model ${card.name}  sampler ${sampler.name}  ${reverse.frames.length} steps  seed ${seed}  guidance ${guidance}${consistency ? `  ${describeConsistency(consistency)}` : ''}  ssim vs input, range ${range[0]}..${fmt(range[1])}`,
      ],
      forwardTitle: `forward q(x_t|x_0), ${schedule.config.kind} schedule, T=${schedule.trainSteps}`,
      forward: forward.map(
        (f): TracePanel => ({
          image: f.image,
          label: [f.timestep === null ? 't=0 (input)' : `t=${f.timestep} ${fractionLabel(f.fraction)}`, `ᾱ=${fmt(f.alphaBar)}`, `ssim ${fmt(f.ssim)}`],
        }),
      ),
      reverseTitle: `reverse: x_t into the network (upper) and predicted x̂_0 (lower), ${card.schedule.kind} schedule of ${card.name}`,
      reverseSamples: [
        ...reverse.frames.map((f): TracePanel => ({ image: f.sample, label: [`step ${f.step + 1} t=${f.timestep}`, level(f), `ssim ${fmt(f.ssimSample)}`] })),
        { image: reverse.output, label: ['output', '', `ssim ${fmt(reverse.ssimOutput)}`] },
      ],
      reversePredictions: [
        ...reverse.frames.map((f): TracePanel => ({ image: f.prediction, label: [`x̂_0 step ${f.step + 1}`, `t=${f.timestep}`, `ssim ${fmt(f.ssimPrediction)}`] })),
        { image: input, label: ['input', '(reference)', ''] },
      ],
    };
    const { png, layout } = renderTraceGrid(grid, {
      ...(options.panel !== undefined ? { panel: options.panel } : {}),
      ...(options.maxColumns !== undefined ? { maxColumns: options.maxColumns } : {}),
    });
    const report: TraceReport = {
      input: { file, seriesInstanceUid: series.seriesInstanceUid, modality, units: series.units, rows, columns, slice: index, slices: count },
      model: card.name,
      device: model.device.used,
      sampler: sampler.name,
      steps: reverse.frames.length,
      seed,
      guidance,
      consistency: consistency?.strength ?? 0,
      window: [window.lo, window.hi],
      range: [range[0], range[1]],
      forward: {
        schedule: schedule.config,
        frames: forward.map(({ image: _image, ...rest }) => ({ ...rest, label: fractionLabel(rest.fraction) })),
      },
      reverse: {
        schedule: card.schedule,
        frames: reverse.frames.map(({ sample: _s, prediction: _p, ...rest }) => rest),
        output: { ssim: reverse.ssimOutput },
        totalMs: roundTo(reverse.timing.totalMs, 1),
        modelMs: roundTo(reverse.timing.modelMs, 1),
      },
      grid: { width: layout.width, height: layout.height, columns: layout.gridColumns, factor: layout.factor },
    };
    return { report, png, layout };
  } finally {
    await denoiser.release();
  }
}

async function pickSeries(paths: readonly string[], log: (message: string) => void): Promise<{ series: Series; modality: Modality }> {
  const scan = await scanPaths(paths);
  // CT and PET as denoise takes them, derived series too (a trace draws, it writes no series); the
  // others are said in the error's `scan` as denoise says them, not logged.
  const { wanted: candidates, skipped } = seriesToDenoiseIn(scan.series, { includeDerived: true, log: () => {} });
  if (candidates.length === 0) {
    throw new NothingToDenoiseError(`no CT or PET series found in ${paths.join(', ')}${scanProblems(scan)}`, nothingToDenoiseScan(scan, skipped));
  }
  const series = candidates[0]!;
  if (candidates.length > 1) {
    log(`${candidates.length} CT / PET series found; tracing the first, ${series.seriesInstanceUid} (pass one series' folder to choose)`);
  }
  return { series, modality: series.modality as Modality };
}

function fmt(value: number): string {
  if (value === 0 || value === 1) return String(value);
  const abs = Math.abs(value);
  return abs >= 100 ? value.toFixed(0) : abs >= 0.01 ? value.toFixed(3) : value.toExponential(1);
}

function shortName(file: string): string {
  const parts = file.split(/[\\/]/);
  return parts.slice(-2).join('/');
}

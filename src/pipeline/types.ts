/**
 * The denoise pipeline's public shapes: what the CLI, the server's job queue and the demo pass in
 * and get back. `report.json` and `denoise --json` are `DenoiseReport` (docs/contract.md).
 */
import type { DenoiseMethod, SamplerName } from '../choices.js';
import type { TextureReport } from '../models/denoiser.js';
import type { ModelFingerprint } from '../models/fingerprint.js';
import type { ToolkitIdentity } from '../util/toolkit.js';
import type { LesionBiasAtLevel } from '../models/lesion-bias.js';
import type { PaddingFill } from '../padding.js';
import type { SkippedSeries } from './not-denoised.js';
import type { LowBandSettings } from '../filters/low-band.js';
import type { Texture } from '../diffusion/texture.js';
import type { DeviceRequest } from '../runtime/index.js';
import type { HallucinationSummary } from './hallucination.js';
import type { ExtraOutputs } from './extra-outputs.js';
import type { Series } from '../dicom/index.js';
import type { ReportedInput } from './frame-output.js';
import type { UncertaintySeriesSummary, UncertaintySliceSummary } from './uncertainty-summary.js';
import type { QueueLockCheck } from '../util/folder-lock.js';
import type { OverwriteRequest } from './acquisition-series.js';
import type { ReportedOutputSeries } from '../dicom/write-derived.js';
import type { PetCardiacGate, PetRespiratoryGate } from '../dicom/derived-pet-series.js';

export { DENOISE_METHODS, type DenoiseMethod } from '../choices.js';

export interface DenoiseOptions {
  /** Output directory: one sub-folder per series, previews/, report.json. */
  readonly outDir: string;
  readonly method?: DenoiseMethod;
  /** Model name (in models/) or path to its .json / .onnx; default: the shipped model for the modality. */
  readonly model?: string;
  readonly device?: DeviceRequest;
  /** Reverse-process steps; default: the model card's. */
  readonly steps?: number;
  readonly sampler?: SamplerName;
  /** Warm-start strength (fraction of T re-run); default: the model card's. Not a CLI option. */
  readonly strength?: number;
  readonly seed?: number;
  /** Ensemble size K; K > 1 also writes an uncertainty (per-pixel std) series. */
  readonly samples?: number;
  readonly guidance?: number;
  /**
   * Geometric self-ensemble: each prediction averaged over 1, 2, 4 or 8 flips and turns of the
   * slice (docs/diffusion.md, "Orientations"); default: the model card's `sampler.orientations`, else 1.
   */
  readonly orientations?: number;
  /**
   * Measurement-consistency strength in [0, 1] (docs/diffusion.md); default: the model card's
   * `sampler.consistency`, else 0 (off).
   */
  readonly consistency?: number;
  /**
   * Low-band denoising strength after the reverse process, in noise SDs of the band, 0 = off
   * (src/filters/low-band.ts, CT only); default: the model card's `lowBand`, else off.
   */
  readonly lowBand?: number;
  /**
   * The consistency step's pilot average (measured pixels weighted by the estimate's patches):
   * h in noise SDs, 0 = off; default: the model card's (docs/diffusion.md).
   */
  readonly consistencyPilot?: number;
  /**
   * Write the calibrated uncertainty (the card's `uncertainty` block applied to the ensemble spread)
   * as the uncertainty series, and summaries into the report; `samples` defaults to the card's.
   */
  readonly uncertainty?: boolean;
  /** sigma above which a pixel counts as uncertain in the summaries; default: the card's. */
  readonly uncertaintyThreshold?: number;
  /**
   * Reference-free hallucination map: sFRC between the two halves of the ensemble, kept where the
   * calibrated uncertainty is also above the threshold (docs/uncertainty.md).
   */
  readonly hallucination?: boolean;
  /**
   * Slices per sampler run. The network sees batch x samples images per step, in forward calls
   * chunked to fit the memory budget.
   */
  readonly batch?: number;
  /**
   * Memory budget in bytes (src/pipeline/memory-budget.ts): a job whose estimate does not fit is
   * refused with E_MEMORY_BUDGET before any work. Default: LOWDOSE_MEMORY_BUDGET, else half the
   * machine's memory.
   */
  readonly memoryBudget?: number;
  /** Dose fraction of the input when known (0 or absent: unknown). */
  readonly doseLevel?: number;
  /**
   * 'smooth' (default): the model's output as it is. 'full-dose': the model's output with the
   * full-dose share of the removed noise put back (src/diffusion/texture.ts); diffusion only.
   */
  readonly texture?: Texture;
  /** Paths of a reference (e.g. normal-dose) series; adds PSNR / SSIM / RMSE to the report. */
  readonly reference?: readonly string[];
  readonly overwrite?: boolean;
  /**
   * The `--overwrite` request this run is part of: runs given the same one (the jobs of one batch)
   * redo a dynamic or gated PET acquisition into ONE new derived series
   * (src/pipeline/acquisition-series.ts). Default: a request of this run alone.
   */
  readonly overwriteRequest?: OverwriteRequest;
  /** Denoise series lowdose derived too (its denoised and uncertainty series), which are skipped by default. */
  readonly includeDerived?: boolean;
  /** Wait for another run that is writing one of the output series folders (default: fail with E_LOCKED). */
  readonly waitLock?: boolean;
  /**
   * Set by `lowdose worker`: this run is a queue job, and a folder lock left on another host by a
   * queue job whose worker lost its job lock is taken over (src/util/folder-lock.ts).
   */
  readonly queueLock?: QueueLockCheck;
  readonly threads?: number;
  /** What the denoiser sees in padded pixels (they are restored after); default nearest valid value. */
  readonly paddingFill?: PaddingFill;
  /** Called as slices finish, for progress bars and server-sent events. */
  readonly onProgress?: (event: DenoiseProgress) => void;
  /**
   * Called once the series to denoise are chosen, before the first is run, in the order (and with
   * the indices) of onProgress's seriesIndex: a queue worker reports a PACS study's series and slice
   * counts with it.
   */
  readonly onSeriesList?: (series: ReadonlyArray<{ readonly seriesInstanceUid: string; readonly modality: string; readonly slices: number }>) => void;
  /** Aborts between batches; the series in progress is left without its completion marker. */
  readonly signal?: AbortSignal;
  /** Human messages (stderr in the CLI). */
  readonly log?: (message: string) => void;
  /**
   * Write `report.json` in outDir (default true). Queue jobs (src/queue/) run one series each into
   * a folder they share, so they leave it to the batch, which writes one for all its series.
   */
  readonly writeReport?: boolean;
  /**
   * Told every file the scans (input, --reference) could not read, listed in `errors` or not, as
   * the scan meets it. Given, the run writes no unreadable.tsv of its own: the caller keeps the
   * whole list. A PACS run (./remote-denoise.ts) does, naming each pulled file by its SOP Instance
   * UID and series address, and a several-study run gathers its studies' into one list
   * (./pacs-studies.ts). Absent, a run that writes report.json writes every one to unreadable.tsv
   * beside it (src/util/error-list-file.ts).
   */
  readonly onUnreadable?: (entry: { readonly path: string | null; readonly code: string; readonly message: string }) => void;
  /**
   * The PACS address (DICOMweb series URL or dimse:// address) of a series read from a PACS run's
   * pull folder, null for any other (./remote-denoise.ts): the series' completion marker names its
   * input by that address and no file of the pull folder, which is temporary.
   */
  readonly pacsInputUrl?: (series: Series) => string | null;
}

export interface DenoiseProgress {
  readonly seriesIndex: number;
  readonly seriesCount: number;
  readonly seriesKey: string;
  readonly slicesDone: number;
  readonly slicesTotal: number;
}

export interface SeriesMetrics {
  readonly psnr: number | null;
  readonly ssim: number;
  readonly rmse: number;
  /** Metrics of the input against the same reference, for comparison. */
  readonly input?: { readonly psnr: number | null; readonly ssim: number; readonly rmse: number };
  readonly range: [number, number];
  readonly reference: { readonly seriesInstanceUid: string; readonly files: number };
  /**
   * An input whose frames name several radiopharmaceuticals (written as one series per agent),
   * against a reference whose frames do too: each agent's scores, its slices against the
   * reference's frames of that agent only (its range their maximum, `reference.files` their count),
   * by agent number. The scores above are then the first agent's (the first output series').
   */
  readonly agents?: ReadonlyArray<Omit<SeriesMetrics, 'agents' | 'series'> & { readonly agent: number }>;
  /**
   * An input written as several series (`output.series`: one per agent and respiratory gate),
   * against a reference whose frames are the same agents and gates: each written series' scores, its
   * slices against the reference's frames of its own agent and gate only (its range their maximum,
   * `reference.files` their count). A written series the reference has no such frames of is left out.
   */
  readonly series?: ReadonlyArray<
    Omit<SeriesMetrics, 'agents' | 'series'> & {
      readonly seriesInstanceUid: string;
      readonly agent: number | null;
      readonly respiratoryGate?: PetRespiratoryGate;
      readonly cardiacGate?: PetCardiacGate;
    }
  >;
}

export interface SeriesReport {
  readonly input: ReportedInput;
  readonly output: {
    readonly seriesInstanceUid: string;
    /**
     * Every series the output is (an addition, present only when it is several): a multi-frame PET
     * source whose frames name several radiopharmaceuticals is written as one classic PET series per
     * agent (src/dicom/derived-pet-series.ts); `seriesInstanceUid` is the first.
     */
    readonly seriesInstanceUids?: readonly string[];
    /**
     * Each of `seriesInstanceUids` (an addition, present with it) with what it was made from: its
     * agent (null: the source has one), respiratory or cardiac gate, the source series, its files and
     * the source frame each was made from (src/dicom/write-derived.ts reportedOutputSeries).
     */
    readonly series?: readonly ReportedOutputSeries[];
    readonly dir: string;
    readonly files: string[];
  };
  /**
   * The ensemble's per-pixel std series, when samples > 1; with `--uncertainty` the calibrated
   * error SD instead (`calibrated: true`), with its calibration and per-series / per-slice summaries.
   */
  readonly uncertainty?: {
    readonly seriesInstanceUid: string;
    readonly dir: string;
    readonly files: string[];
    readonly calibrated?: boolean;
    readonly calibration?: {
      readonly samples: number;
      readonly spreadScale: number;
      readonly noiseScale: number;
      readonly noiseWindowMm: number;
      /** The series noise term's weight, when the card has one (docs/uncertainty.md). */
      readonly noiseLevelScale?: number;
      /** The input series' noise SD that term used (estimateSeriesNoise), in `units`; only with noiseLevelScale. */
      readonly inputNoise?: number;
      readonly threshold: number;
      readonly units: string;
    };
    readonly summary?: UncertaintySeriesSummary;
    readonly slices?: UncertaintySliceSummary[];
  };
  /** `--hallucination`: the reference-free sFRC map of the ensemble's halves (docs/uncertainty.md). */
  readonly hallucination?: HallucinationSummary;
  /**
   * What was written besides the denoised series (./extra-outputs.ts): a rerun skips the series only
   * if it holds what the rerun asks for. Absent in a report written before it was recorded.
   */
  readonly extraOutputs?: ExtraOutputs;
  readonly previews: string[];
  readonly method: DenoiseMethod;
  readonly model: string | null;
  /**
   * The model files that made this series, hashed when the run planned it (again at the load if a file changed since)
   * (src/models/fingerprint.ts, the shape of qa's settings.modelFingerprint); null for a filter.
   * Absent in a report (or a skipped series' completion marker) written before it was recorded.
   */
  readonly modelFingerprint?: ModelFingerprint | null;
  /**
   * What the denoiser saw in padded pixels (DenoiseOptions.paddingFill; src/padding.ts): the pixels
   * next to padding are denoised from it. Absent in a report written before it was recorded.
   */
  readonly paddingFill?: PaddingFill;
  /** The lowdose that made this series (a skipped series keeps its first run's). Absent where older. */
  readonly toolkit?: ToolkitIdentity;
  readonly settings: string;
  readonly device: string;
  readonly deviceReport?: string;
  readonly steps: number | null;
  readonly seed: number;
  readonly samples: number;
  readonly guidance: number | null;
  /** Flips and turns each prediction was averaged over (diffusion only; null for a filter). */
  readonly orientations?: number | null;
  /** The measurement-consistency settings used (diffusion only; null = off). */
  readonly consistency?: { readonly strength: number; readonly scaleMm: number; readonly threshold: number } | null;
  /** The low-band denoising used (diffusion only; null = off). */
  readonly lowBand?: LowBandSettings | null;
  /**
   * The output texture; for 'full-dose' also the dose fraction it assumed, where that came from and
   * the share w of the removed noise put back.
   */
  readonly texture?: TextureReport;
  readonly msPerSlice: number;
  /** Raw network time per slice (diffusion only), to see per-step overhead. */
  readonly modelMsPerSlice?: number;
  /**
   * The memory estimate the run was admitted with (src/pipeline/memory-budget.ts): bytes, the
   * budget, and images (or tiles) per network forward call after chunking (0 for filters).
   */
  readonly memory?: { readonly estimateBytes: number; readonly budgetBytes: number; readonly forwardBatch: number };
  readonly skipped?: boolean;
  /**
   * How a skipped series was judged finished, where not by the run reading it: `sop-instance-uids`,
   * by `denoise --skip-by-uid` from the PACS's list of its SOP Instance UIDs against its completion
   * markers, the study not pulled and the slices' content not compared (./finished-by-uid.ts).
   * Absent when the series was read and compared (or not skipped).
   */
  readonly skippedBy?: 'sop-instance-uids';
  /**
   * report.json only: a finished series an earlier run into the same folder left there and this run
   * did not report, as that run recorded it (./folder-report.ts). Absent in `denoise --json`.
   */
  readonly earlierRun?: true;
  readonly metrics?: SeriesMetrics;
  /**
   * `--reference`: the reference series at the input's slice positions but on another pixel grid
   * (another pixel spacing, in-plane origin or orientation), linked for the viewer and not scored
   * (`metrics` absent): pixel-by-pixel scores would compare other places of the patient.
   */
  readonly unscoredReference?: UnscoredReference;
  /**
   * The input series' reading warnings (gaps, duplicates, E_SUV_UNAVAILABLE, E_SHARP_KERNEL, ...),
   * the run's own (E_LESION_BIAS with its numbers as `lesionBias`, ...) and the writer's.
   */
  readonly warnings: Array<{ path: string | null; code: string; message: string; lesionBias?: LesionBiasAtLevel }>;
}

/** A reference series at the input's slice positions but on another pixel grid: shown, not scored. */
export interface UnscoredReference {
  readonly seriesInstanceUid: string;
  readonly files: number;
  /** Why it is not scored pixel by pixel (src/metrics/slice-pairing.ts pixelGridMismatch). */
  readonly reason: string;
}

export type { TextureReport } from '../models/denoiser.js';

export interface DenoiseReport {
  /** The lowdose that wrote this report (absent in reports written before it was recorded). */
  readonly toolkit?: ToolkitIdentity;
  readonly series: SeriesReport[];
  /**
   * The run's errors: every series' that failed, and of the files that could not be read at most
   * LISTED_PER_CODE of each code (src/util/code-sample.ts).
   */
  readonly errors: Array<{ path: string | null; code: string; message: string }>;
  /** Every error, listed in `errors` or not (absent in reports written before it was counted). */
  readonly errorCount?: number;
  /** `errorCount` by code. */
  readonly errorsByCode?: Record<string, number>;
  /**
   * The whole list of the files the run's scans (input, --reference) could not read, one per line,
   * beside report.json (unreadable.tsv, src/util/error-list-file.ts); absent when there was none,
   * or no report.json was written. A series that failed is always in `errors` itself.
   */
  readonly errorsFile?: string;
  /** Series of the input left out (not CT or PET, or derived by lowdose); absent when none was. */
  readonly skipped?: SkippedSeries[];
}

/**
 * The JSON shapes of the HTTP API: what routes return and what the viewer reads. Type-only, so
 * the viewer bundle imports it without pulling in server code.
 */
import type { Texture } from '../diffusion/texture.js';

/** How a series came to be, from its headers and from denoise reports. */
export type SeriesRole = 'original' | 'low-dose' | 'full-dose' | 'denoised' | 'uncertainty' | 'derived';

export interface SeriesSummary {
  readonly id: string;
  readonly studyId: string;
  readonly modality: string;
  readonly description: string;
  readonly seriesNumber: number | null;
  readonly role: SeriesRole;
  readonly rows: number;
  readonly columns: number;
  readonly slices: number;
  /** 'HU', 'SUVbw', 'BQML', ... */
  readonly units: string;
}

export interface SeriesDetail extends SeriesSummary {
  /** Changes whenever the series' files do; slice URLs carry it (`?v=`) so they can be cached forever. */
  readonly rev: string;
  /** [row, column, slice] spacing, mm. */
  readonly spacing: [number, number, number];
  readonly derivation: string;
  /** The file's own VOI window [centre, width], when it has one. */
  readonly window: [number, number] | null;
  readonly photometricInterpretation: string;
  /** Each slice's position along the slice normal, mm (null when unknown). */
  readonly locations: Array<number | null>;
  readonly transferSyntaxes: string[];
  readonly warnings: ApiError[];
}

export interface ReportFacts {
  readonly method: string | null;
  readonly model: string | null;
  readonly settings: string | null;
  readonly device: string | null;
  readonly steps: number | null;
  readonly seed: number | null;
  readonly samples: number | null;
  readonly msPerSlice: number | null;
  /** The report's own series means against its reference, when it computed them. */
  readonly metrics: { readonly psnr: number | null; readonly ssim: number; readonly rmse: number } | null;
}

export interface ComparisonSummary {
  readonly id: string;
  readonly studyId: string;
  readonly modality: string;
  readonly description: string;
  readonly lowDose: string;
  readonly denoised: string;
  readonly reference: string | null;
  readonly uncertainty: string | null;
  /** 'report': named by a report.json; 'headers': found from DICOM derivation headers. */
  readonly pairedBy: 'report' | 'headers';
}

export interface ComparisonDetail extends ComparisonSummary {
  /** For each low-dose slice, the index of the matching slice in each pane's series (-1: none). */
  readonly alignment: {
    readonly denoised: number[];
    readonly reference: number[] | null;
    readonly uncertainty: number[] | null;
  };
  readonly report: ReportFacts | null;
}

export interface StudySummary {
  readonly id: string;
  readonly description: string;
  /** DICOM DA (YYYYMMDD) or ''. */
  readonly date: string;
  readonly modalities: string[];
  readonly series: SeriesSummary[];
  readonly comparisons: ComparisonSummary[];
}

export interface StudiesResponse {
  readonly studies: StudySummary[];
  /** Files under the data folders that could not be read as images (details in the server log). */
  readonly unreadableFiles: number;
}

export interface ApiError {
  readonly code: string;
  readonly message: string;
}

export interface Scores {
  /** dB; null when the two slices are identical within the range. */
  readonly psnr: number | null;
  readonly ssim: number;
  readonly rmse: number;
}

export interface NoisePair {
  /** No-reference noise estimate (std, modality units); null when the slice has too little flat tissue. */
  readonly lowDose: number | null;
  readonly denoised: number | null;
}

export interface SliceMetrics {
  /** Index in the low-dose series. */
  readonly index: number;
  /** Denoised against the reference (or against the low-dose source when there is no reference). */
  readonly denoised: Scores | null;
  /** Low-dose against the reference; null without a reference. */
  readonly lowDose: Scores | null;
  readonly noise: NoisePair;
}

export interface ComparisonMetrics {
  readonly comparisonId: string;
  readonly against: 'reference' | 'source';
  readonly range: [number, number];
  readonly units: string;
  readonly slices: SliceMetrics[];
  readonly mean: { readonly denoised: Scores | null; readonly lowDose: Scores | null; readonly noise: NoisePair };
}

/** JSON header of the binary slice format (see docs/viewer.md). */
export interface SliceHeader {
  readonly rows: number;
  readonly columns: number;
  readonly index: number;
  readonly spacing: [number, number, number];
  /** Element type of the pixel block. */
  readonly dtype: 'int16' | 'float32';
  /** value in `units` = stored × slope + intercept (float32 blocks are stored with slope 1, intercept 0). */
  readonly rescale: { readonly slope: number; readonly intercept: number };
  readonly units: string;
  /** Range of the slice in `units`. */
  readonly min: number;
  readonly max: number;
  readonly photometricInterpretation: string;
}

export type JobStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

/** `lowdose denoise` options a job may set. */
export interface JobOptions {
  readonly method?: 'diffusion' | 'gaussian' | 'bilateral' | 'nlm';
  readonly model?: string;
  readonly device?: 'auto' | 'cpu' | 'webgpu' | 'cuda';
  readonly steps?: number;
  readonly sampler?: string;
  readonly seed?: number;
  readonly samples?: number;
  readonly guidance?: number;
  /** Measurement-consistency strength, 0..1 (default: the model card's). */
  readonly consistency?: number;
  /** 'smooth' (default) or 'full-dose' (diffusion only): see `denoise --texture`. */
  readonly texture?: Texture;
  /** Dose fraction of the input, (0, 1] (`denoise --dose`). */
  readonly dose?: number;
  readonly batch?: number;
}

export interface JobProgress {
  /** 0..1 over all slices of all series. */
  readonly fraction: number;
  readonly seriesIndex: number;
  readonly seriesCount: number;
  readonly slicesDone: number;
  readonly slicesTotal: number;
}

export interface JobView {
  readonly id: string;
  readonly status: JobStatus;
  /** The device queue it waits in: one running job per device. */
  readonly device: string;
  /** Input series ids. */
  readonly series: string[];
  readonly reference: string | null;
  readonly options: JobOptions;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  /** 0 = next to run on its device; null when not queued. */
  readonly queuePosition: number | null;
  readonly progress: JobProgress | null;
  readonly error: ApiError | null;
  readonly result: {
    /** Comparisons (low-dose vs denoised) the job produced. */
    readonly comparisons: string[];
    readonly errors: ApiError[];
  } | null;
}

export interface UploadResponse {
  readonly uploadId: string;
  /** Files kept. */
  readonly files: number;
  readonly series: SeriesSummary[];
  /** Files refused, by the name the client sent. */
  readonly rejected: Array<{ readonly name: string; readonly code: string; readonly message: string }>;
}

/**
 * The JSON shapes of the HTTP API: what routes take and return and what the viewer reads, each
 * the type of its schema in ./schemas.ts (the schema is the type). Type-only imports, so the
 * viewer bundle takes nothing from the server; the binary slice header is the one shape without a
 * schema (it is not JSON on the wire).
 */
import type { Static } from 'typebox';
import type * as S from './schemas.js';

export type SeriesRole = Static<typeof S.seriesRole>;
export type SeriesSummary = Static<typeof S.seriesSummary>;
export type PetFrame = Static<typeof S.petFrame>;
export type SeriesDetail = Static<typeof S.seriesDetail>;
export type ReportFacts = Static<typeof S.reportFacts>;
export type ComparisonSummary = Static<typeof S.comparisonSummary>;
export type ComparisonDetail = Static<typeof S.comparisonDetail>;
export type StudySummary = Static<typeof S.studySummary>;
export type StudiesResponse = Static<typeof S.studiesResponse>;
export type ApiError = Static<typeof S.apiError>;
export type Scores = Static<typeof S.scores>;
export type PairingWarning = Static<typeof S.pairingWarning>;
export type NoisePair = Static<typeof S.noisePair>;
export type SliceMetrics = Static<typeof S.sliceMetrics>;
export type ComparisonMetrics = Static<typeof S.comparisonMetrics>;
export type ModelsResponse = Static<typeof S.modelsResponse>;
export type HealthResponse = Static<typeof S.healthResponse>;
export type JobStatus = Static<typeof S.jobStatus>;
/** `lowdose denoise` options a job may set. */
export type JobOptions = Static<typeof S.jobOptions>;
export type JobRequest = Static<typeof S.jobRequest>;
export type JobProgress = Static<typeof S.jobProgress>;
export type JobView = Static<typeof S.jobView>;
export type JobError = Static<typeof S.jobError>;
export type JobResultError = Static<typeof S.jobResultError>;
/** An input series of a job with `allowIncomplete` that came short of its instances (JobView.result.incomplete). */
export type JobIncomplete = NonNullable<NonNullable<JobView['result']>['incomplete']>[number];
export type UploadResponse = Static<typeof S.uploadResponse>;
export type StoredSeriesView = Static<typeof S.storedSeries>;
export type PacsInfo = Static<typeof S.pacsInfo>;
export type PacsStudyQuery = Static<typeof S.pacsStudyQuery>;
export type PacsStudy = Static<typeof S.pacsStudy>;
export type PacsStudies = Static<typeof S.pacsStudies>;
export type PacsSeries = Static<typeof S.pacsSeries>;
export type PacsSeriesList = Static<typeof S.pacsSeriesList>;
export type PacsOpened = Static<typeof S.pacsOpened>;
export type LowDoseSourceOpened = Static<typeof S.lowDoseSourceOpened>;

/** JSON header of the binary slice format (see docs/viewer.md). */
export interface SliceHeader {
  readonly rows: number;
  readonly columns: number;
  readonly index: number;
  readonly spacing: [number, number, number];
  /** Element type of the pixel block. */
  readonly dtype: (typeof S.SLICE_DTYPES)[number];
  /** value in `units` = stored × slope + intercept (float32 blocks are stored with slope 1, intercept 0). */
  readonly rescale: { readonly slope: number; readonly intercept: number };
  readonly units: string;
  /** Range of the slice in `units`. */
  readonly min: number;
  readonly max: number;
  readonly photometricInterpretation: string;
  /**
   * Pixels that are not image (PixelPaddingValue, CT out-of-field fill: `Image2D.padding`) as runs
   * over the row-major pixels, `[start, length, start, length, …]`; absent when there are none.
   */
  readonly padding?: number[];
}

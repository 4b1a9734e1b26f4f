/**
 * The toolkit's one error type. `code` is a stable string that scripts match on
 * (see docs/contract.md); `message` says what was wrong and names the file.
 * ERROR_CODES is the one list of them (the fuzzer and the HTTP status table check against it).
 */
export const ERROR_CODES = [
  // input files
  'E_NOT_DICOM',
  'E_TRUNCATED',
  'E_MALFORMED',
  'E_UNSUPPORTED_TRANSFER_SYNTAX',
  'E_DECODE',
  'E_NO_PIXEL_DATA',
  'E_UNSUPPORTED_PIXELS',
  'E_NOT_IMAGE',
  'E_DICOMDIR',
  // a file too large to read (MAX_FRAMED_FILE_BYTES, or past MAX_DICOM_FILE_BYTES and not readable frame by frame: src/dicom/file-size.ts), judged from its size and header
  'E_FILE_TOO_LARGE',
  'E_INCONSISTENT_SERIES',
  'E_SUV_UNAVAILABLE',
  // a warning: the series is read, but its kernel is outside what denoisers are measured on
  'E_SHARP_KERNEL',
  // a warning: the series' pixel spacing is far outside what the model was trained on
  'E_PIXEL_SPACING',
  // a warning: the model's card says it was measured below the untouched input on some of its evaluation sets
  'E_MODEL_BELOW_INPUT',
  // a warning: the model's card lists its measured lesion SUV bias (quality.lesionRecovery): every PET series it denoises says so
  'E_LESION_BIAS',
  // a warning: a classical filter's default width is a small fraction of the series' pixel, so it does almost nothing
  'E_FILTER_WIDTH',
  // warnings of derived files: a source value written in a repaired form, or left out
  'W_VALUE_REPAIRED',
  'W_VALUE_DROPPED',
  // a warning: a slice's geometry value (spacing, thickness, position, orientation) is present but
  // unusable (not finite, not positive, degenerate) and is read as missing
  'W_GEOMETRY_INVALID',
  // a warning: a PET series' SUVbw is decayed to the earliest AcquisitionTime of the files read,
  // SeriesTime being later, and the files read are not known to be the whole series
  'W_SUV_PARTIAL_SERIES',
  // a warning: a PET series' injection had only a time of day, later than the scan's, and SUVbw
  // takes it on the day before the SeriesDate (a scan across midnight)
  'W_SUV_INJECTION_DATE_ASSUMED',
  // a warning: a series lowdose simulate wrote lacks the completion marker its files name (the run
  // stopped half way), so it may lack slices
  'W_SIMULATION_INCOMPLETE',
  // warnings of `metrics`: the reference and test were reconstructed with different kernels or slice thicknesses; the test is the reference itself
  'W_KERNEL_MISMATCH',
  'W_THICKNESS_MISMATCH',
  'W_TEST_IS_REFERENCE',
  'W_GATE_AGAINST_UNGATED',
  // a derived file would lose or change the source's geometry: that series is not written
  'E_GEOMETRY_LOST',
  // a multi-frame PET source's derived classic PET Image could not say what its pixels are decay-corrected to: that series is not written
  'E_DECAY_CORRECTION_UNKNOWN',
  // a Legacy Converted GATED PET source whose frames share positions, with no Trigger Time to write them GATED and no converted Image Index that tells their gates: that series is not written
  'E_PET_GATES_UNKNOWN',
  // a time point of a multi-frame PET source read as time points by its files' classic ImageIndex whose frames share a position: that series is not written
  'E_PET_TIME_POINTS_UNKNOWN',
  // a warning: full-dose texture assumed the model card's default dose for an input of unknown dose
  'E_DOSE_UNKNOWN',
  // a warning: full-dose texture asked for at a dose where the model card's measurement says it is not a full-dose scan's texture
  'E_TEXTURE_NOT_FULL_DOSE',
  'E_IO',
  // usage and configuration
  'E_USAGE',
  'E_NOT_FOUND',
  'E_EXISTS',
  // another run holds the output series folder's lock
  'E_LOCKED',
  // `serve`: a denoised series its run did not finish (no completion marker, or one listing other files) has no series scores
  'E_OUTPUT_INCOMPLETE',
  // a job's estimated memory does not fit the memory budget (src/pipeline/memory-budget.ts)
  'E_MEMORY_BUDGET',
  // a server job asks for more network passes than `serve --max-job-passes` (src/pipeline/compute-budget.ts)
  'E_COMPUTE_BUDGET',
  // models and runtime
  'E_MODEL',
  'E_MODEL_MISMATCH',
  'E_DEVICE_UNAVAILABLE',
  'E_CANCELLED',
  // the Redis server of `--redis` cannot be reached (src/queue/)
  'E_QUEUE_UNAVAILABLE',
  'E_INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Warnings about a run's model and settings on a series (not about reading it): a rerun that skips
 * the series keeps them from its marker, and the viewer shows them as the run's.
 */
export const RUN_WARNING_CODES: ReadonlySet<string> = new Set<ErrorCode>(['E_PIXEL_SPACING', 'E_FILTER_WIDTH', 'E_MODEL_BELOW_INPUT', 'E_LESION_BIAS', 'E_DOSE_UNKNOWN', 'E_TEXTURE_NOT_FULL_DOSE']);

/**
 * Codes that mean the settings themselves are unusable (a model or device that is not there, a card
 * that does not fit): when every series of a run fails with one of them, nothing could be done with
 * what was given, and the run exits 2 as bad usage rather than 1 as a partial failure.
 */
export const SETTINGS_ERROR_CODES: ReadonlySet<string> = new Set<ErrorCode>(['E_USAGE', 'E_NOT_FOUND', 'E_MODEL', 'E_MODEL_MISMATCH', 'E_DEVICE_UNAVAILABLE']);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

export class LowdoseError extends Error {
  readonly code: ErrorCode;
  /** The file or resource the error is about, when there is one. */
  readonly path?: string;

  constructor(code: ErrorCode, message: string, options: { path?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LowdoseError';
    this.code = code;
    if (options.path !== undefined) this.path = options.path;
  }

  /** The `errors[]` entry of the JSON contract. */
  toJSON(): { path: string | null; code: ErrorCode; message: string } {
    return { path: this.path ?? null, code: this.code, message: this.message };
  }
}

export function isLowdoseError(value: unknown): value is LowdoseError {
  return value instanceof LowdoseError;
}

/** Wraps anything thrown into a LowdoseError so batch loops can report it and go on. */
export function toLowdoseError(value: unknown, fallback: ErrorCode = 'E_INTERNAL', path?: string): LowdoseError {
  if (value instanceof LowdoseError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new LowdoseError(fallback, path ? `${path}: ${message}` : message, { ...(path !== undefined ? { path } : {}), cause: value });
}

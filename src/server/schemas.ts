/**
 * JSON schemas of the HTTP API, written with TypeBox: requests are validated against them,
 * responses serialised by them, and ./api-types.ts derives the TypeScript types from them
 * (`Static<typeof schema>`), so the routes, the types and the viewer's client cannot drift apart.
 * Enumerations come from their one list (src/choices.ts, or the lists here for the server's own).
 *
 * Imports only typebox and src/choices.ts: the viewer type-checks against this file.
 */
import { Type, type TSchema } from 'typebox';
import { DENOISE_METHODS, DEVICE_REQUESTS, GUIDANCE_MAX, LESION_BIAS_PICKS, SAMPLER_NAMES, TEXTURES } from '../choices.js';
import { LOW_BAND_MAX_STRENGTH } from '../filters/low-band.js';

/** What a route accepts as an id: exactly what `shortId` (./ids.ts) makes, so nothing else gets near a lookup. */
/** A PACS study search's `limit`: its default and the most one answer may list. */
export const PACS_STUDY_LIMIT = { default: 100, maximum: 1000 } as const;

export const ID_PATTERN = '^[A-Za-z0-9_-]{12}$';

/** How a series came to be, from its headers and from denoise reports. */
export const SERIES_ROLES = ['original', 'low-dose', 'full-dose', 'denoised', 'uncertainty', 'hallucination', 'derived'] as const;
export const JOB_STATUSES = ['queued', 'running', 'done', 'failed', 'cancelled'] as const;
/** What a running job is doing: denoising, or storing its result to the PACS (STOW-RS or C-STORE). */
export const JOB_STAGES = ['denoise', 'store'] as const;
/** Element types of the binary slice format (`?dtype=`; auto: int16 when lossless). */
export const SLICE_DTYPES = ['int16', 'float32'] as const;

/** `{ type: 'string', enum }` typed as the list's union (TypeBox's Enum leaves out the `type` that fast-json-stringify wants). */
function stringEnum<const T extends readonly string[]>(list: T, options: { default?: T[number] } = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...list], ...options });
}

/** A value or null, as `anyOf` (objects and arrays). */
function orNull<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}

/** Scalars or null, as `{ type: [t, 'null'] }`: cheaper to serialise than anyOf. */
const numberOrNull = Type.Unsafe<number | null>({ type: ['number', 'null'] });
const integerOrNull = Type.Unsafe<number | null>({ type: ['integer', 'null'] });
const stringOrNull = Type.Unsafe<string | null>({ type: ['string', 'null'] });

const pair = Type.Unsafe<[number, number]>({ type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 });
const triple = Type.Unsafe<[number, number, number]>({ type: 'array', items: { type: 'number' }, minItems: 3, maxItems: 3 });
const strings = Type.Array(Type.String());

export const idParam = Type.String({ pattern: ID_PATTERN });
export const idParams = Type.Object({ id: idParam }, { additionalProperties: false });
export const sliceParams = Type.Object({ id: idParam, index: Type.Integer({ minimum: 0, maximum: 100000 }) }, { additionalProperties: false });
export const sliceQuery = Type.Object(
  { v: Type.Optional(Type.String({ maxLength: 64 })), dtype: Type.Optional(stringEnum(['auto', ...SLICE_DTYPES], { default: 'auto' })) },
  { additionalProperties: false },
);

/** A slice in the binary format of ./slice-encoding.ts (sent as is: fastify serialises no Buffer). */
export const sliceBody = Type.Unsafe<Uint8Array>({});
export const notModified = Type.Unsafe<undefined>({});

export const apiError = Type.Object({ code: Type.String(), message: Type.String() });
/** Error responses every route may give. */
export const errorResponses = { '4xx': apiError, '5xx': apiError } as const;

/**
 * How short of its instances a series opened from the `serve --dicomweb` / `--dimse` PACS came
 * (checkSeriesShortfall): `expected` its NumberOfSeriesRelatedInstances, `received` what came.
 */
export const seriesShortfall = Type.Object({ expected: Type.Integer(), received: Type.Integer() });
/**
 * A shortfall of a series read as it came (a PACS open, a job with `allowIncomplete`), with
 * `suvNote` when its SUVbw depends on which of its files were read (its W_SUV_PARTIAL_SERIES
 * reading warning), as `pulled[].incomplete.suvNote` of `denoise <url> --allow-incomplete`.
 */
export const readShortfall = Type.Object({ ...seriesShortfall.properties, suvNote: Type.Optional(Type.String()) });

export const healthResponse = Type.Object({ status: Type.String(), version: Type.String(), studies: Type.Integer(), viewer: Type.Boolean() });

export const seriesRole = stringEnum(SERIES_ROLES);

/** What a frame of a dynamic or gated PET acquisition is (src/pipeline/frame-output.ts, PetFrameReport). */
export const PET_FRAME_KINDS = ['dynamic', 'gated'] as const;

/**
 * A time point of a dynamic PET series (key `#t<frame>`) or a gate of a gated one (`#g<frame>`):
 * `info --json`'s and `denoise`'s `petFrame` without its `acquisitionKey`, the same names and units
 * (ms from the series' SeriesDate / SeriesTime; docs/contract.md).
 */
export const petFrame = Type.Object({
  kind: stringEnum(PET_FRAME_KINDS),
  /** 1-based: the time slice, or (R-R interval - 1) x NumberOfTimeSlots + time slot. */
  frame: Type.Integer(),
  /** Frames the acquisition declares (NumberOfTimeSlices, or NumberOfRRIntervals x NumberOfTimeSlots). */
  frames: Type.Integer(),
  /** `t02`, `g03`: the frame's suffix letter and number, as `denoise` names its files. */
  tag: Type.String(),
  /** A time point's timing (dynamic only), each null where the files lack it or its slices disagree. */
  timing: Type.Optional(
    Type.Object({
      startMs: numberOrNull,
      durationMs: numberOrNull,
      midMs: numberOrNull,
      referenceMs: numberOrNull,
      acquisitionDateTime: stringOrNull,
    }),
  ),
  /** A gate's TriggerTime / NominalInterval / LowRRValue / HighRRValue / FrameTime (gated only), those its files carry. */
  gating: Type.Optional(
    Type.Object({
      triggerTimeMs: Type.Optional(Type.Number()),
      nominalIntervalMs: Type.Optional(Type.Number()),
      lowRRMs: Type.Optional(Type.Number()),
      highRRMs: Type.Optional(Type.Number()),
      frameTimeMs: Type.Optional(Type.Number()),
    }),
  ),
});

/**
 * A denoised series whose report says its low-dose source was pulled from a PACS (`input.url`; the
 * run's copy removed) and which is not here: that address, whether this server can open it through
 * its own PACS (`POST /api/series/:id/low-dose-source/open`), and, when it cannot, why.
 */
export const lowDoseSource = Type.Object({
  url: Type.String(),
  studyInstanceUid: Type.String(),
  seriesInstanceUid: Type.String(),
  openable: Type.Boolean(),
  reason: stringOrNull,
});

export const seriesSummary = Type.Object({
  id: Type.String(),
  studyId: Type.String(),
  modality: Type.String(),
  description: Type.String(),
  seriesNumber: numberOrNull,
  role: seriesRole,
  rows: Type.Integer(),
  columns: Type.Integer(),
  slices: Type.Integer(),
  /** 'HU', 'SUVbw', 'BQML', ... */
  units: Type.String(),
  /**
   * Which software and which model made the series: the last lowdose item of its Contributing
   * Equipment Sequence (0018,A001); null for a series without one (written before lowdose recorded
   * it, or by other software).
   */
  provenance: orNull(
    Type.Object({
      /** ManufacturerModelName: the model card's name (`lowdose-ct`) or the method (`gaussian filter`, `simulate`). */
      model: Type.String(),
      /** The lowdose version that made it (SoftwareVersions `lowdose <version>`). */
      toolkitVersion: stringOrNull,
      /** The first hex digits of the model files' sha256 fingerprint (16 as lowdose writes it); null when no model ran. */
      modelSha256: stringOrNull,
      /** ContributionDateTime as ISO 8601 with the file's UTC offset, null when absent (`simulate` writes none). */
      contributionDateTime: stringOrNull,
    }),
  ),
  /** The frame of a dynamic or gated PET acquisition the series is (an addition); absent for a series of its own. */
  petFrame: Type.Optional(petFrame),
  /** The low-dose source on a PACS of a denoised series (lowDoseSource above, an addition); absent otherwise. */
  lowDoseSource: Type.Optional(lowDoseSource),
});

export const seriesDetail = Type.Object({
  ...seriesSummary.properties,
  /** Changes whenever the series' files do; slice URLs carry it (`?v=`) so they can be cached forever. */
  rev: Type.String(),
  /** [row, column, slice] spacing, mm. */
  spacing: triple,
  derivation: Type.String(),
  /** The file's own VOI window [centre, width], when it has one. */
  window: orNull(pair),
  photometricInterpretation: Type.String(),
  /** Each slice's position along the slice normal, mm (null when unknown). */
  locations: Type.Array(numberOrNull),
  /**
   * Each slice's ImagePositionPatient (its first pixel's centre, patient LPS mm; null when
   * unknown): with `orientation` and `spacing`, where the slice lies in the patient, so the viewer
   * places an ROI over the same anatomy in a pane of another grid (src/metrics/grid-mapping.ts).
   */
  positions: Type.Array(orNull(triple)),
  /**
   * FrameOfReferenceUID shared by the slices (null when absent or mixed): positions of two series
   * are compared along the slice normal only within one frame (src/metrics/grid-mapping.ts
   * sameFrameOfReference, the rule of pairSlices).
   */
  frameOfReferenceUid: Type.Optional(orNull(Type.String())),
  transferSyntaxes: strings,
  warnings: Type.Array(apiError),
  /** ImageOrientationPatient: row then column direction cosines (patient LPS), null when unknown. */
  orientation: orNull(Type.Unsafe<[number, number, number, number, number, number]>({ type: 'array', items: { type: 'number' }, minItems: 6, maxItems: 6 })),
  /** SliceThickness, mm (the reconstructed thickness; `spacing[2]` is the distance between slices). */
  sliceThickness: numberOrNull,
  /** DICOM DA (YYYYMMDD) or ''. */
  studyDate: Type.String(),
  studyDescription: Type.String(),
  /**
   * PatientName (DICOM PN, `^` between components) and PatientID, for the viewer's overlay only:
   * the server writes them into no list, log line or error message.
   */
  patientName: Type.String(),
  patientId: Type.String(),
  /** Opened from the `serve --dicomweb` / `--dimse` PACS (pulled into the work folder): a job on it may store its result back (`store`). */
  pacs: Type.Optional(Type.Boolean()),
  /**
   * Opened from the `serve --dicomweb` / `--dimse` PACS with fewer instances than it says the series holds
   * (NumberOfSeriesRelatedInstances; checkSeriesShortfall): `expected` that count, `received` what
   * came. Absent for a whole series: the viewer's status bar warns while it is shown.
   */
  incomplete: Type.Optional(seriesShortfall),
});

/** POST /api/series/:id/low-dose-source/open: the low-dose source pulled from the PACS and the comparison it now forms. */
export const lowDoseSourceOpened = Type.Object({
  /** The comparison of the denoised series with its source; null when they do not pair (another grid, say). */
  comparison: stringOrNull,
  /** The source series as opened (as POST /api/pacs/.../open answers). */
  series: Type.Array(seriesSummary),
  instances: Type.Integer(),
  retrieved: Type.Integer(),
});

export const scores = Type.Object({
  /** dB; null when the two slices are identical within the range. */
  psnr: numberOrNull,
  ssim: Type.Number(),
  rmse: Type.Number(),
});

/** One measured lesion bias of E_LESION_BIAS (src/models/lesion-bias.ts, MeasuredBias). */
export const measuredBias = Type.Object({
  percent: Type.Number(),
  source: Type.String(),
  diameterMm: Type.Number(),
  /** The count level it was measured at (absent in reports written before the field: the warning's `level`). */
  level: Type.Optional(Type.Number()),
});

/** E_LESION_BIAS's numbers (LesionBiasAtLevel): the count level quoted, how it was picked, the worst biases. */
export const lesionBias = Type.Object({
  level: Type.Number(),
  /** The measured levels the worst values were taken over (absent in reports written before the field: `[level]`). */
  levels: Type.Optional(Type.Array(Type.Number())),
  picked: stringEnum(LESION_BIAS_PICKS),
  minDiameterMm: Type.Number(),
  suvmean: measuredBias,
  suvmax: measuredBias,
  smallerSuvmean: orNull(measuredBias),
  doseDeclared: Type.Boolean(),
});

export const reportFacts = Type.Object({
  method: stringOrNull,
  model: stringOrNull,
  settings: stringOrNull,
  device: stringOrNull,
  steps: numberOrNull,
  seed: numberOrNull,
  samples: numberOrNull,
  msPerSlice: numberOrNull,
  /** sigma threshold of a calibrated uncertainty series (`denoise --uncertainty`), in its units. */
  uncertaintyThreshold: numberOrNull,
  /** FRC threshold of the report's hallucination map (`denoise --hallucination`). */
  hallucinationThreshold: numberOrNull,
  /** The report's own series means against its reference, when it computed them. */
  metrics: orNull(scores),
  /** Warnings about the run itself (E_PIXEL_SPACING, E_FILTER_WIDTH, E_MODEL_BELOW_INPUT, E_LESION_BIAS, E_DOSE_UNKNOWN, E_TEXTURE_NOT_FULL_DOSE), not the input's reading warnings or the writer's. */
  warnings: Type.Array(Type.Object({ code: Type.String(), message: Type.String(), lesionBias: Type.Optional(lesionBias) })),
});

/** A series of a comparison its run did not finish (./data/output-completion.ts). */
const outputIncomplete = Type.Object({ slices: Type.Integer(), expected: Type.Integer(), message: Type.String() });

export const comparisonSummary = Type.Object({
  id: Type.String(),
  studyId: Type.String(),
  modality: Type.String(),
  description: Type.String(),
  lowDose: Type.String(),
  denoised: Type.String(),
  reference: stringOrNull,
  uncertainty: stringOrNull,
  /** The sFRC hallucination map of the denoised series (`denoise --hallucination`, `metrics --hallucination`). */
  hallucination: stringOrNull,
  /** 'report': named by a report.json; 'headers': found from DICOM derivation headers. */
  pairedBy: stringEnum(['report', 'headers']),
  /**
   * Present (not null) when the denoised series is not a finished `lowdose denoise` output: the
   * completion marker its files name (SoftwareVersions `completion marker .lowdose-complete.json`;
   * for files naming none, an older lowdose's, the one in its folder where a denoise run wrote it)
   * lists other files than were read, or is not there and the files read are not the whole series
   * their files state (SoftwareVersions `series of 7 files numbered 1-7`; files stating no count:
   * is not there): a run stopped, failed or killed half way, files lost copying or storing it.
   * `slices` of the `expected` (the stated count; without one the low-dose series') are there;
   * `message` says so in words ("incomplete output: 3 of 7 slices; the run was stopped or failed
   * (...)"), and, where the run's report.json lies beside the series' folder, what it says
   * of the series ("; its report.json says: ... was stopped after 3 of 7 slices ... [E_CANCELLED]").
   * The series means of GET /api/comparisons/:id/metrics and the metrics CSVs are refused for it
   * (E_OUTPUT_INCOMPLETE, 409). Added later: absent from older servers.
   */
  incomplete: Type.Optional(orNull(outputIncomplete)),
  /**
   * Present (not null) when the uncertainty series is not a finished output of its run: its files
   * name the completion marker that vouches for them (SoftwareVersions `completion marker
   * ../.lowdose-complete.json`) and it is not there, or lists other files ("incomplete uncertainty
   * series: 3 of 7 slices; ..."). Null when finished, when it names no marker (an older lowdose's),
   * or when there is no uncertainty series. Added later: absent from older servers.
   */
  uncertaintyIncomplete: Type.Optional(orNull(outputIncomplete)),
  /**
   * The same for the hallucination map (`denoise --hallucination`: `../../.lowdose-complete.json`;
   * `metrics --hallucination`: `.lowdose-map.json` in its `map/` folder): slices it lacks have no
   * map, not "nothing flagged" ("incomplete hallucination map: 3 of 7 slices; ..."). Added later.
   */
  hallucinationIncomplete: Type.Optional(orNull(outputIncomplete)),
  /**
   * Present (not null) when the denoised series is a time point or gate of a dynamic or gated PET
   * acquisition lowdose wrote (its files name a completion marker) and frames its files declare
   * (NumberOfTimeSlices, or NumberOfRRIntervals x NumberOfTimeSlots) are not read at all: `frames`
   * read of the `expected`, the `missing` tags (`t03`), `message` in words ("incomplete acquisition:
   * 2 of 3 time points; t02 is missing whole ..."). Each frame read is judged whole on its own
   * (`incomplete`); its series means are not refused. Added later: absent from older servers.
   */
  acquisitionIncomplete: Type.Optional(orNull(Type.Object({ frames: Type.Integer(), expected: Type.Integer(), missing: Type.Array(Type.String()), message: Type.String() }))),
});

const indexList = Type.Array(Type.Integer());
const matchedByOrNull = Type.Unsafe<'position' | 'order' | null>({ type: ['string', 'null'], enum: ['position', 'order', null] });

/** One of a comparison's pairing warnings (comparisonPairingWarnings of ./data/pairing.ts): its code, message and the pane whose scores it makes suspect. */
export const pairingWarning = Type.Object({ code: Type.String(), message: Type.String(), scores: stringEnum(['lowDose', 'denoised']) });
/** A comparison's pairing warnings, on its detail and its metrics alike. */
const comparisonPairingWarnings = Type.Array(pairingWarning);

export const comparisonDetail = Type.Object({
  ...comparisonSummary.properties,
  /** For each low-dose slice, the index of the matching slice in each pane's series (-1: none). */
  alignment: Type.Object({
    denoised: indexList,
    reference: orNull(indexList),
    uncertainty: orNull(indexList),
    hallucination: orNull(indexList),
    /**
     * How each pane's slices were paired (pairSlices): 'position' or 'order' (positions that do not
     * coincide, another frame of reference among them: then pixel i is pixel i, as the scores compare
     * them); null where the pane has no series. Added later: absent from older servers.
     */
    matchedBy: Type.Optional(Type.Object({ denoised: matchedByOrNull, reference: matchedByOrNull, uncertainty: matchedByOrNull, hallucination: matchedByOrNull })),
  }),
  report: orNull(reportFacts),
  /**
   * Why the reference is shown but not scored pixel by pixel, in the words of `lowdose metrics`
   * (pairingGridMismatch, e.g. 'matrix 384 x 384 against 512 x 512'); null when it is scored or
   * there is no reference. Added later: absent from older servers.
   */
  unscoredReason: Type.Optional(stringOrNull),
  /**
   * The uncertainty series' calibrated σ threshold as its own window says (`SIGMA 0-40 HU`: 10),
   * null for a raw spread or no uncertainty series; the report's for a series without its own
   * window. The viewer's pane and the figure window it 0 to 4 × this. Added later: absent from older servers.
   */
  uncertaintyThreshold: Type.Optional(numberOrNull),
  /**
   * What makes a pair the comparison scores suspect although it lines up, with the codes and words
   * of `lowdose metrics` / `denoise --reference` (src/metrics/pairing-warnings.ts): W_KERNEL_MISMATCH,
   * W_THICKNESS_MISMATCH, W_GATE_AGAINST_UNGATED, W_TEST_IS_REFERENCE. For the low-dose and the
   * denoised series against the reference when there is one, else the denoised against its
   * low-dose source (`scores`: whose scores); from the series' headers, paired by report or by
   * headers alike. Empty when none. Added later: absent from older servers.
   */
  pairingWarnings: Type.Optional(comparisonPairingWarnings),
});

export const studySummary = Type.Object({
  id: Type.String(),
  description: Type.String(),
  /** DICOM DA (YYYYMMDD) or ''. */
  date: Type.String(),
  modalities: strings,
  series: Type.Array(seriesSummary),
  comparisons: Type.Array(comparisonSummary),
});

export const studiesResponse = Type.Object({
  studies: Type.Array(studySummary),
  /** Files under the data folders that could not be read as images (details in the server log). */
  unreadableFiles: Type.Integer(),
});

export const noisePair = Type.Object({
  /** No-reference noise estimate (std, modality units); null when the slice has too little flat tissue. */
  lowDose: numberOrNull,
  denoised: numberOrNull,
  /**
   * The same estimate of the reference slice scored against (a comparison with a reference; null
   * where no reference slice is scored there): the full-dose noise a denoised slice is judged
   * against, so an output smoother than a full-dose scan shows as such. Absent without a reference.
   */
  reference: Type.Optional(numberOrNull),
});

export const sliceMetrics = Type.Object({
  /** Index in the low-dose series. */
  index: Type.Integer(),
  /** Denoised against the reference (or against the low-dose source when there is no reference). */
  denoised: orNull(scores),
  /** Low-dose against the reference; null without a reference. */
  lowDose: orNull(scores),
  noise: noisePair,
});

export const comparisonMetrics = Type.Object({
  comparisonId: Type.String(),
  against: stringEnum(['reference', 'source']),
  range: pair,
  units: Type.String(),
  slices: Type.Array(sliceMetrics),
  mean: Type.Object({ denoised: orNull(scores), lowDose: orNull(scores), noise: noisePair }),
  /** Why the reference is not scored (its scores null), as in the comparison's detail; null when it is or there is none. */
  unscoredReason: Type.Optional(stringOrNull),
  /** The comparison's `pairingWarnings` (its detail's): what makes these scores suspect although the pairs line up. Added later: absent from older servers. */
  pairingWarnings: Type.Optional(comparisonPairingWarnings),
});

export const modelsResponse = Type.Object({
  models: Type.Array(
    Type.Object({
      name: Type.String(),
      modalities: strings,
      description: Type.String(),
      defaultSteps: Type.Optional(Type.Integer()),
    }),
  ),
  methods: Type.Array(stringEnum(DENOISE_METHODS)),
  devices: Type.Array(stringEnum(DEVICE_REQUESTS)),
});

/** `lowdose denoise` options a job may set. */
const jobOptionFields = {
  method: Type.Optional(stringEnum(DENOISE_METHODS)),
  // A name only (looked up in the model folders): a request cannot point the server at a path.
  model: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' })),
  device: Type.Optional(stringEnum(DEVICE_REQUESTS)),
  steps: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  sampler: Type.Optional(stringEnum(SAMPLER_NAMES)),
  seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295 })),
  samples: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
  guidance: Type.Optional(Type.Number({ minimum: 0, maximum: GUIDANCE_MAX })),
  /** Geometric self-ensemble: predictions averaged over 1, 2, 4 or 8 flips and turns (default: the model card's). */
  orientations: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2), Type.Literal(4), Type.Literal(8)])),
  /** Measurement-consistency strength, 0..1 (default: the model card's). */
  consistency: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  /** Low-band denoising strength after the model, in noise SDs of the band, 0 = off (default: the model card's). */
  lowBand: Type.Optional(Type.Number({ minimum: 0, maximum: LOW_BAND_MAX_STRENGTH })),
  /** 'smooth' (default) or 'full-dose' (diffusion only): see `denoise --texture`. */
  texture: Type.Optional(stringEnum(TEXTURES)),
  /** The input's dose fraction, (0, 1] (denoise --dose): the model's dose input and full-dose texture's d. */
  dose: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
  batch: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
  /**
   * `denoise --uncertainty`: the calibrated uncertainty series (diffusion only; the model card's
   * `uncertainty` block; `samples` defaults to its K). The comparison's `uncertainty` names it.
   */
  uncertainty: Type.Optional(Type.Boolean()),
  /** `denoise --uncertainty-threshold`: sigma in the card's units above which a pixel counts as uncertain. */
  uncertaintyThreshold: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 10000 })),
  /** `denoise --hallucination`: the reference-free hallucination map of the ensemble's halves (needs the card's calibration). */
  hallucination: Type.Optional(Type.Boolean()),
};

/** Unknown options are refused (the app's ajv keeps additional properties to fail on them). */
export const jobOptions = Type.Object(jobOptionFields, { additionalProperties: false });

export const jobRequest = Type.Object(
  {
    series: Type.Array(idParam, { minItems: 1, maxItems: 64, uniqueItems: true }),
    reference: Type.Optional(idParam),
    options: Type.Optional(jobOptions),
    /**
     * Store the derived series (and uncertainty series) back to the `serve --dicomweb` / `--dimse` PACS with
     * STOW-RS (or C-STORE) when the job is done, into the source's study. Only for series opened from that server.
     */
    store: Type.Optional(Type.Boolean()),
    /**
     * `denoise --allow-incomplete`: denoise a series opened from the `serve --dicomweb` / `--dimse` PACS that
     * came short of its instances (its `incomplete`), recording the counts in the result's
     * `incomplete`, and score against such a reference (`referenceIncomplete`). Without it such a
     * job fails at once with E_IO and the counts in its error. Only for series opened from that
     * server (as --allow-incomplete needs a DICOMweb URL or dimse:// input): `true` on a server
     * without one, or with an input series that did not come from it (unless no input did and the
     * reference did), is refused before the job is queued (400 E_USAGE).
     */
    allowIncomplete: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/**
 * A job's error. `incomplete`: the job was refused because an input series, or its reference,
 * opened from the `serve --dicomweb` / `--dimse` PACS came short of its instances (E_IO; the counts as
 * `denoise <url>` gives them in its errors[]); a request with `allowIncomplete` uses what came.
 */
export const jobError = Type.Object({
  ...apiError.properties,
  incomplete: Type.Optional(Type.Object({ seriesInstanceUid: Type.String(), ...seriesShortfall.properties })),
});

/**
 * An entry of a job's `result.errors`. `role` "reference" (an added field) marks an unreadable
 * instance of the job's reference series opened from the `serve --dicomweb` / `--dimse` PACS; absent on the
 * input series' unreadable instances and on the run's own errors.
 */
export const jobResultError = Type.Object({
  ...apiError.properties,
  role: Type.Optional(Type.Literal('reference')),
});

export const jobStatus = stringEnum(JOB_STATUSES);

/** A series stored to the PACS (src/util/remote-series.ts StoredSeries). */
export const storedSeries = Type.Object({
  kind: stringEnum(['denoised', 'uncertainty']),
  studyInstanceUid: Type.String(),
  seriesInstanceUid: Type.String(),
  url: Type.String(),
  instances: Type.Integer(),
});

export const jobProgress = Type.Object({
  /** 0..1 over all slices of all series. */
  fraction: Type.Number(),
  seriesIndex: Type.Integer(),
  seriesCount: Type.Integer(),
  slicesDone: Type.Integer(),
  slicesTotal: Type.Integer(),
  /** 'store' while a job with `store` sends its result to the PACS (after the slices). */
  stage: Type.Optional(stringEnum(JOB_STAGES)),
});

export const jobView = Type.Object({
  id: Type.String(),
  status: jobStatus,
  /** The device queue it waits in: one running job per device. */
  device: Type.String(),
  /** Input series ids. */
  series: strings,
  reference: stringOrNull,
  options: Type.Object(jobOptionFields),
  /** Whether the result goes back to the PACS (the request's `store`). */
  store: Type.Boolean(),
  /** The request's `allowIncomplete`. */
  allowIncomplete: Type.Boolean(),
  createdAt: Type.String(),
  startedAt: stringOrNull,
  finishedAt: stringOrNull,
  /** 0 = next to run on its device; null when not queued. */
  queuePosition: integerOrNull,
  progress: orNull(jobProgress),
  error: orNull(jobError),
  result: orNull(
    Type.Object({
      /** Comparisons (low-dose vs denoised) the job produced. */
      comparisons: strings,
      /** Per comparison (same order): its uncertainty series id (the ensemble spread, calibrated with `uncertainty`), or null. */
      uncertainty: Type.Optional(Type.Array(stringOrNull)),
      /** Per comparison (same order): its hallucination map series id (`hallucination`), or null. */
      hallucination: Type.Optional(Type.Array(stringOrNull)),
      /** With `store`: the series stored to the PACS (STOW-RS or C-STORE), as `denoise --stow` / `--store` report them. */
      stored: Type.Optional(Type.Array(storedSeries)),
      /**
       * With `allowIncomplete`: the input series (`series`: its id) that came short of their
       * instances and were denoised as they came, so the derived series (and what was stored)
       * lacks `expected - received` slices, as report.json's `pulled[].incomplete` of
       * `denoise <url> --allow-incomplete` records it. Absent when every input series was whole.
       */
      incomplete: Type.Optional(Type.Array(Type.Object({ series: Type.String(), seriesInstanceUid: Type.String(), ...readShortfall.properties }))),
      /**
       * With `allowIncomplete`: the reference series (`series`: its id) when it came short of its
       * instances, so the job's scores are against the `received` that came (a PET range over
       * them). Absent when the reference was whole, not from the PACS, or not given.
       */
      referenceIncomplete: Type.Optional(Type.Object({ series: Type.String(), seriesInstanceUid: Type.String(), ...seriesShortfall.properties })),
      errors: Type.Array(jobResultError),
    }),
  ),
});

export const jobList = Type.Object({ jobs: Type.Array(jobView) });

export const uploadResponse = Type.Object({
  uploadId: Type.String(),
  /** Files kept. */
  files: Type.Integer(),
  /** The series the kept files belong to, also those the server already had. */
  series: Type.Array(seriesSummary),
  /** Ids of the series in `series` that the server held whole before this upload (nothing new in them). */
  alreadyLoaded: strings,
  /** Files refused, by the name the client sent. */
  rejected: Type.Array(Type.Object({ name: Type.String(), code: Type.String(), message: Type.String() })),
});

// ---- the PACS of `serve --dicomweb` / `serve --dimse` ----------------------------------------------

/** A DICOM UID as a route takes it (digits and dots, at most 64 characters). */
export const uidParam = Type.String({ pattern: '^[0-9]+(\\.[0-9]+)*$', maxLength: 64 });
export const pacsStudyParams = Type.Object({ study: uidParam }, { additionalProperties: false });
export const pacsSeriesParams = Type.Object({ study: uidParam, series: uidParam }, { additionalProperties: false });

/** DICOM DA. */
const dicomDate = Type.String({ pattern: '^[0-9]{8}$' });

export const pacsInfo = Type.Object({
  /** The PACS's address: the DICOMweb service base of `serve --dicomweb` (no credentials), or `dimse://AET@host:port` of `serve --dimse`; null when the server has none. */
  server: stringOrNull,
  /** How the server reaches it: `dicomweb` (QIDO-RS / WADO-RS / STOW-RS) or `dimse` (C-FIND / C-GET or C-MOVE / C-STORE); null without one. */
  protocol: Type.Union([Type.Literal('dicomweb'), Type.Literal('dimse'), Type.Null()]),
});

export const pacsStudyQuery = Type.Object(
  {
    /** PatientID to match; `*` and `?` are wildcards. Empty: any. */
    patientId: Type.Optional(Type.String({ maxLength: 64, pattern: '^[^\\\\\\x00-\\x1f]*$' })),
    /** AccessionNumber to match (DICOM SH, at most 16 characters); `*` and `?` are wildcards. Empty: any. */
    accessionNumber: Type.Optional(Type.String({ maxLength: 16, pattern: '^[^\\\\\\x00-\\x1f]*$' })),
    /** StudyDate range, DICOM DA (YYYYMMDD), inclusive; either end may be left out. */
    from: Type.Optional(dicomDate),
    to: Type.Optional(dicomDate),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: PACS_STUDY_LIMIT.maximum, default: PACS_STUDY_LIMIT.default })),
  },
  { additionalProperties: false },
);

export const pacsStudy = Type.Object({
  studyInstanceUid: Type.String(),
  /** DICOM PN (`^` between components). */
  patientName: Type.String(),
  patientId: Type.String(),
  /** DICOM DA (YYYYMMDD) or ''. */
  date: Type.String(),
  /** AccessionNumber, or ''. */
  accessionNumber: Type.String(),
  description: Type.String(),
  modalities: strings,
  /** Number of series and instances, when the server says. */
  series: integerOrNull,
  instances: integerOrNull,
});

export const pacsStudies = Type.Object({
  server: Type.String(),
  /** Newest first; at most `limit`. */
  studies: Type.Array(pacsStudy),
  limit: Type.Integer(),
  /**
   * True when more studies may match than are listed: more than `limit` match (then the listed ones
   * are not necessarily the newest on the server), or the server caps its answers and would not
   * page them (offset refused or ignored). The search is then to be narrowed.
   */
  truncated: Type.Boolean(),
  /** Why, in words (what the viewer shows); null when `truncated` is false. */
  truncation: stringOrNull,
});

export const pacsSeries = Type.Object({
  seriesInstanceUid: Type.String(),
  modality: Type.String(),
  description: Type.String(),
  seriesNumber: numberOrNull,
  instances: integerOrNull,
  /** Whether a denoise job can run on it (CT and PET). */
  denoisable: Type.Boolean(),
});

export const pacsSeriesList = Type.Object({
  studyInstanceUid: Type.String(),
  series: Type.Array(pacsSeries),
  /**
   * True when the list may lack series of the study: the server caps its answers and would not
   * page them (offset refused or ignored), and the study's series count is larger or unknown.
   */
  truncated: Type.Boolean(),
  /** Why, in words (what the viewer shows); null when `truncated` is false. */
  truncation: stringOrNull,
});

export const pacsOpened = Type.Object({
  /** The opened series as the viewer's other routes know it (its `id` opens it). */
  series: Type.Array(seriesSummary),
  /** Instances the server listed, and how many this request retrieved (the others were already here). */
  instances: Type.Integer(),
  retrieved: Type.Integer(),
  /** Instances that could not be read (left out of the series), each named by SOP Instance UID and series URL. */
  unreadable: Type.Array(Type.Object({ code: Type.String(), message: Type.String() })),
  /** How many instances could not be read, all counted: `unreadable` lists at most 100 of each code. Added later: absent from older servers. */
  unreadableCount: Type.Optional(Type.Integer()),
  /** Present when fewer instances came than the server says the series holds (as in GET /api/series/:id), with `suvNote` as in a job's result. */
  incomplete: Type.Optional(readShortfall),
});

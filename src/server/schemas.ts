/**
 * JSON schemas of the API (requests are validated against them, responses serialised by them).
 * They mirror ./api-types.ts; a field missing here is dropped from responses, so keep both in step.
 */
import { ID_PATTERN } from './ids.js';
import { TEXTURES } from '../diffusion/texture.js';

const nullable = (type: string) => ({ type: [type, 'null'] });
const numberOrNull = nullable('number');
const stringOrNull = nullable('string');

export const idParam = { type: 'string', pattern: ID_PATTERN } as const;

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: idParam },
  additionalProperties: false,
} as const;

export const sliceParams = {
  type: 'object',
  required: ['id', 'index'],
  properties: { id: idParam, index: { type: 'integer', minimum: 0, maximum: 100000 } },
  additionalProperties: false,
} as const;

export const apiError = {
  type: 'object',
  required: ['code', 'message'],
  properties: { code: { type: 'string' }, message: { type: 'string' } },
} as const;

/** Error responses every route may give. */
export const errorResponses = { '4xx': apiError, '5xx': apiError } as const;

const triple = { type: 'array', items: { type: 'number' }, minItems: 3, maxItems: 3 };
const pair = { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 };

export const seriesSummary = {
  type: 'object',
  required: ['id', 'studyId', 'modality', 'description', 'seriesNumber', 'role', 'rows', 'columns', 'slices', 'units'],
  properties: {
    id: { type: 'string' },
    studyId: { type: 'string' },
    modality: { type: 'string' },
    description: { type: 'string' },
    seriesNumber: numberOrNull,
    role: { type: 'string', enum: ['original', 'low-dose', 'full-dose', 'denoised', 'uncertainty', 'derived'] },
    rows: { type: 'integer' },
    columns: { type: 'integer' },
    slices: { type: 'integer' },
    units: { type: 'string' },
  },
} as const;

export const seriesDetail = {
  type: 'object',
  required: [...seriesSummary.required, 'rev', 'spacing', 'derivation', 'window', 'photometricInterpretation', 'locations'],
  properties: {
    ...seriesSummary.properties,
    rev: { type: 'string' },
    spacing: triple,
    derivation: { type: 'string' },
    window: { anyOf: [pair, { type: 'null' }] },
    photometricInterpretation: { type: 'string' },
    locations: { type: 'array', items: numberOrNull },
    transferSyntaxes: { type: 'array', items: { type: 'string' } },
    warnings: { type: 'array', items: apiError },
  },
} as const;

const scoresSchema = {
  type: 'object',
  required: ['psnr', 'ssim', 'rmse'],
  properties: { psnr: numberOrNull, ssim: { type: 'number' }, rmse: { type: 'number' } },
} as const;
const scoresOrNull = { anyOf: [scoresSchema, { type: 'null' }] };

const reportFacts = {
  type: 'object',
  properties: {
    method: stringOrNull,
    model: stringOrNull,
    settings: stringOrNull,
    device: stringOrNull,
    steps: numberOrNull,
    seed: numberOrNull,
    samples: numberOrNull,
    msPerSlice: numberOrNull,
    metrics: scoresOrNull,
  },
} as const;

export const comparisonSummary = {
  type: 'object',
  required: ['id', 'studyId', 'modality', 'description', 'lowDose', 'denoised', 'reference', 'uncertainty', 'pairedBy'],
  properties: {
    id: { type: 'string' },
    studyId: { type: 'string' },
    modality: { type: 'string' },
    description: { type: 'string' },
    lowDose: { type: 'string' },
    denoised: { type: 'string' },
    reference: stringOrNull,
    uncertainty: stringOrNull,
    pairedBy: { type: 'string', enum: ['report', 'headers'] },
  },
} as const;

const indexList = { type: 'array', items: { type: 'integer' } };
const indexListOrNull = { anyOf: [indexList, { type: 'null' }] };

export const comparisonDetail = {
  type: 'object',
  required: [...comparisonSummary.required, 'alignment', 'report'],
  properties: {
    ...comparisonSummary.properties,
    alignment: {
      type: 'object',
      required: ['denoised', 'reference', 'uncertainty'],
      properties: { denoised: indexList, reference: indexListOrNull, uncertainty: indexListOrNull },
    },
    report: { anyOf: [reportFacts, { type: 'null' }] },
  },
} as const;

export const studiesResponse = {
  type: 'object',
  required: ['studies', 'unreadableFiles'],
  properties: {
    studies: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'description', 'date', 'modalities', 'series', 'comparisons'],
        properties: {
          id: { type: 'string' },
          description: { type: 'string' },
          date: { type: 'string' },
          modalities: { type: 'array', items: { type: 'string' } },
          series: { type: 'array', items: seriesSummary },
          comparisons: { type: 'array', items: comparisonSummary },
        },
      },
    },
    unreadableFiles: { type: 'integer' },
  },
} as const;

const noisePair = {
  type: 'object',
  required: ['lowDose', 'denoised'],
  properties: { lowDose: numberOrNull, denoised: numberOrNull },
} as const;

export const sliceMetrics = {
  type: 'object',
  required: ['index', 'denoised', 'lowDose', 'noise'],
  properties: { index: { type: 'integer' }, denoised: scoresOrNull, lowDose: scoresOrNull, noise: noisePair },
} as const;

export const comparisonMetrics = {
  type: 'object',
  required: ['comparisonId', 'against', 'range', 'units', 'slices', 'mean'],
  properties: {
    comparisonId: { type: 'string' },
    against: { type: 'string', enum: ['reference', 'source'] },
    range: pair,
    units: { type: 'string' },
    slices: { type: 'array', items: sliceMetrics },
    mean: {
      type: 'object',
      required: ['denoised', 'lowDose', 'noise'],
      properties: { denoised: scoresOrNull, lowDose: scoresOrNull, noise: noisePair },
    },
  },
} as const;

export const jobOptions = {
  type: 'object',
  additionalProperties: false,
  properties: {
    method: { type: 'string', enum: ['diffusion', 'gaussian', 'bilateral', 'nlm'] },
    // A name only (looked up in the model folders): a request cannot point the server at a path.
    model: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' },
    device: { type: 'string', enum: ['auto', 'cpu', 'webgpu', 'cuda'] },
    steps: { type: 'integer', minimum: 1, maximum: 1000 },
    sampler: { type: 'string', enum: ['ddpm', 'ddim', 'warm-start', 'resshift'] },
    seed: { type: 'integer', minimum: 0, maximum: 4294967295 },
    samples: { type: 'integer', minimum: 1, maximum: 64 },
    guidance: { type: 'number', minimum: 0, maximum: 20 },
    consistency: { type: 'number', minimum: 0, maximum: 1 },
    texture: { type: 'string', enum: TEXTURES },
    // The input's dose fraction (denoise --dose): the model's dose input and full-dose texture's d.
    dose: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
    batch: { type: 'integer', minimum: 1, maximum: 256 },
  },
} as const;

export const jobRequest = {
  type: 'object',
  required: ['series'],
  additionalProperties: false,
  properties: {
    series: { type: 'array', items: idParam, minItems: 1, maxItems: 64, uniqueItems: true },
    reference: idParam,
    options: jobOptions,
  },
} as const;

export const jobView = {
  type: 'object',
  required: ['id', 'status', 'device', 'series', 'reference', 'options', 'createdAt', 'startedAt', 'finishedAt', 'queuePosition', 'progress', 'error', 'result'],
  properties: {
    id: { type: 'string' },
    status: { type: 'string', enum: ['queued', 'running', 'done', 'failed', 'cancelled'] },
    device: { type: 'string' },
    series: { type: 'array', items: { type: 'string' } },
    reference: stringOrNull,
    options: { type: 'object', properties: jobOptions.properties },
    createdAt: { type: 'string' },
    startedAt: stringOrNull,
    finishedAt: stringOrNull,
    queuePosition: nullable('integer'),
    progress: {
      anyOf: [
        {
          type: 'object',
          required: ['fraction', 'seriesIndex', 'seriesCount', 'slicesDone', 'slicesTotal'],
          properties: {
            fraction: { type: 'number' },
            seriesIndex: { type: 'integer' },
            seriesCount: { type: 'integer' },
            slicesDone: { type: 'integer' },
            slicesTotal: { type: 'integer' },
          },
        },
        { type: 'null' },
      ],
    },
    error: { anyOf: [apiError, { type: 'null' }] },
    result: {
      anyOf: [
        {
          type: 'object',
          required: ['comparisons', 'errors'],
          properties: { comparisons: { type: 'array', items: { type: 'string' } }, errors: { type: 'array', items: apiError } },
        },
        { type: 'null' },
      ],
    },
  },
} as const;

export const uploadResponse = {
  type: 'object',
  required: ['uploadId', 'files', 'series', 'rejected'],
  properties: {
    uploadId: { type: 'string' },
    files: { type: 'integer' },
    series: { type: 'array', items: seriesSummary },
    rejected: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'code', 'message'],
        properties: { name: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
} as const;

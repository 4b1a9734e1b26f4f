/**
 * QA thresholds: the shipped defaults live in qa/thresholds.json (one source of truth, documented
 * there check by check); a QA script passes its own file with `--config`, which is merged over the
 * defaults field by field, so a script may override one bound and keep the rest. A config is
 * validated strictly: in a QA gate a misspelt key that silently falls back to a default is worse
 * than a refusal, so unknown keys, wrong types and empty bounds are errors (exit 2).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LowdoseError } from '../errors.js';
import { packagePath } from '../util/package-root.js';

export const DEFAULT_CONFIG_PATH = packagePath('qa', 'thresholds.json');
export const DEFAULT_FIXTURES_DIR = packagePath('fixtures');

/** A pass band; null or absent means unbounded on that side (at least one side is set). */
export interface Bounds {
  readonly min: number | null;
  readonly max: number | null;
}

interface Common {
  readonly enabled: boolean;
  /** Why this threshold: shown in the HTML report. */
  readonly why: string;
}

export type BoundedCheck = Common & Bounds;

export interface QaConfig {
  /** The file the user gave, or the shipped defaults' path. */
  readonly source: string;
  /** sha256 of the bytes of `source` as read (absent for a config not read from a file: parseConfigObject). */
  readonly sha256?: string;
  /** With a user's file merged over the shipped defaults: sha256 of qa/thresholds.json as read. */
  readonly defaultsSha256?: string;
  readonly checks: {
    readonly 'noise-reduction': BoundedCheck;
    readonly 'hu-error': BoundedCheck & { readonly reference: HuReference };
    readonly 'cnr-ratio': BoundedCheck & { readonly minDiameterMm: number };
    /** Expected fraction of the module-2 rods' contrast the output keeps of its input's (over noise realisations). */
    readonly 'contrast-retention': BoundedCheck & { readonly minDiameterMm: number };
    /** d'(denoised) / d'(input) of a channelized Hotelling observer on the lcd phantom's disks. */
    readonly 'detectability-ratio': BoundedCheck;
    readonly 'mtf50-ratio': BoundedCheck;
    readonly 'nps-peak-shift': BoundedCheck;
    /** Threshold = max(min, PSNR of the input + minGainDb). */
    readonly psnr: Common & { readonly min: number | null; readonly minGainDb: number };
    /** Threshold = max(min, SSIM of the input + minGain). */
    readonly ssim: Common & { readonly min: number | null; readonly minGain: number };
    /** Fraction of sFRC patches flagged against full dose. */
    readonly hallucination: BoundedCheck;
    readonly 'suvmean-bias': BoundedCheck & { readonly minDiameterMm: number };
    readonly 'suvmax-recovery': BoundedCheck & { readonly minDiameterMm: number };
  };
}

export type ConfiguredCheck = keyof QaConfig['checks'];
/**
 * What the HU error is measured against: `input`, the low-dose series itself (what the denoiser
 * adds; the default, docs/qa.md), `nominal`, the insert's nominal HU (absolute accuracy of the whole
 * chain, scanner included), or `full-dose`, the full-dose scan of the same phantom.
 */
export type HuReference = 'input' | 'nominal' | 'full-dose';

type FieldType = 'number' | 'number-or-null' | 'boolean' | 'string' | readonly string[];

const COMMON_FIELDS: Record<string, FieldType> = { enabled: 'boolean', why: 'string' };
const BOUNDS: Record<string, FieldType> = { min: 'number-or-null', max: 'number-or-null' };

/** Every check's fields and their types; `bounded` checks need min and / or max. */
const SCHEMA: Record<ConfiguredCheck, { fields: Record<string, FieldType>; bounded: boolean }> = {
  'noise-reduction': { fields: { ...BOUNDS }, bounded: true },
  'hu-error': { fields: { ...BOUNDS, reference: ['input', 'nominal', 'full-dose'] }, bounded: true },
  'cnr-ratio': { fields: { ...BOUNDS, minDiameterMm: 'number' }, bounded: true },
  'contrast-retention': { fields: { ...BOUNDS, minDiameterMm: 'number' }, bounded: true },
  'detectability-ratio': { fields: { ...BOUNDS }, bounded: true },
  'mtf50-ratio': { fields: { ...BOUNDS }, bounded: true },
  'nps-peak-shift': { fields: { ...BOUNDS }, bounded: true },
  psnr: { fields: { min: 'number-or-null', minGainDb: 'number' }, bounded: false },
  ssim: { fields: { min: 'number-or-null', minGain: 'number' }, bounded: false },
  hallucination: { fields: { ...BOUNDS }, bounded: true },
  'suvmean-bias': { fields: { ...BOUNDS, minDiameterMm: 'number' }, bounded: true },
  'suvmax-recovery': { fields: { ...BOUNDS, minDiameterMm: 'number' }, bounded: true },
};

export const CONFIGURED_CHECKS = Object.keys(SCHEMA) as ConfiguredCheck[];
const TOP_LEVEL = new Set(['$comment', 'description', 'version', 'checks']);

/**
 * The shipped defaults, or `file` merged over them. Throws E_USAGE (exit 2) naming the file and
 * the offending key; E_NOT_FOUND when a file is missing.
 */
export function loadQaConfig(file?: string): QaConfig {
  const shipped = readJson(DEFAULT_CONFIG_PATH);
  const defaults: QaConfig = { ...parseConfigObject(shipped.value, DEFAULT_CONFIG_PATH, null), sha256: shipped.sha256 };
  if (file === undefined) return defaults;
  const resolved = path.resolve(file);
  const own = readJson(resolved);
  return { ...parseConfigObject(own.value, resolved, defaults), sha256: own.sha256, defaultsSha256: shipped.sha256 };
}

/**
 * Validates a parsed config. With `base`, missing checks and fields come from it (a partial file
 * is fine); without, every check and field must be present (the shipped defaults).
 */
export function parseConfigObject(raw: unknown, source: string, base: QaConfig | null): QaConfig {
  const fail = (message: string): never => {
    throw new LowdoseError('E_USAGE', `QA config ${source}: ${message}`, { path: source });
  };
  if (!isPlainObject(raw)) fail('must be a JSON object');
  const top = raw as Record<string, unknown>;
  for (const key of Object.keys(top)) {
    if (!TOP_LEVEL.has(key)) fail(`unknown key "${key}" (allowed: ${[...TOP_LEVEL].join(', ')})`);
  }
  if (top.version !== undefined && top.version !== 1) fail(`version must be 1, got ${JSON.stringify(top.version)}`);
  const checks = top.checks ?? {};
  if (!isPlainObject(checks)) fail('"checks" must be an object');
  const given = checks as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(key in SCHEMA)) fail(`unknown check "${key}" (known: ${CONFIGURED_CHECKS.join(', ')})`);
  }

  const out: Record<string, Record<string, unknown>> = {};
  for (const name of CONFIGURED_CHECKS) {
    const schema = SCHEMA[name];
    const fields = { ...COMMON_FIELDS, ...schema.fields };
    const entry = given[name];
    if (entry !== undefined && !isPlainObject(entry)) fail(`checks.${name} must be an object`);
    const values = (entry ?? {}) as Record<string, unknown>;
    for (const key of Object.keys(values)) {
      if (!(key in fields)) fail(`checks.${name}: unknown field "${key}" (allowed: ${Object.keys(fields).join(', ')})`);
    }
    const merged: Record<string, unknown> = { ...(base ? (base.checks[name] as unknown as Record<string, unknown>) : {}) };
    for (const [key, type] of Object.entries(fields)) {
      const value = values[key];
      if (value === undefined) {
        if (base || key === 'enabled' || key === 'why') continue;
        if (type === 'number-or-null') {
          merged[key] = null;
          continue;
        }
        fail(`checks.${name}.${key} is missing`);
      }
      const problem = typeProblem(value, type);
      if (problem) fail(`checks.${name}.${key} ${problem}, got ${shown(value)}`);
      merged[key] = value;
    }
    merged.enabled ??= true;
    merged.why ??= '';
    if (schema.bounded) {
      const min = merged.min as number | null;
      const max = merged.max as number | null;
      if (min === null && max === null) fail(`checks.${name} needs "min", "max" or both`);
      if (min !== null && max !== null && min > max) fail(`checks.${name}: min ${min} is greater than max ${max}`);
    }
    if ('minDiameterMm' in fields && !((merged.minDiameterMm as number) >= 0)) {
      fail(`checks.${name}.minDiameterMm must be >= 0, got ${JSON.stringify(merged.minDiameterMm)}`);
    }
    out[name] = merged;
  }
  return { source, checks: out as unknown as QaConfig['checks'] };
}

function typeProblem(value: unknown, type: FieldType): string | null {
  if (Array.isArray(type)) return typeof value === 'string' && type.includes(value) ? null : `must be one of ${type.join(', ')}`;
  switch (type) {
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? null : 'must be a finite number';
    case 'number-or-null':
      return value === null || (typeof value === 'number' && Number.isFinite(value)) ? null : 'must be a finite number or null';
    case 'boolean':
      return typeof value === 'boolean' ? null : 'must be true or false';
    case 'string':
      return typeof value === 'string' ? null : 'must be a string';
  }
  return 'has an unknown type';
}

/** A JSON file's parsed value and the sha256 of the bytes it was parsed from (what a QA result records). */
function readJson(file: string): { value: unknown; sha256: string } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new LowdoseError('E_NOT_FOUND', `QA config ${file} does not exist`, { path: file });
    throw new LowdoseError('E_USAGE', `QA config ${file} cannot be read: ${(error as Error).message}`, { path: file });
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  try {
    return { value: JSON.parse(bytes.toString('utf8')) as unknown, sha256 };
  } catch (error) {
    throw new LowdoseError('E_USAGE', `QA config ${file} is not valid JSON: ${(error as Error).message}`, { path: file });
  }
}

/** A config value as the message shows it: JSON, but a number that JSON cannot hold (1e999 parses to Infinity) by its name, not as null. */
function shown(value: unknown): string {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : JSON.stringify(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

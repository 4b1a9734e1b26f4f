/**
 * Turns a measured value and a pass band into a check result. A value that could not be measured
 * (null or not finite) fails: a QA gate must not pass what it could not see.
 */
import type { Bounds } from './config.js';
import { isFirm, limitMarginSe } from './margin.js';
import type { CheckKind, Comparison, PhantomName, QaCheck } from './types.js';

export interface CheckSpec {
  readonly check: CheckKind;
  readonly phantom: PhantomName;
  readonly dose: number;
  /** Appended to the name, e.g. the insert: `acr/dose25/hu-error/bone`. */
  readonly subject?: string;
  readonly unit: string;
  readonly detail: string;
  readonly measured?: Readonly<Record<string, number | null>>;
}

export function checkName(phantom: PhantomName, dose: number, check: CheckKind, subject?: string): string {
  const base = `${phantom}/dose${Math.round(dose * 100)}/${check}`;
  return subject ? `${base}/${slug(subject)}` : base;
}

export function judge(spec: CheckSpec, value: number | null, bounds: Bounds): QaCheck {
  const { min, max } = bounds;
  let op: Comparison;
  let threshold: number | [number, number];
  if (min !== null && max !== null) {
    op = 'in';
    threshold = [min, max];
  } else if (min !== null) {
    op = '>=';
    threshold = min;
  } else if (max !== null) {
    op = '<=';
    threshold = max;
  } else {
    throw new RangeError(`check ${spec.check} has no bound`);
  }
  const measurable = value !== null && Number.isFinite(value);
  const pass = measurable && (min === null || value >= min) && (max === null || value <= max);
  // A check with a standard error (a mean over realisations, the observer's jackknife) also says
  // how far from its nearest limit it lies and whether the verdict is firm (./margin.ts); the key
  // is present exactly where `standardError` is, and null where that is.
  const measured = spec.measured ?? {};
  const se = 'standardError' in measured ? (measured.standardError ?? null) : undefined;
  const margin = se === undefined ? null : limitMarginSe(measurable ? value : null, bounds, se);
  return {
    name: checkName(spec.phantom, spec.dose, spec.check, spec.subject),
    value: measurable ? value : null,
    threshold,
    pass,
    op,
    check: spec.check,
    phantom: spec.phantom,
    dose: spec.dose,
    unit: spec.unit,
    detail: spec.detail,
    measured: se === undefined ? measured : { ...measured, limitMarginSe: margin },
    firm: se === undefined ? null : isFirm(measurable ? value : null, se, margin),
  };
}

/** "low-contrast 6 mm #1" -> "low-contrast-6mm-1": names stay one token for scripts. */
export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/(\d)\s+mm/g, '$1mm')
    .replace(/[^a-z0-9.]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** A number for detail lines: 3 significant digits, no exponent for ordinary magnitudes. */
export function fmt(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a';
  if (value === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, Math.min(6, digits - 1 - magnitude));
  return value.toFixed(decimals);
}

/** Ratio a / b, null when b is 0 or either is missing. */
export function ratio(a: number | null, b: number | null): number | null {
  if (a === null || b === null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return a / b;
}

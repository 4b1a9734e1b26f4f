/**
 * What a derived series was made with, as far as a later run must agree before it skips the series
 * as finished or adds frames to it: everything that changes its pixels. The method, the model, for
 * the diffusion model its settings (its DerivationDescription: model version, sampler, strength,
 * steps, seed, samples, guidance, orientations, consistency, low band, dose, texture), the model
 * files that ran (their sha256, src/models/fingerprint.ts: a model file replaced under the same
 * card name and version makes other pixels) and what the denoiser saw in padded pixels (the
 * padding fill, src/padding.ts: the pixels next to padding are denoised from it). A filter's
 * description also holds the series' own noise estimate, which differs from series to series and
 * from frame to frame of one acquisition; the same filter on the same series estimates the same,
 * so the method stands for it (`denoise` takes no filter parameter of its own).
 *
 * What the run writes besides the denoised series (the uncertainty series' calibration,
 * `--hallucination`'s map, `--reference` scores) is not in it: it changes no denoised pixel. A
 * rerun checks the extra outputs it asks for on their own (./extra-outputs.ts).
 *
 * A finished series' completion marker (its SeriesReport) is checked against it before the series
 * is skipped (./denoise.ts), and a dynamic or gated PET acquisition's `.lowdose-series.json`
 * records it beside the derived series' UIDs, so that its frames are one processing
 * (./acquisition-series.ts). A marker or file an older lowdose wrote lacks `modelSha256` and
 * `paddingFill`: what is not recorded cannot be compared, so only the fields both sides have are.
 */
import type { DenoiseMethod } from '../choices.js';
import type { PaddingFill } from '../padding.js';

export interface MadeWith {
  readonly method: DenoiseMethod;
  /** The model's name; null for a filter. */
  readonly model: string | null;
  /** The diffusion model's DerivationDescription; null for a filter. */
  readonly settings: string | null;
  /**
   * sha256 of the model files that made it (ModelFingerprint.sha256: the card's settings and every
   * ONNX file it names); null for a filter. Absent where an older lowdose recorded it: not compared.
   */
  readonly modelSha256?: string | null;
  /** What the denoiser saw in padded pixels. Absent where an older lowdose recorded it: not compared. */
  readonly paddingFill?: PaddingFill;
}

/** What a run makes its series with (a SliceDenoiser's fields, and the run's padding fill). */
export function madeWithOf(
  denoiser: {
    readonly method: DenoiseMethod;
    readonly modelName: string | null;
    readonly derivationDescription: string;
    readonly modelFingerprint: { readonly sha256: string } | null;
  },
  paddingFill: PaddingFill,
): MadeWith {
  return {
    method: denoiser.method,
    model: denoiser.modelName,
    settings: denoiser.method === 'diffusion' ? denoiser.derivationDescription : null,
    modelSha256: denoiser.modelFingerprint?.sha256 ?? null,
    paddingFill,
  };
}

/** The fields of a SeriesReport (a completion marker) that say what it was made with. */
export interface ReportedMadeWith {
  readonly method: DenoiseMethod;
  readonly model: string | null;
  readonly settings: string;
  /** Absent in a marker written before it was recorded. */
  readonly modelFingerprint?: { readonly sha256?: unknown } | null;
  /** Absent in a marker written before it was recorded. */
  readonly paddingFill?: unknown;
}

/** What a finished series was made with, from its completion marker (a SeriesReport). */
export function madeWithOfReport(report: ReportedMadeWith): MadeWith {
  const fingerprint = report.modelFingerprint;
  const modelSha256 = fingerprint === null ? null : typeof fingerprint?.sha256 === 'string' ? fingerprint.sha256 : undefined;
  return {
    method: report.method,
    model: report.model ?? null,
    settings: report.method === 'diffusion' ? report.settings : null,
    ...(modelSha256 !== undefined ? { modelSha256 } : {}),
    ...(isPaddingFill(report.paddingFill) ? { paddingFill: report.paddingFill } : {}),
  };
}

/** Whether two agree on every field both record (a field one of them lacks is not compared). */
export function sameMadeWith(a: MadeWith, b: MadeWith): boolean {
  return madeWithDifference(a, b) === '';
}

/** Whether `made` records every field a run records now (else it was recorded by an older lowdose). */
export function completeMadeWith(made: MadeWith): boolean {
  return made.modelSha256 !== undefined && made.paddingFill !== undefined;
}

/**
 * What differs, for a message (empty when nothing does): `method gaussian, this run nlm`; for two
 * settings of the diffusion model, only the parts that differ (`settings "seed 7", this run
 * "seed 8"`); `model files sha256 1a2b3c4d5e6f, this run 3c4d5e6f7a8b`; `padding fill nearest, this
 * run constant -1000`. A field one side lacks (recorded by an older lowdose) is not compared.
 */
export function madeWithDifference(recorded: MadeWith, asked: MadeWith): string {
  const parts: string[] = [];
  if (recorded.method !== asked.method) parts.push(`method ${recorded.method}, this run ${asked.method}`);
  if (recorded.model !== asked.model) parts.push(`model ${recorded.model ?? 'none'}, this run ${asked.model ?? 'none'}`);
  if (recorded.settings !== null && asked.settings !== null && recorded.settings !== asked.settings) {
    const mine = settingParts(recorded.settings);
    const theirs = settingParts(asked.settings);
    const only = (a: string[], b: string[]) => a.filter((p) => !b.includes(p)).map((p) => `"${p}"`).join(', ') || 'none';
    parts.push(`settings ${only(mine, theirs)}, this run ${only(theirs, mine)}`);
  }
  if (recorded.modelSha256 !== undefined && asked.modelSha256 !== undefined && recorded.modelSha256 !== asked.modelSha256) {
    parts.push(`model files sha256 ${shortSha(recorded.modelSha256)}, this run ${shortSha(asked.modelSha256)}`);
  }
  if (recorded.paddingFill !== undefined && asked.paddingFill !== undefined && describeFill(recorded.paddingFill) !== describeFill(asked.paddingFill)) {
    parts.push(`padding fill ${describeFill(recorded.paddingFill)}, this run ${describeFill(asked.paddingFill)}`);
  }
  return parts.join('; ');
}

/** The first 12 hex digits, as `fingerprintDifferences` (src/models/fingerprint.ts) shows a hash. */
const shortSha = (sha: string | null) => (sha === null ? 'none' : sha.slice(0, 12));

/** `nearest`, `constant -1000`. */
const describeFill = (fill: PaddingFill) => (fill.kind === 'constant' ? `constant ${fill.value}` : fill.kind);

/** A DerivationDescription's parts: split at the commas outside parentheses (`consistency 1 (4.5 mm, ...)` is one). */
function settingParts(description: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < description.length; i++) {
    const c = description[i];
    if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      parts.push(description.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(description.slice(start).trim());
  return parts;
}

/** Whether a value read from a file is a MadeWith. */
export function isMadeWith(value: unknown): value is MadeWith {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const nullableString = (x: unknown) => x === null || typeof x === 'string';
  return (
    typeof v.method === 'string' &&
    nullableString(v.model) &&
    nullableString(v.settings) &&
    (v.modelSha256 === undefined || nullableString(v.modelSha256)) &&
    (v.paddingFill === undefined || isPaddingFill(v.paddingFill))
  );
}

/** Whether a value read from a file is a PaddingFill. */
function isPaddingFill(value: unknown): value is PaddingFill {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.kind === 'nearest' || (v.kind === 'constant' && typeof v.value === 'number' && Number.isFinite(v.value));
}

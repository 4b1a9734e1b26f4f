/**
 * What a derived series was made with, as far as a later run must agree before it skips the series
 * as finished or adds frames to it: the method, the model, and for the diffusion model its
 * settings (its DerivationDescription: model version, sampler, steps, seed, samples, guidance,
 * orientations, consistency, low band, dose, texture). A filter's description also holds the
 * series' own noise estimate, which differs from series to series and from frame to frame of one
 * acquisition; the same filter on the same series estimates the same, so the method stands for it.
 *
 * A finished series' completion marker (its SeriesReport) is checked against it before the series
 * is skipped (./denoise.ts), and a dynamic or gated PET acquisition's `.lowdose-series.json`
 * records it beside the derived series' UIDs, so that its frames are one processing
 * (./acquisition-series.ts).
 */
import type { DenoiseMethod } from '../choices.js';

export interface MadeWith {
  readonly method: DenoiseMethod;
  /** The model's name; null for a filter. */
  readonly model: string | null;
  /** The diffusion model's DerivationDescription; null for a filter. */
  readonly settings: string | null;
}

/** What a run makes its series with (a SliceDenoiser's fields). */
export function madeWithOf(denoiser: { readonly method: DenoiseMethod; readonly modelName: string | null; readonly derivationDescription: string }): MadeWith {
  return { method: denoiser.method, model: denoiser.modelName, settings: denoiser.method === 'diffusion' ? denoiser.derivationDescription : null };
}

/** The fields of a SeriesReport (a completion marker) that say what it was made with. */
export interface ReportedMadeWith {
  readonly method: DenoiseMethod;
  readonly model: string | null;
  readonly settings: string;
}

/** What a finished series was made with, from its completion marker (a SeriesReport). */
export function madeWithOfReport(report: ReportedMadeWith): MadeWith {
  return { method: report.method, model: report.model ?? null, settings: report.method === 'diffusion' ? report.settings : null };
}

export function sameMadeWith(a: MadeWith, b: MadeWith): boolean {
  return a.method === b.method && a.model === b.model && a.settings === b.settings;
}

/**
 * What differs, for a message: `method gaussian, this run nlm`; for two settings of the diffusion
 * model, only the parts that differ (`settings "seed 7", this run "seed 8"`).
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
  return parts.join('; ');
}

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
  return typeof v.method === 'string' && nullableString(v.model) && nullableString(v.settings);
}

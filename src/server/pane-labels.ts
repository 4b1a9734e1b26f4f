/**
 * What panes are called, from the series' own facts, for the viewer's panes and the server's
 * figure alike: a series by its role ("Low-dose", "Original", "Full-dose"), a method by what its
 * report says. Pure (type-only imports), so the viewer bundles it.
 */
import type { ReportFacts, SeriesRole } from './api-types.js';

const ROLE_TITLES: Record<SeriesRole, string> = {
  'low-dose': 'Low-dose',
  'full-dose': 'Full-dose',
  original: 'Original',
  denoised: 'Denoised',
  uncertainty: 'Uncertainty (σ)',
  hallucination: 'Hallucination map',
  derived: 'Derived',
};

/** The series' role as a title ("Low-dose", "Full-dose", "Original", …). */
export function roleTitle(role: SeriesRole): string {
  return ROLE_TITLES[role];
}

/**
 * A method as a reader tells methods apart: "nlm", "gaussian", "diffusion lowdose-ct, 8 steps, 4
 * samples"; what the report names, else "denoised" (a series paired by its headers alone).
 */
export function methodLabel(report: Pick<ReportFacts, 'method' | 'model' | 'steps' | 'samples'> | null): string {
  if (!report?.method) return 'denoised';
  if (report.method !== 'diffusion') return report.method;
  const parts = [report.model ? `diffusion ${report.model}` : 'diffusion'];
  if (report.steps) parts.push(`${report.steps} step${report.steps === 1 ? '' : 's'}`);
  if (report.samples && report.samples > 1) parts.push(`${report.samples} samples`);
  return parts.join(', ');
}

/**
 * The difference pane's window as text: "±100 HU" while it is centred on zero (the way it opens),
 * else the same "W … L …" as the other panes, since "±" would misstate a window moved off zero.
 */
export function differenceWindowText(voi: { windowCenter: number; windowWidth: number }, unit: string, format: (v: number) => string): string {
  const centred = Math.abs(voi.windowCenter) <= 1e-6 * Math.max(1, voi.windowWidth);
  return centred ? `±${format(voi.windowWidth / 2)} ${unit}` : `W ${format(voi.windowWidth)} L ${format(voi.windowCenter)} ${unit}`;
}

/** How much of a series its run wrote (a comparison's `uncertaintyIncomplete` / `hallucinationIncomplete`). */
export interface IncompleteCount {
  readonly slices: number;
  readonly expected: number;
}

/** What an overlay or pane drawn from a series its run did not finish is. */
export type IncompleteWhat = 'uncertainty series' | 'hallucination map';

/**
 * The mark a pane drawn from a series its run did not finish carries on every slice (the viewer's
 * uncertainty pane and the denoised pane while such an overlay is on, the server figure's
 * uncertainty pane): `INCOMPLETE uncertainty series: 3 of 5 slices`. Its slices are drawn as
 * written, but the series is not the whole one: a slice without it shows nothing, which is not
 * "nothing above the threshold" or "nothing flagged".
 */
export function incompletePaneText(what: IncompleteWhat, incomplete: IncompleteCount): string {
  return `INCOMPLETE ${what}: ${incomplete.slices} of ${incomplete.expected} slices`;
}

/** Where a series its run did not finish has no slice for the one shown: `no uncertainty slice here (incomplete series: 3 of 5 slices)`. */
export function incompleteNoSliceText(what: IncompleteWhat, incomplete: IncompleteCount): string {
  const noun = what === 'hallucination map' ? 'map' : 'uncertainty';
  return `no ${noun} slice here (incomplete ${what}: ${incomplete.slices} of ${incomplete.expected} slices)`;
}

/**
 * What each pane is called, from the series' own facts (its role, as the server read it from
 * report.json and DICOM headers), never from the slot it sits in: a single full-dose series is
 * "Full-dose", the source of a job run on an original scan is "Original", not "Low-dose".
 */
import type { SeriesDetail, SeriesRole } from './api.js';

export type PaneKey = 'lowDose' | 'denoised' | 'reference' | 'difference' | 'uncertainty';

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

export interface TitleFacts {
  readonly source: Pick<SeriesDetail, 'role'>;
  readonly denoised: Pick<SeriesDetail, 'role'> | null;
  readonly reference: Pick<SeriesDetail, 'role'> | null;
  /** The comparison's method ('nlm', 'diffusion', …), when a report names it. */
  readonly method: string | null;
}

/**
 * Pane titles of a view: the first pane is the source series by its role; the reference pane says
 * it is the reference and what it is (full-dose, original); the difference pane says what minus what.
 */
export function paneTitles(facts: TitleFacts): Record<PaneKey, string> {
  const source = roleTitle(facts.source.role);
  const reference = facts.reference ? (facts.reference.role === 'original' || facts.reference.role === 'derived' ? 'Reference' : `Reference (${roleTitle(facts.reference.role).toLowerCase()})`) : 'Reference';
  const denoised = facts.method ? `Denoised (${facts.method})` : 'Denoised';
  return {
    lowDose: source,
    denoised,
    reference,
    difference: facts.reference ? 'Difference (denoised − reference)' : `Difference (denoised − ${source.toLowerCase()})`,
    uncertainty: 'Uncertainty (σ)',
  };
}

/**
 * The difference pane's window as text: "±100 HU" while it is centred on zero (the way it opens),
 * else the same "W … L …" as the other panes, since "±" would misstate a window moved off zero.
 */
export function differenceWindowText(voi: { windowCenter: number; windowWidth: number }, unit: string, format: (v: number) => string): string {
  const centred = Math.abs(voi.windowCenter) <= 1e-6 * Math.max(1, voi.windowWidth);
  return centred ? `±${format(voi.windowWidth / 2)} ${unit}` : `W ${format(voi.windowWidth)} L ${format(voi.windowCenter)} ${unit}`;
}

/**
 * What each pane is called, from the series' own facts (its role, as the server read it from
 * report.json and DICOM headers), never from the slot it sits in: a single full-dose series is
 * "Full-dose", the source of a job run on an original scan is "Original", not "Low-dose".
 */
import type { SeriesDetail, SeriesSummary } from './api.js';
import { roleTitle } from '../../src/server/pane-labels.js';
import { frameTimingLine, petFrameLabel } from '../../src/dicom/pet-frame-text.js';

export { differenceWindowText, methodLabel, roleTitle } from '../../src/server/pane-labels.js';

/** The panes every view may have; a multi-method hanging adds `denoised-2`, `denoised-3`, … */
export type BasePaneKey = 'lowDose' | 'denoised' | 'reference' | 'difference' | 'uncertainty';
export type MethodPaneKey = `denoised-${number}`;
export type PaneKey = BasePaneKey | MethodPaneKey;

/** The pane of method `k` (0-based) of a hanging: the first is `denoised`, as in a single comparison. */
export function methodPaneKey(k: number): 'denoised' | MethodPaneKey {
  return k === 0 ? 'denoised' : `denoised-${k + 1}`;
}

export function isMethodPane(key: string): key is 'denoised' | MethodPaneKey {
  return key === 'denoised' || /^denoised-\d+$/.test(key);
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
export function paneTitles(facts: TitleFacts): Record<BasePaneKey, string> {
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
 * Which time point or gate of a dynamic or gated PET acquisition a series is, for its list entry and
 * its pane's title: `t2 / 3 · 60–180 s (mid 120 s)`, `gate 3 / 6 · trigger 250 ms` (petFrameLabel),
 * with the line `lowdose info` prints as its tooltip; null for a series of its own.
 */
export function frameLabel(series: Pick<SeriesSummary, 'petFrame'>): { text: string; tooltip: string } | null {
  const frame = series.petFrame;
  if (!frame) return null;
  const text = petFrameLabel(frame);
  return { text, tooltip: frameTimingLine(frame) ?? text };
}

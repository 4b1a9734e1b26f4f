/**
 * Several denoised versions of one low-dose series (a multi-method hanging): the comparisons the
 * caller names, checked to share their low-dose series, in the order given.
 */
import { LowdoseError } from '../errors.js';
import type { DataIndex, IndexedComparison } from './data/data-index.js';
import type { IndexedSeries } from './data/pairing.js';
import { ID_PATTERN } from './schemas.js';

/** More panes than any layout shows; also bounds the work one request can ask for. */
export const MAX_METHODS = 12;

export interface MethodSet {
  readonly lowDose: IndexedSeries;
  readonly comparisons: readonly IndexedComparison[];
}

/** `ids`: comparison ids, comma-separated as in `?comparisons=a,b,c`. */
export function parseComparisonIds(ids: string): string[] {
  const list = [...new Set(ids.split(',').map((s) => s.trim()).filter(Boolean))];
  if (list.length === 0) throw new LowdoseError('E_USAGE', 'name at least one comparison: ?comparisons=<id>,<id>');
  if (list.length > MAX_METHODS) throw new LowdoseError('E_USAGE', `at most ${MAX_METHODS} comparisons at once, got ${list.length}`);
  const pattern = new RegExp(ID_PATTERN);
  const bad = list.find((id) => !pattern.test(id));
  if (bad !== undefined) throw new LowdoseError('E_USAGE', `not a comparison id: ${JSON.stringify(bad.slice(0, 40))}`);
  return list;
}

export function methodSet(index: DataIndex, ids: readonly string[]): MethodSet {
  const comparisons = ids.map((id) => index.comparison(id));
  const lowDose = comparisons[0]!.lowDose;
  const other = comparisons.find((c) => c.lowDose.id !== lowDose.id);
  if (other) {
    throw new LowdoseError('E_USAGE', `comparison ${other.id} denoises series ${other.lowDose.id}, not ${lowDose.id} as ${comparisons[0]!.id} does: methods side by side must share their low-dose series`);
  }
  return { lowDose, comparisons };
}

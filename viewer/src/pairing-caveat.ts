/**
 * A comparison's pairing warnings (the server's `pairingWarnings`: the codes and words of `lowdose
 * metrics`, src/metrics/pairing-warnings.ts) on the page: a short caveat beside the series means, so
 * a reader of the numbers sees that they compare another kernel, slice thickness or gate, and
 * each whole message once in the warning bar above the panes.
 */
import type { ComparisonDetail } from './api.js';

type PairingWarning = NonNullable<ComparisonDetail['pairingWarnings']>[number];
type Comparison = Pick<ComparisonDetail, 'reference' | 'pairingWarnings'>;

/** The caveat's words per code; `against`: what the scores compare with ("reference", "low-dose"). */
const SHORT: Readonly<Record<string, (against: string) => string>> = {
  W_KERNEL_MISMATCH: (against) => `${against} is a different reconstruction kernel`,
  W_THICKNESS_MISMATCH: (against) => `${against} is a different slice thickness`,
  W_GATE_AGAINST_UNGATED: (against) => `a gate scored against an ungated series (${against})`,
  W_TEST_IS_REFERENCE: (against) => `${against} is the scored series itself`,
};

/**
 * "Scores not like for like: reference is a different reconstruction kernel" for the methods shown
 * (each code once, in the order first given); null when none has a pairing warning. `source`:
 * what a method without a reference is scored against ("low-dose", "original").
 */
export function pairingCaveat(comparisons: readonly Comparison[], source = 'low-dose'): string | null {
  const phrases = new Set<string>();
  for (const c of comparisons) {
    const against = c.reference !== null ? 'reference' : source;
    for (const w of c.pairingWarnings ?? []) phrases.add(SHORT[w.code]?.(against) ?? w.code);
  }
  return phrases.size === 0 ? null : `Scores not like for like: ${[...phrases].join('; ')}`;
}

/** Each of the methods' pairing warnings once (a low-dose pair shared by several methods is one), for the warning bar. */
export function pairingWarningLines(comparisons: readonly Comparison[]): PairingWarning[] {
  const seen = new Map<string, PairingWarning>();
  for (const w of comparisons.flatMap((c) => c.pairingWarnings ?? [])) seen.set(`${w.code}\n${w.message}`, w);
  return [...seen.values()];
}

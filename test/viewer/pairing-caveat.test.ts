/**
 * The viewer's caveat beside the series means and its lines in the warning bar, from the
 * comparison API's `pairingWarnings` (src/server/data/pairing.ts comparisonPairingWarnings): a
 * reader of the numbers sees that the reference is another kernel, thickness or gate.
 */
import { describe, expect, it } from 'vitest';
import type { ComparisonDetail } from '../../src/server/api-types.js';
import { pairingCaveat, pairingWarningLines } from '../../viewer/src/pairing-caveat.js';

type Warnings = NonNullable<ComparisonDetail['pairingWarnings']>;
const kernel: Warnings = [
  { code: 'W_KERNEL_MISMATCH', scores: 'lowDose', message: 'the reference was reconstructed with kernel B30f and the low-dose with D45f: ...' },
  { code: 'W_KERNEL_MISMATCH', scores: 'denoised', message: 'the reference was reconstructed with kernel B30f and the denoised with D45f: ...' },
];
const gate: Warnings = [{ code: 'W_GATE_AGAINST_UNGATED', scores: 'denoised', message: 'the denoised is gate 2 of 6 (TriggerTime 250 ms) of a gated acquisition and ...' }];

describe('pairingCaveat', () => {
  it('says the reference is a different kernel, once for the low-dose and denoised scores alike', () => {
    expect(pairingCaveat([{ reference: 'r', pairingWarnings: kernel }])).toBe('Scores not like for like: reference is a different reconstruction kernel');
  });

  it("names each code once over several methods, and what a method without a reference is scored against", () => {
    const caveat = pairingCaveat([
      { reference: 'r', pairingWarnings: kernel },
      { reference: 'r', pairingWarnings: kernel },
      { reference: null, pairingWarnings: [{ code: 'W_THICKNESS_MISMATCH', scores: 'denoised', message: 'the reference slices are 3 mm thick and ...' }] },
    ], 'original');
    expect(caveat).toBe('Scores not like for like: reference is a different reconstruction kernel; original is a different slice thickness');
  });

  it('says a gate is scored against an ungated series, and names a code it has no words for', () => {
    expect(pairingCaveat([{ reference: 'r', pairingWarnings: [...gate, { code: 'W_SOMETHING_NEW', scores: 'denoised', message: '...' }] }])).toBe(
      'Scores not like for like: a gate scored against an ungated series (reference); W_SOMETHING_NEW',
    );
  });

  it('is null without pairing warnings, or from a server older than the field', () => {
    expect(pairingCaveat([{ reference: 'r', pairingWarnings: [] }, { reference: null }])).toBeNull();
  });
});

describe('pairingWarningLines', () => {
  it("gives each method's warning once: the low-dose pair several methods share is one line", () => {
    const denoisedB = { code: 'W_KERNEL_MISMATCH', scores: 'denoised' as const, message: 'the reference was reconstructed with kernel B30f and the denoised with D45f (method B)' };
    expect(pairingWarningLines([{ reference: 'r', pairingWarnings: kernel }, { reference: 'r', pairingWarnings: [kernel[0]!, denoisedB] }, { reference: null }])).toEqual([kernel[0], kernel[1], denoisedB]);
  });
});

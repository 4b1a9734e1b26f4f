/** Pane titles from the series' own roles, the difference pane's window text and a PET frame's label (viewer/src/pane-titles.ts, src/dicom/pet-frame-text.ts). */
import { describe, expect, it } from 'vitest';
import { differenceWindowText, frameLabel, paneTitles } from '../../viewer/src/pane-titles.js';
import { petFrameLabel } from '../../src/dicom/pet-frame-text.js';

const fmt = (v: number) => v.toFixed(0);

describe('pane titles', () => {
  it('names a single series by its role, never "Low-dose" for a full-dose or original series', () => {
    expect(paneTitles({ source: { role: 'full-dose' }, denoised: null, reference: null, method: null }).lowDose).toBe('Full-dose');
    expect(paneTitles({ source: { role: 'original' }, denoised: null, reference: null, method: null }).lowDose).toBe('Original');
    expect(paneTitles({ source: { role: 'low-dose' }, denoised: null, reference: null, method: null }).lowDose).toBe('Low-dose');
  });

  it("names a job's source, its reference and the difference from their roles and the method", () => {
    const fromOriginal = paneTitles({ source: { role: 'original' }, denoised: { role: 'denoised' }, reference: null, method: 'nlm' });
    expect(fromOriginal).toMatchObject({ lowDose: 'Original', denoised: 'Denoised (nlm)', difference: 'Difference (denoised − original)' });
    const simulated = paneTitles({ source: { role: 'low-dose' }, denoised: { role: 'denoised' }, reference: { role: 'full-dose' }, method: 'diffusion' });
    expect(simulated).toMatchObject({ lowDose: 'Low-dose', reference: 'Reference (full-dose)', difference: 'Difference (denoised − reference)' });
  });
});

describe('difference window text', () => {
  it('reads ±half-width while the window is centred on zero', () => {
    expect(differenceWindowText({ windowCenter: 0, windowWidth: 400 }, 'HU', fmt)).toBe('±200 HU');
  });

  it('reads W and L once the window has moved off zero', () => {
    expect(differenceWindowText({ windowCenter: 35, windowWidth: 300 }, 'HU', fmt)).toBe('W 300 L 35 HU');
  });
});

describe('dynamic and gated PET frame labels', () => {
  const timing = { startMs: 60000, durationMs: 120000, midMs: 120000, referenceMs: 120000, acquisitionDateTime: '19600614152416.921000' };

  it('labels a time point by its number, span from the series reference time and middle', () => {
    const label = frameLabel({ petFrame: { kind: 'dynamic', frame: 2, frames: 6, tag: 't02', timing } });
    expect(label).toEqual({
      text: 't2 / 6 · 60–180 s (mid 120 s)',
      tooltip: 'time point 2 of 6: start 60 s, duration 120 s, mid 120 s, FrameReferenceTime 120 s (from the SeriesTime), acquired 19600614152416.921000',
    });
  });

  it('says only what the files carry: the middle or FrameReferenceTime without a start, the number alone without timing', () => {
    expect(petFrameLabel({ kind: 'dynamic', frame: 2, frames: 6, timing: { ...timing, startMs: null, midMs: null } })).toBe('t2 / 6 · FrameReferenceTime 120 s');
    expect(petFrameLabel({ kind: 'dynamic', frame: 3, frames: 6, timing: { ...timing, durationMs: null, midMs: 1500 } })).toBe('t3 / 6 · mid 1.5 s');
    expect(petFrameLabel({ kind: 'dynamic', frame: 1, frames: 6 })).toBe('t1 / 6');
  });

  it('labels a gate by its number, TriggerTime and R-R window: gates of one trigger time differ by their window', () => {
    expect(petFrameLabel({ kind: 'gated', frame: 5, frames: 6, gating: { triggerTimeMs: 250, lowRRMs: 1000, highRRMs: 1400 } })).toBe('gate 5 / 6 · trigger 250 ms · R-R 1000–1400 ms');
    expect(petFrameLabel({ kind: 'gated', frame: 3, frames: 8, gating: { triggerTimeMs: 250 } })).toBe('gate 3 / 8 · trigger 250 ms');
    expect(frameLabel({ petFrame: { kind: 'gated', frame: 3, frames: 8, tag: 'g03' } })).toEqual({ text: 'gate 3 / 8', tooltip: 'gate 3 / 8' });
  });

  it('gives a series of its own no label', () => {
    expect(frameLabel({})).toBeNull();
  });
});

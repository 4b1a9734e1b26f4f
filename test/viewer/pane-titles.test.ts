/** Pane titles from the series' own roles, and the difference pane's window text (viewer/src/pane-titles.ts). */
import { describe, expect, it } from 'vitest';
import { differenceWindowText, paneTitles } from '../../viewer/src/pane-titles.js';

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

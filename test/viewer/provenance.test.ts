/** The denoised pane's provenance line and its tooltip (viewer/src/provenance.ts). */
import { describe, expect, it } from 'vitest';
import { provenanceText } from '../../viewer/src/provenance.js';

const DERIVATION = 'lowdose diffusion model lowdose-ct, steps 4, seed 1';

describe('provenanceText', () => {
  it('names the model, the lowdose version and the first 8 hex of the model fingerprint on one line', () => {
    const text = provenanceText({
      derivation: DERIVATION,
      provenance: { model: 'lowdose-ct', toolkitVersion: '0.1.0', modelSha256: '03535c8f9a1b2c3d', contributionDateTime: '2026-12-06T10:22:12.345+01:00' },
    })!;
    expect(text.line).toBe('lowdose-ct · lowdose 0.1.0 · model 03535c8f…');
    // The tooltip: the whole prefix, the clock time as the file states it, and the DerivationDescription.
    expect(text.title).toBe(`Made by lowdose 0.1.0, lowdose-ct (model files sha256 03535c8f9a1b2c3d…)\non 2026-12-06 10:22:12 +01:00\n${DERIVATION}`);
  });

  it('leaves out what a filter run has not: no fingerprint, no time', () => {
    const text = provenanceText({
      derivation: 'lowdose gaussian filter: sigma 1 px',
      provenance: { model: 'gaussian filter', toolkitVersion: '0.1.0', modelSha256: null, contributionDateTime: null },
    })!;
    expect(text.line).toBe('gaussian filter · lowdose 0.1.0');
    expect(text.title).toBe('Made by lowdose 0.1.0, gaussian filter\nlowdose gaussian filter: sigma 1 px');
  });

  it('shows nothing for a series no lowdose item describes', () => {
    expect(provenanceText({ derivation: 'made elsewhere', provenance: null })).toBeNull();
  });
});

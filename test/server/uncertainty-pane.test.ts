/**
 * The uncertainty pane's window (the viewer's and the server figure's, src/server/uncertainty-pane.ts)
 * is the written σ series' rule: calibrated σ from 0 to 4 × the threshold on every slice, the raw
 * spread from 0 to the slice's 99th percentile, so one hot pixel does not darken the slice.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/random.js';
import { sigmaSeriesKind, sigmaWindow } from '../../src/dicom/sigma-window.js';
import { uncertaintyThresholdOf, uncertaintyWindow, uncertaintyWindowText } from '../../src/server/uncertainty-pane.js';

/** A 64 × 64 σ slice: seeded values 5 to 15, one hot pixel of `hot`, the first row padding. */
function sigmaSlice(seed: number, hot: number): { data: Float32Array; padding: Uint8Array } {
  const rng = new Rng(seed, 1);
  const data = Float32Array.from({ length: 64 * 64 }, () => 5 + 10 * rng.uniform());
  data[2000] = hot;
  const padding = new Uint8Array(64 * 64);
  for (let i = 0; i < 64; i++) {
    padding[i] = 1;
    data[i] = 1000;
  }
  return { data, padding };
}

const fmt = (v: number) => (Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));

describe('uncertainty pane window', () => {
  it('is 0 to 4 x the threshold for calibrated sigma, whatever the slice holds', () => {
    const quiet = sigmaSlice(1, 14);
    const hot = sigmaSlice(2, 400);
    expect(uncertaintyWindow(quiet.data, quiet.padding, 10, 'HU')).toEqual({ lo: 0, hi: 40, explanation: 'SIGMA 0-40 HU' });
    expect(uncertaintyWindow(hot.data, hot.padding, 10, 'HU')).toEqual(uncertaintyWindow(quiet.data, quiet.padding, 10, 'HU'));
    expect(uncertaintyWindow(hot.data, hot.padding, 0.2, 'SUV').hi).toBeCloseTo(0.8, 12);
  });

  it('is 0 to the slice 99th percentile for a raw spread: a hot pixel and the padding do not set it', () => {
    const quiet = sigmaSlice(3, 14);
    const hot = sigmaSlice(3, 400);
    const window = uncertaintyWindow(hot.data, hot.padding, null, 'HU');
    expect(window).toEqual(uncertaintyWindow(quiet.data, quiet.padding, null, 'HU'));
    expect(window.lo).toBe(0);
    expect(window.hi).toBeGreaterThan(14.5);
    expect(window.hi).toBeLessThan(15);
    expect(window.explanation).toBe(`SD 0-${window.hi} HU (SLICE P99)`);
  });

  it('says where the threshold sits on the grey scale in its legend', () => {
    expect(uncertaintyWindowText({ lo: 0, hi: 40 }, 10, 'HU', fmt)).toBe('σ 0.00–40.0 HU · threshold 10.0 at 25 %');
    expect(uncertaintyWindowText({ lo: 0, hi: 20 }, 10, 'HU', fmt)).toBe('σ 0.00–20.0 HU · threshold 10.0 at 50 %');
    expect(uncertaintyWindowText({ lo: 0, hi: 4.94 }, null, 'HU', fmt)).toBe('SD 0.00–4.94 HU · not calibrated');
  });
});

describe('what an uncertainty series holds, from its own window', () => {
  it('reads calibrated sigma and its threshold back from the window the writer stores', () => {
    for (const [threshold, units] of [[10, 'HU'], [0.2, 'SUV'], [12.5, 'HU'], [200, 'HU']] as const) {
      expect(sigmaSeriesKind(sigmaWindow(threshold, units).explanation)).toEqual({ calibrated: true, threshold });
    }
  });

  it('reads a raw spread as not calibrated, and another explanation as unknown', () => {
    const { data, padding } = sigmaSlice(4, 14);
    expect(sigmaSeriesKind(uncertaintyWindow(data, padding, null, 'HU').explanation)).toEqual({ calibrated: false });
    expect(sigmaSeriesKind('')).toBeNull();
    expect(sigmaSeriesKind('WINDOW1')).toBeNull();
    expect(sigmaSeriesKind('SIGMA 0-0 HU')).toBeNull();
  });

  it('takes the comparison threshold the server read from the header over the report, and the report from an older server', () => {
    expect(uncertaintyThresholdOf({ uncertaintyThreshold: 200, report: null })).toBe(200);
    expect(uncertaintyThresholdOf({ uncertaintyThreshold: null, report: { uncertaintyThreshold: 10 } })).toBeNull();
    expect(uncertaintyThresholdOf({ report: { uncertaintyThreshold: 10 } })).toBe(10);
    expect(uncertaintyThresholdOf(null)).toBeNull();
  });
});

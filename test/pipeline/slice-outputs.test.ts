/**
 * One slice's outputs from the model's raw output (src/pipeline/slice-outputs.ts) on a real padded
 * CT slice (GE ct-3slice: -3024 HU outside the reconstruction circle): the calibrated sigma comes
 * from the padding-filled input and the model's own output, as the calibration measured it, not
 * from the output after restorePadding has written the padding back into it.
 */
import { describe, expect, it } from 'vitest';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import { gaussianSmooth } from '../../src/filters/gaussian.js';
import { calibratedSigma, removedNoiseVariance, windowRadius } from '../../src/metrics/uncertainty.js';
import { DEFAULT_PADDING_FILL, fillPadding, paddingDistance } from '../../src/padding.js';
import { sliceOutputs } from '../../src/pipeline/slice-outputs.js';
import type { ResolvedUncertainty } from '../../src/pipeline/slice-denoiser.js';
import { UncertaintySummary } from '../../src/pipeline/uncertainty-summary.js';
import { corpus } from '../dicom-write/helpers.js';

const GE = corpus('QIICR__dcmqi/data/segmentations/ct-3slice');
/** A calibration whose removed-noise term counts (the shipped card's may not use it). */
const CALIBRATION: ResolvedUncertainty = { samples: 4, spreadScale: 2, noiseScale: 0.5, noiseWindowMm: 12, noiseLevelScale: 0.2, threshold: 10, units: 'HU' };

/** How many values differ (a count, so that a failure does not print two 512 x 512 arrays). */
function differing(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n = Math.abs(a.length - b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (!Object.is(a[i], b[i])) n++;
  return n;
}

async function paddedSlice() {
  const series = (await scanPaths([GE])).series[0]!;
  const input = await readSliceImage(series, 1);
  const filled = fillPadding(input.data, input.padding, input.rows, input.columns, DEFAULT_PADDING_FILL);
  // A stand-in for the model: a smoothed copy of what it is given, and a spread that follows the signal.
  const raw = gaussianSmooth(filled, input.rows, input.columns, 1.5, 1.5);
  const spread = Float32Array.from(filled, (v) => 1 + Math.abs(v) / 500);
  return { series, input, filled, raw, spread };
}

describe('slice outputs', () => {
  it('computes sigma from the filled input and the raw output before the padding goes back, and writes the padding into the output and the map', async () => {
    const { input, filled, raw, spread } = await paddedSlice();
    const padding = input.padding!;
    expect(padding.reduce((n, v) => n + v, 0)).toBeGreaterThan(50_000);
    const before = Float32Array.from(raw);
    const { rows, columns, pixelSpacing } = input;
    const radius = windowRadius(CALIBRATION.noiseWindowMm, pixelSpacing);
    const expected = calibratedSigma(spread, removedNoiseVariance(filled, before, rows, columns, radius), CALIBRATION, 30);

    const { output, sigma, map } = sliceOutputs(raw, spread, input, filled, CALIBRATION, true, 30);
    expect(differing(sigma!, expected)).toBe(0);
    // Padding back bit for bit; every image pixel is the model's, untouched.
    let wrongOutput = 0;
    let wrongMap = 0;
    for (let i = 0; i < output.length; i++) {
      if (output[i] !== (padding[i] ? input.data[i] : before[i])) wrongOutput++;
      if (map![i] !== (padding[i] ? input.data[i] : expected[i])) wrongMap++;
    }
    expect([wrongOutput, wrongMap]).toEqual([0, 0]);

    // The old order (sigma from the output with its padding restored) reads fill − (−3024 HU)
    // as removed noise a window deep into the field: the defect this order avoids.
    const restored = Float32Array.from(before, (v, i) => (padding[i] ? input.data[i]! : v));
    const wrong = calibratedSigma(spread, removedNoiseVariance(filled, restored, rows, columns, radius), CALIBRATION, 30);
    const distance = paddingDistance(padding, rows, columns);
    let worstRight = 0;
    let worstWrong = 0;
    for (let i = 0; i < distance.length; i++) {
      if (distance[i]! < 1 || distance[i]! > radius) continue;
      worstRight = Math.max(worstRight, sigma![i]!);
      worstWrong = Math.max(worstWrong, wrong[i]!);
    }
    expect(worstRight).toBeLessThan(100);
    expect(worstWrong).toBeGreaterThan(10 * worstRight);
  });

  it('leaves a slice without padding bit-identical: the output is the raw output, sigma the formula on it', async () => {
    const { input, filled, raw, spread } = await paddedSlice();
    const unpadded = { ...input, data: filled, padding: null };
    const before = Float32Array.from(raw);
    const { output, sigma, map } = sliceOutputs(raw, spread, unpadded, filled, CALIBRATION, true, 30);
    expect(output).toBe(raw);
    expect(differing(output, before)).toBe(0);
    const radius = windowRadius(CALIBRATION.noiseWindowMm, input.pixelSpacing);
    expect(differing(sigma!, calibratedSigma(spread, removedNoiseVariance(filled, before, input.rows, input.columns, radius), CALIBRATION, 30))).toBe(0);
    expect(differing(map!, sigma!)).toBe(0);

    // Uncalibrated (--samples K alone): the map is the spread, no sigma.
    const plain = sliceOutputs(Float32Array.from(before), spread, unpadded, filled, null, false, null);
    expect(plain.sigma).toBeNull();
    expect(plain.map).toBe(spread);
  });

  it('keeps padding pixels out of the report summaries: fraction above the threshold, mean sigma, worst patches', async () => {
    const { series, input } = await paddedSlice();
    const padding = input.padding!;
    // 5 HU everywhere in the image, an absurd value in the padding: only the image may count.
    const sigma = Float32Array.from(padding, (p) => (p ? 1e6 : 5));
    const summary = new UncertaintySummary(series, 10, 'HU');
    summary.add(1, sigma, input.data, padding);
    const result = summary.seriesSummary();
    expect(result.fractionAbove).toBe(0);
    expect(result.meanSigma).toBe(5);
    expect(result.worst[0]!.sigma).toBe(5);
    expect(result.tissuePixels).toBeLessThanOrEqual(input.rows * input.columns - padding.reduce((n, v) => n + v, 0));
    // Read without its mask, the padding along the field's edge would have counted.
    const unmasked = new UncertaintySummary(series, 10, 'HU');
    unmasked.add(1, sigma, input.data);
    expect(unmasked.seriesSummary().fractionAbove).toBeGreaterThan(0);
  });
});

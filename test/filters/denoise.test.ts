import { describe, expect, it } from 'vitest';
import { LowdoseError } from '../../src/errors.js';
import {
  bilateralFilter,
  CLASSICAL_DEFAULTS,
  classicalDenoise,
  estimateFilterNoise,
  estimateSeriesNoise,
  gaussianFilter,
  nlmFilter,
  type ClassicalMethod,
} from '../../src/filters/index.js';
import { addNoise, image, piecewisePhantom } from './direct.js';

const size = 96;
const truth = piecewisePhantom(size);
const noisy = image(size, size, addNoise(truth, 25, 9), [0.75, 0.75]);

describe('classicalDenoise', () => {
  it('runs each method with the CT defaults and says which settings it used', () => {
    const gaussian = classicalDenoise('gaussian', noisy);
    expect(gaussian.data).toEqual(gaussianFilter(noisy, { sigmaMm: CLASSICAL_DEFAULTS.CT.sigmaMm }).data);
    expect(gaussian.description).toBe(`Gaussian filter, sigma ${CLASSICAL_DEFAULTS.CT.sigmaMm} mm, truncated at 4 sigma`);
    expect(gaussian.settings).toMatchObject({ method: 'gaussian', modality: 'CT', sigmaMm: CLASSICAL_DEFAULTS.CT.sigmaMm });

    const noise = estimateFilterNoise(noisy, 'CT');
    expect(noise.from).toBe('soft tissue');
    expect(noise.std).toBeGreaterThan(22);
    expect(noise.std).toBeLessThan(28);

    const bilateral = classicalDenoise('bilateral', noisy);
    const sigmaRange = CLASSICAL_DEFAULTS.CT.rangeFactor * noise.std;
    expect(bilateral.data).toEqual(bilateralFilter(noisy, { sigmaSpatialMm: CLASSICAL_DEFAULTS.CT.sigmaSpatialMm, sigmaRange }).data);
    expect(bilateral.settings['sigmaRange']).toBeCloseTo(sigmaRange, 9);
    expect(bilateral.description).toMatch(/^bilateral filter, spatial sigma [\d.]+ mm, range sigma [\d.]+ HU \([\d.]+ x noise SD [\d.]+ HU, estimated in soft tissue\)$/);

    const nlm = classicalDenoise('nlm', noisy);
    const h = CLASSICAL_DEFAULTS.CT.hFactor * noise.std;
    const { patchRadius, searchRadius } = CLASSICAL_DEFAULTS.CT;
    expect(nlm.data).toEqual(nlmFilter(noisy, { h, noiseStd: noise.std, patchRadius, searchRadius }).data);
    const patch = 2 * patchRadius + 1;
    const search = 2 * searchRadius + 1;
    expect(nlm.description).toMatch(
      new RegExp(`^non-local means, ${patch}x${patch} patches, ${search}x${search} search, h [\\d.]+ HU \\([\\d.]+ x noise SD\\), noise SD [\\d.]+ HU \\(estimated in soft tissue\\)$`),
    );
    expect(nlm.settings).toMatchObject({ method: 'nlm', patchRadius, searchRadius, hFactor: CLASSICAL_DEFAULTS.CT.hFactor });
  });

  it('takes explicit settings over the defaults, widths in px or mm', () => {
    const g = classicalDenoise('gaussian', noisy, { sigmaPx: 1.7 });
    expect(g.data).toEqual(gaussianFilter(noisy, { sigmaPx: 1.7 }).data);
    expect(g.description).toContain('sigma 1.7 px');

    const b = classicalDenoise('bilateral', noisy, { sigmaSpatialMm: 2, sigmaRange: 33 });
    expect(b.data).toEqual(bilateralFilter(noisy, { sigmaSpatialMm: 2, sigmaRange: 33 }).data);
    expect(b.description).toBe('bilateral filter, spatial sigma 2 mm, range sigma 33 HU');

    const n = classicalDenoise('nlm', noisy, { h: 12, noiseStd: 20, patchRadius: 2, searchRadius: 5 });
    expect(n.data).toEqual(nlmFilter(noisy, { h: 12, noiseStd: 20, patchRadius: 2, searchRadius: 5 }).data);
    expect(n.description).toBe('non-local means, 5x5 patches, 11x11 search, h 12 HU (given), noise SD 20 HU (given)');
  });

  it('uses the PET defaults and no HU for modality PT', () => {
    const pet = image(size, size, Float32Array.from(noisy.data, (v) => Math.max(0, (v + 300) / 100)), [4, 4]);
    const g = classicalDenoise('gaussian', pet, { modality: 'PT' });
    expect(g.settings['sigmaMm']).toBe(CLASSICAL_DEFAULTS.PT.sigmaMm);
    const n = classicalDenoise('nlm', pet, { modality: 'PT', units: 'SUV' });
    expect(n.settings['patchRadius']).toBe(CLASSICAL_DEFAULTS.PT.patchRadius);
    expect(n.description).toContain(' SUV ');
    expect(n.description).not.toContain('HU');
  });

  it('rejects unknown methods and contradictory or invalid settings with E_USAGE', () => {
    const usage = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        expect(error).toBeInstanceOf(LowdoseError);
        expect((error as LowdoseError).code).toBe('E_USAGE');
        return (error as LowdoseError).message;
      }
      throw new Error('expected an E_USAGE error');
    };
    expect(usage(() => classicalDenoise('median' as ClassicalMethod, noisy))).toMatch(/unknown classical method median/);
    expect(usage(() => classicalDenoise('gaussian', noisy, { sigmaMm: 1, sigmaPx: 1 }))).toMatch(/not both/);
    expect(usage(() => classicalDenoise('bilateral', noisy, { sigmaRange: -3 }))).toMatch(/sigmaRange/);
    expect(usage(() => classicalDenoise('nlm', noisy, { hFactor: 0 }))).toMatch(/hFactor/);
    expect(usage(() => classicalDenoise('nlm', noisy, { noiseStd: Number.NaN }))).toMatch(/noiseStd/);
  });

  it('falls back to the whole slice when there is no soft tissue, and fails clearly on a blank slice', () => {
    const lung = image(64, 64, addNoise(new Float32Array(64 * 64).fill(-850), 20, 4));
    const level = estimateFilterNoise(lung, 'CT');
    expect(level.from).toBe('whole image');
    expect(level.std).toBeGreaterThan(17);
    expect(level.std).toBeLessThan(23);
    const blank = image(64, 64, new Float32Array(64 * 64).fill(-1000));
    expect(() => classicalDenoise('nlm', blank)).toThrow(/give the noise level or the filter strength/);
  });
});

describe('estimateSeriesNoise', () => {
  it('takes the median of the slices that have tissue', () => {
    const slices = [10, 20, 30, 40, 50].map((std, k) => image(size, size, addNoise(truth, std, 100 + k), [0.75, 0.75]));
    const blank = image(size, size, new Float32Array(size * size).fill(-1000));
    const median = estimateSeriesNoise([blank, ...slices, blank], 'CT');
    expect(median).toBeGreaterThan(27);
    expect(median).toBeLessThan(33);
  });

  it('reads white noise of one known SD in every slice within 3 %: CT over soft tissue, PET inside the body in SUV', () => {
    const ct = [0, 1, 2, 3, 4].map((k) => image(size, size, addNoise(truth, 20, 200 + k), [0.75, 0.75]));
    expect(Math.abs(estimateSeriesNoise(ct, 'CT') / 20 - 1)).toBeLessThan(0.03);
    // A PET body of 2 SUV in a 0 SUV field, noise SD 0.3 SUV inside it (air after OSEM is quiet).
    const body = Float32Array.from({ length: size * size }, (_, i) => (Math.hypot((i % size) - size / 2, Math.floor(i / size) - size / 2) < 0.4 * size ? 2 : 0));
    const pet = [0, 1, 2].map((k) => {
      const noise = addNoise(new Float32Array(size * size), 0.3, 300 + k);
      return image(size, size, body.map((v, i) => (v > 0 ? v + noise[i]! : 0)), [4, 4]);
    });
    expect(Math.abs(estimateSeriesNoise(pet, 'PT') / 0.3 - 1)).toBeLessThan(0.03);
  });
});

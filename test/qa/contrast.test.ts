/**
 * contrast-retention: the expected contrast of the ACR module-2 rods that the output keeps of its
 * input's, over the 8 committed noise realisations. It passes the identity (exactly 1) and the
 * full-dose scan, and fails a denoiser that removes part of the rods' contrast, even one whose
 * noise removal keeps cnr-ratio passing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { cnrChecks, contrastChecks } from '../../src/qa/checks/index.js';
import { loadQaConfig, parseConfigObject, type QaCheck, type QaConfig, type SliceStack } from '../../src/qa/index.js';
import { blur, caseOfRealisations, loadFixture, loadRealisations, mapStack, type FixtureSet, type RealisationStacks } from './helpers.js';

const DOSES = [0.25, 0.1] as const;
let config: QaConfig;
let acr: FixtureSet;
const real = new Map<number, RealisationStacks[]>();

beforeAll(async () => {
  config = loadQaConfig();
  acr = await loadFixture('acr', []);
  for (const dose of DOSES) real.set(dose, await loadRealisations('acr', dose));
}, 60_000);

const only = (checks: QaCheck[]): QaCheck => {
  expect(checks).toHaveLength(1);
  return checks[0]!;
};

/** Removes `fraction` of the rods' nominal contrast (known from the noise-free truth) inside module 2's rods. */
function eraseRods(fraction: number, before: (s: SliceStack) => SliceStack = (s) => s) {
  return (low: SliceStack): SliceStack =>
    mapStack(before(low), (s) => {
      const t = acr.truth.slices.find((x) => x.position[2] === s.position[2])!;
      return s.data.map((v, i) => (t.data[i]! > 90.5 && t.data[i]! < 96.5 ? v - fraction * (t.data[i]! - 90) : v));
    });
}

describe('QA contrast retention of the ACR low-contrast rods', () => {
  it.each(DOSES)('is exactly 1 for the identity at %s dose, over all 8 realisations', (dose) => {
    const check = only(contrastChecks(caseOfRealisations(acr, real.get(dose)!, dose, (low) => low), config).checks);
    expect(check.name).toBe(`acr/dose${Math.round(dose * 100)}/contrast-retention/25mm`);
    expect(check.value).toBe(1);
    expect(check.pass).toBe(true);
    expect(check.measured.realisations).toBe(8);
    expect(check.measured.standardError).toBe(0);
    for (let r = 0; r < 8; r++) expect(check.measured[`r${r}`]).toBe(1);
    expect(check.measured.truth).toBeCloseTo(6, 6);
    expect(check.measured.nominal).toBe(6);
  });

  it.each(DOSES)('passes the full-dose scan as output at %s dose', (dose) => {
    const check = only(contrastChecks(caseOfRealisations(acr, real.get(dose)!, dose, (_low, full) => full), config).checks);
    expect(check.pass).toBe(true);
    // The full-dose scans read 6.1 HU on average, the inputs about 5.5 HU.
    expect(check.value!).toBeGreaterThan(1);
  });

  it.each(DOSES)('fails a denoiser that removes a third of the rod contrast at %s dose, which cnr-ratio passes', (dose) => {
    // A 2 mm Gaussian smooths the noise enough that CNR still rises while a third of the contrast is gone.
    const step = eraseRods(1 / 3, blur(2));
    const c = caseOfRealisations(acr, real.get(dose)!, dose, (low) => step(low));
    const check = only(contrastChecks(c, config).checks);
    expect(check.value!).toBeLessThan(0.75);
    expect(check.pass).toBe(false);
    expect(only(cnrChecks(c, config).checks).pass).toBe(true);
  });

  it('does not count a slow offset across the slice as contrast (the background ring is local)', () => {
    // +1 HU per 10 mm along x, about 4 HU across the rod and its ring: contrast against one distant
    // background ROI would move by the ramp's difference between the two places.
    const ramp = (low: SliceStack) => mapStack(low, (s) => s.data.map((v, i) => v + 0.1 * (s.position[0] + (i % s.columns) * s.pixelSpacing[1])));
    const check = only(contrastChecks(caseOfRealisations(acr, real.get(0.25)!, 0.25, ramp), config).checks);
    expect(check.value!).toBeCloseTo(1, 2);
    expect(check.pass).toBe(true);
  });

  it('fails a strong Gaussian blur and passes a light one (25 and 6 mm rods)', () => {
    const both = parseConfigObject({ checks: { 'contrast-retention': { minDiameterMm: 6 } } }, 'test', config);
    const light = contrastChecks(caseOfRealisations(acr, real.get(0.25)!, 0.25, (low) => blur(0.5)(low)), both).checks;
    expect(light.map((c) => c.name.split('/').at(-1))).toEqual(['25mm', '6mm']);
    for (const check of light) expect(check.pass).toBe(true);
    const strong = contrastChecks(caseOfRealisations(acr, real.get(0.25)!, 0.25, (low) => blur(4)(low)), both).checks;
    for (const check of strong) expect(check.pass).toBe(false);
  });
});

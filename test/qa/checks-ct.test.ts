/**
 * The CT check families on the real fixtures with hand-made "denoisers" whose effect is known:
 * the identity, a constant offset, Gaussian blurs, the full-dose scan itself, and erasing a rod.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { cnrChecks, fidelityChecks, hallucinationChecks, huChecks, mtfChecks, noiseChecks, npsChecks, pooledNoise } from '../../src/qa/checks/index.js';
import { loadQaConfig, parseConfigObject, type QaCheck, type QaConfig, type SliceStack } from '../../src/qa/index.js';
import { uniformRois } from '../../src/qa/regions.js';
import { Rng } from '../../src/util/random.js';
import { blur, caseOf, identity, loadFixture, mapStack, offset, type FixtureSet } from './helpers.js';

let config: QaConfig;
let acr: FixtureSet;
let water: FixtureSet;
let body: FixtureSet;

beforeAll(async () => {
  config = loadQaConfig();
  acr = await loadFixture('acr', [0.25, 0.1]);
  water = await loadFixture('water');
  body = await loadFixture('body');
});

const only = (checks: QaCheck[]): QaCheck => {
  expect(checks).toHaveLength(1);
  return checks[0]!;
};

describe('noise reduction', () => {
  it('is 0 and fails for a denoiser that returns its input', () => {
    for (const f of [acr, water]) {
      const check = only(noiseChecks(caseOf(f, identity), config).checks);
      expect(check.value).toBe(0);
      expect(check.pass).toBe(false);
      expect(check.name).toBe(`${f.phantom}/dose25/noise-reduction`);
    }
  });

  it('is positive for a Gaussian filter and equals 1 - SD(out)/SD(in) over the uniform ROIs', () => {
    const c = caseOf(water, blur(1));
    const check = only(noiseChecks(c, config).checks);
    const rois = uniformRois(c);
    expect(rois).toHaveLength(10); // five ROIs on each of the two water slices
    const expected = 1 - pooledNoise(c.denoised, rois) / pooledNoise(c.low, rois);
    expect(check.value).toBeCloseTo(expected, 12);
    expect(check.value!).toBeGreaterThan(0.2);
    expect(check.value!).toBeLessThan(1);
  });

  it('gives the full-dose scan the reduction its lower noise implies (about half at 25 % dose)', () => {
    const check = only(noiseChecks(caseOf(acr, (s) => s === acr.low.get(0.25) ? acr.full : s), config).checks);
    expect(check.value).toBeCloseTo(1 - check.measured.full! / check.measured.input!, 12);
    // Quantum noise SD scales as 1/sqrt(dose): 25 % dose has about twice the full-dose SD.
    expect(check.value!).toBeGreaterThan(0.4);
    expect(check.value!).toBeLessThan(0.6);
    expect(check.pass).toBe(true);
  });
});

describe('HU accuracy', () => {
  const nominal = () => parseConfigObject({ checks: { 'hu-error': { reference: 'nominal' } } }, 'test', config);

  it('measures what the denoiser adds by default: 0 for an image that keeps the input, whatever the input itself reads', () => {
    const checks = huChecks(caseOf(acr, identity), config).checks;
    expect(checks.map((c) => c.name.split('/').at(-1))).toEqual(['air', 'polyethylene', 'acrylic', 'bone', 'water']);
    for (const check of checks) {
      expect(check.value).toBe(0);
      expect(check.pass).toBe(true);
      expect(check.threshold).toEqual([-5, 5]);
      expect(check.measured.inputNominalError).toBeCloseTo(check.measured.input! - check.measured.nominal!, 9);
    }
    expect(checks.some((c) => Math.abs(c.measured.inputNominalError!) > 0.1)).toBe(true);
  });

  it('passes an input whose CT numbers are 6 HU off when the denoiser keeps them, and fails it against nominal', () => {
    // A miscalibrated scanner: the denoiser is not to blame, the absolute accuracy is.
    const shifted = offset(6)(acr.low.get(0.25)!);
    const keep = huChecks(caseOf(acr, identity, { input: shifted }), config).checks;
    expect(keep.every((c) => c.pass && c.value === 0)).toBe(true);
    const absolute = huChecks(caseOf(acr, identity, { input: shifted }), nominal()).checks;
    expect(absolute.filter((c) => !c.pass).length).toBeGreaterThanOrEqual(3);
    for (const check of absolute) expect(check.value).toBeCloseTo(check.measured.inputNominalError!, 9);
  });

  it('fails every insert when the denoiser shifts CT numbers by 10 HU', () => {
    const checks = huChecks(caseOf(acr, offset(10)), config).checks;
    expect(checks).toHaveLength(5);
    for (const check of checks) {
      expect(check.value).toBeCloseTo(10, 3);
      expect(check.measured.nominalError).toBeCloseTo(check.measured.inputNominalError! + 10, 3);
      expect(check.pass).toBe(false);
    }
  });

  it('reads every ACR insert within 0.5 HU of nominal on the noise-free phantom after a Gaussian filter (reference nominal)', () => {
    const checks = huChecks(caseOf(acr, blur(1), { input: acr.truth }), nominal()).checks;
    for (const check of checks) {
      expect(Math.abs(check.value!)).toBeLessThan(0.5);
      expect(check.pass).toBe(true);
    }
  });

  it('measures against the full-dose scan when the config says so', () => {
    const fullRef = parseConfigObject({ checks: { 'hu-error': { reference: 'full-dose' } } }, 'test', config);
    const checks = huChecks(caseOf(acr, () => acr.full), fullRef).checks;
    for (const check of checks) expect(check.value).toBe(0);
  });
});

describe('low-contrast CNR', () => {
  it('is exactly 1 for the identity and above 1 for a Gaussian filter (25 mm rod)', () => {
    const same = only(cnrChecks(caseOf(acr, identity), config).checks);
    expect(same.name).toBe('acr/dose25/cnr-ratio/25mm');
    expect(same.value).toBe(1);
    expect(same.pass).toBe(true);
    const smoothed = only(cnrChecks(caseOf(acr, blur(1)), config).checks);
    expect(smoothed.value!).toBeGreaterThan(1.2);
  });

  it('falls below 1 and fails when the denoiser erases the rods', () => {
    // Subtract the rods' 6 HU contrast (known from the noise-free truth) from module 2: only noise is left where they were.
    const erase = (stack: SliceStack) =>
      mapStack(stack, (s) => {
        const t = acr.truth.slices.find((x) => x.position[2] === s.position[2])!;
        return s.data.map((v, i) => (t.data[i]! > 90.5 && t.data[i]! < 96.5 ? v - (t.data[i]! - 90) : v));
      });
    const check = only(cnrChecks(caseOf(acr, erase), config).checks);
    expect(check.value!).toBeLessThan(0.5);
    expect(check.pass).toBe(false);
  });

  it('checks each rod size down to minDiameterMm', () => {
    const all = parseConfigObject({ checks: { 'cnr-ratio': { minDiameterMm: 4 } } }, 'test', config);
    const names = cnrChecks(caseOf(acr, identity), all).checks.map((c) => c.name.split('/').at(-1));
    expect(names).toEqual(['25mm', '6mm', '5mm', '4mm']);
  });
});

describe('MTF50', () => {
  it('is 1 for the full-dose scan and fails for a strong blur', () => {
    const same = only(mtfChecks(caseOf(acr, () => acr.full), config).checks);
    expect(same.value).toBe(1);
    expect(same.pass).toBe(true);
    const blurred = mtfChecks(caseOf(acr, blur(1.5)), config);
    const check = only(blurred.checks);
    expect(check.value!).toBeLessThan(0.85);
    expect(check.pass).toBe(false);
    // The report's curves: MTF(0) = 1, up to Nyquist (0.512 cycles/mm at 0.977 mm pixels).
    expect(blurred.mtf!.denoised.value[0]).toBeCloseTo(1, 6);
    expect(Math.max(...blurred.mtf!.full.frequency)).toBeLessThanOrEqual(0.5 / 0.9765625 + 1e-9);
  });

  it('reads a milder blur proportionally: sigma 0.5 mm keeps more MTF50 than sigma 1 mm', () => {
    const mild = only(mtfChecks(caseOf(acr, blur(0.5)), config).checks).value!;
    const strong = only(mtfChecks(caseOf(acr, blur(1)), config).checks).value!;
    expect(mild).toBeGreaterThan(strong);
    expect(mild).toBeLessThan(1.05);
  });
});

describe('NPS peak shift', () => {
  it('is 0 for the full-dose scan, small for the same-kernel input and strongly negative for a blur', () => {
    expect(only(npsChecks(caseOf(water, () => water.full), config).checks).value).toBe(0);
    const input = only(npsChecks(caseOf(water, identity), config).checks);
    expect(Math.abs(input.value!)).toBeLessThan(0.05);
    expect(input.pass).toBe(true);
    const blurred = npsChecks(caseOf(water, blur(1.5)), config);
    const check = only(blurred.checks);
    expect(check.value!).toBeLessThan(-0.2);
    expect(check.pass).toBe(false);
    expect(blurred.nps!.denoised.frequency.length).toBeGreaterThan(10);
  });

  it('is measured on the water phantom only', () => {
    expect(npsChecks(caseOf(acr, identity), config).checks).toEqual([]);
  });
});

describe('PSNR and SSIM against full dose', () => {
  it('fail the PSNR gain for the identity and pass for an output halfway to full dose', () => {
    const [psnr, ssim] = fidelityChecks(caseOf(body, identity), config).checks;
    expect(psnr!.value).toBeCloseTo(psnr!.measured.input!, 12);
    expect(psnr!.threshold).toBeCloseTo(psnr!.measured.input! + 1, 12);
    expect(psnr!.pass).toBe(false);
    expect(ssim!.pass).toBe(true); // no loss is allowed, and none happened

    const halfway = (stack: SliceStack) => mapStack(stack, (s) => {
      const f = body.full.slices.find((x) => x.position[2] === s.position[2])!;
      return s.data.map((v, i) => (v + f.data[i]!) / 2);
    });
    const [better] = fidelityChecks(caseOf(body, halfway), config).checks;
    // Halving the error against the reference is +6.02 dB.
    expect(better!.value! - better!.measured.input!).toBeCloseTo(20 * Math.log10(2), 1);
    expect(better!.pass).toBe(true);
  });

  it('run on water, acr and body only', () => {
    expect(fidelityChecks(caseOf(acr, identity), config).checks.map((c) => c.name)).toEqual(['acr/dose25/psnr', 'acr/dose25/ssim']);
  });
});

describe('hallucination map', () => {
  it('passes the faithful low-dose input itself, and fails the full-dose scan with discs pasted into it', () => {
    const faithful = only(hallucinationChecks(caseOf(body, identity), config).checks);
    expect(faithful.name).toBe('body/dose25/hallucination');
    expect(faithful.pass).toBe(true);
    expect(faithful.value).toBe(faithful.measured.input);
    // Eight +300 HU discs of 12 mm radius per slice at seeded places in the body of the full-dose scan
    // itself: invented lesions, nothing else changed. (On these 1.45 mm, 256-pixel slices a 32-pixel
    // patch is 46 mm wide: a fake is flagged only where it dominates its patch; 4 to 8 mm discs
    // of +150 HU stay under the 5 % threshold, docs/qa.md.) (Structure in most patches would become the slice's "typical"
    // difference and hide itself: the map assumes a faithful majority, docs/uncertainty.md.)
    const rng = new Rng(5);
    const spotted = (stack: SliceStack): SliceStack =>
      mapStack(stack, (s) => {
        const out = s.data.slice();
        const r = 12 / s.pixelSpacing[0];
        for (let placed = 0; placed < 8; ) {
          const cy = 20 + Math.floor(rng.uniform() * (s.rows - 40));
          const cx = 20 + Math.floor(rng.uniform() * (s.columns - 40));
          if (s.data[cy * s.columns + cx]! < -200) continue;
          placed++;
          for (let y = Math.floor(cy - r); y <= cy + r; y++) {
            for (let x = Math.floor(cx - r); x <= cx + r; x++) if (Math.hypot(y - cy, x - cx) <= r) out[y * s.columns + x] = out[y * s.columns + x]! + 300;
          }
        }
        return out;
      });
    const invented = only(hallucinationChecks(caseOf(body, () => spotted(body.full)), config).checks);
    expect(invented.pass).toBe(false);
    expect(invented.value!).toBeGreaterThan(0.05);
  });

  it('is not run on the PET phantom', () => {
    expect(hallucinationChecks({ ...caseOf(body, identity), phantom: 'iec' }, config).checks).toHaveLength(0);
  });
});

/**
 * detectability-ratio: a channelized Hotelling observer's d' on the lcd phantom's disks, output
 * over its own input, over the 6 committed noise realisations. It passes the identity (exactly 1)
 * and the full-dose scan (d' up by about sqrt(1 / dose)), and fails outputs that erase the disks,
 * wholly or in half. A linear blur keeps d' (the Hotelling observer undoes an invertible filter)
 * while the disks' contrast falls: that is contrast-retention's to see, and `measured` reports it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { detectabilityChecks } from '../../src/qa/checks/index.js';
import { loadQaConfig, renderQaHtml, type QaCheck, type QaConfig, type QaResult, type SliceStack } from '../../src/qa/index.js';
import { blur, caseOfRealisations, loadFixture, loadRealisations, mapStack, type FixtureSet, type RealisationStacks } from './helpers.js';

const DOSES = [0.25, 0.1] as const;
let config: QaConfig;
let lcd: FixtureSet;
const real = new Map<number, RealisationStacks[]>();

beforeAll(async () => {
  config = loadQaConfig();
  lcd = await loadFixture('lcd', []);
  for (const dose of DOSES) real.set(dose, await loadRealisations('lcd', dose));
}, 60_000);

const run = (dose: number, step: (low: SliceStack, full: SliceStack) => SliceStack): QaCheck[] => {
  const checks = detectabilityChecks(caseOfRealisations(lcd, real.get(dose)!, dose, step), config).checks;
  expect(checks.map((c) => c.name.split('/').at(-1))).toEqual(['10mm-10-hu', '15mm-5-hu']);
  return checks;
};

/** Subtracts `fraction` of the noise-free disks (the truth above its 0 HU water) from every slice. */
function eraseDisks(fraction: number) {
  return (low: SliceStack): SliceStack =>
    mapStack(low, (s) => {
      const t = lcd.truth.slices.find((x) => x.position[2] === s.position[2])!;
      return s.data.map((v, i) => (t.data[i]! > 0.5 && t.data[i]! < 15.5 ? v - fraction * t.data[i]! : v));
    });
}

describe('QA detectability of the lcd phantom disks (channelized Hotelling observer)', () => {
  it('the fixture has 6 noise realisations and at least 100 signal-present and 100 signal-absent ROIs per disk kind', () => {
    for (const dose of DOSES) expect(real.get(dose)!.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const check of run(0.25, (low) => low)) {
      expect(check.measured.realisations).toBe(6);
      expect(check.measured.present).toBeGreaterThanOrEqual(100);
      expect(check.measured.absent).toBe(check.measured.present);
      expect(check.measured.channels).toBe(10);
    }
  });

  it.each(DOSES)('is exactly 1 for the identity at %s dose, and the input detects both disk kinds (d\' > 2)', (dose) => {
    for (const check of run(dose, (low) => low)) {
      expect(check.name).toMatch(new RegExp(`^lcd/dose${Math.round(dose * 100)}/detectability-ratio/`));
      expect(check.value).toBe(1);
      expect(check.measured.standardError).toBe(0);
      expect(check.pass).toBe(true);
      expect(check.measured.input!).toBeGreaterThan(2);
      expect(check.measured.contrastKept).toBe(1);
    }
  });

  it('passes the full-dose scan as output, with d\' up by about sqrt(1 / dose) as quantum noise predicts', () => {
    for (const dose of DOSES) {
      for (const check of run(dose, (_low, full) => full)) {
        expect(check.pass).toBe(true);
        // 25 %: 2.00 and 2.03 measured (sqrt 4 = 2); 10 %: 2.83 and 3.33 (sqrt 10 = 3.16), each +/- 0.15 to 0.55.
        expect(check.value!).toBeGreaterThan(0.8 * Math.sqrt(1 / dose));
        expect(check.value!).toBeLessThan(1.2 * Math.sqrt(1 / dose));
        expect(check.measured.denoised).toBe(check.measured.full);
      }
    }
  });

  it.each(DOSES)('fails an output that erases the disks (d\' about 0) at %s dose', (dose) => {
    for (const check of run(dose, (low) => eraseDisks(1)(low))) {
      expect(check.pass).toBe(false);
      expect(Math.abs(check.value!)).toBeLessThan(0.25);
      expect(check.measured.contrastKept!).toBeCloseTo(0, 6);
    }
  });

  it('fails an output that removes half of the disks\' contrast (d\' about halved)', () => {
    for (const check of run(0.1, (low) => eraseDisks(0.5)(low))) {
      expect(check.pass).toBe(false);
      expect(check.value!).toBeGreaterThan(0.35);
      expect(check.value!).toBeLessThan(0.65);
    }
  });

  it('passes a 2 mm Gaussian blur, which keeps d\' while the 10 mm disk loses a quarter of its contrast', () => {
    const [small, large] = run(0.25, (low) => blur(2)(low));
    for (const check of [small!, large!]) {
      expect(check.pass).toBe(true);
      expect(check.value!).toBeGreaterThan(0.95);
    }
    expect(small!.measured.contrastKept!).toBeLessThan(0.8);
  });

  it('is unmeasured (null, a failure) on one noise realisation, and says why', () => {
    const checks = detectabilityChecks(caseOfRealisations(lcd, real.get(0.25)!.slice(0, 1), 0.25, (low) => low), config).checks;
    for (const check of checks) {
      expect(check.value).toBeNull();
      expect(check.pass).toBe(false);
      expect(check.detail).toMatch(/needs at least 2/);
    }
  });

  it('the HTML report lists each d\' with its standard error, the ratio with its verdict, and the disk contrasts', () => {
    const checks = run(0.1, (low) => eraseDisks(0.5)(low));
    const result: QaResult = {
      checks,
      pass: false,
      summary: { total: checks.length, passed: 0, failed: checks.length, passedNotFirm: 0, failedNotFirm: checks.filter((c) => c.firm === false).length },
      settings: { method: 'test', model: null, petModel: null, device: null, steps: null, seed: 0, samples: 1, consistency: null, lowBand: null, texture: 'smooth', realisations: null, doseDeclared: true, phantoms: ['lcd'], doses: [0.1], fixtures: '', config: '' },
      curves: { nps: [], mtf: [] },
      errors: [],
      outDir: '',
      report: '',
    };
    const html = renderQaHtml(result, config);
    const section = html.slice(html.indexOf('<h2>Low-contrast detectability</h2>'), html.indexOf('<h2>Thresholds</h2>'));
    expect(section).toContain('10 Laguerre–Gauss channels');
    expect(section.match(/<tr><td>10 %<\/td>/g)).toHaveLength(2);
    expect(section).toContain(`${checks[0]!.measured.input!.toFixed(2)} ± `);
    expect(section).toMatch(/FAIL<\/td>/);
    expect(section).toContain('(nominal 10.0)');
  });
});

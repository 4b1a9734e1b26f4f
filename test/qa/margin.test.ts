/**
 * How firm a QA verdict is: the value's distance from the nearest limit of its pass band in
 * standard errors, and the rule that a verdict within 2 SE of a limit is not firm, while pass /
 * fail itself never changes.
 */
import { describe, expect, it } from 'vitest';
import { FIRM_MARGIN_SE, formatSummary, formatTable, formatVerdict, isFirm, judge, limitMarginSe, loadQaConfig, renderQaHtml, type QaCheck, type QaResult } from '../../src/qa/index.js';

const band = { min: -0.05, max: 0.05 };
const spec = { check: 'suvmean-bias' as const, phantom: 'iec' as const, dose: 0.1, unit: 'fraction', detail: '' };
const withSe = (standardError: number | null) => ({ ...spec, measured: { realisations: 8, standardError } });

describe('limitMarginSe', () => {
  it('is the distance to the nearer limit of a two-sided band, positive inside', () => {
    expect(limitMarginSe(0.01, band, 0.01)).toBeCloseTo(4, 12); // 0.04 below the upper limit
    expect(limitMarginSe(-0.03, band, 0.01)).toBeCloseTo(2, 12); // 0.02 above the lower limit
    expect(limitMarginSe(0, band, 0.025)).toBeCloseTo(2, 12);
  });

  it('is negative outside a two-sided band, measured to the crossed limit', () => {
    expect(limitMarginSe(-0.052, band, 0.005)).toBeCloseTo(-0.4, 12);
    expect(limitMarginSe(0.08, band, 0.01)).toBeCloseTo(-3, 12);
  });

  it('measures a one-sided band from its one limit', () => {
    expect(limitMarginSe(1.5, { min: 1, max: null }, 0.25)).toBeCloseTo(2, 12);
    expect(limitMarginSe(0.9, { min: 1, max: null }, 0.25)).toBeCloseTo(-0.4, 12);
    expect(limitMarginSe(4, { min: null, max: 5 }, 0.5)).toBeCloseTo(2, 12);
    expect(limitMarginSe(6, { min: null, max: 5 }, 0.5)).toBeCloseTo(-2, 12);
  });

  it('is 0 on an inclusive limit', () => {
    expect(limitMarginSe(0.05, band, 0.01)).toBe(0);
  });

  it('is null without a standard error, with a zero one, or without a value', () => {
    expect(limitMarginSe(0.01, band, null)).toBeNull();
    expect(limitMarginSe(0.01, band, 0)).toBeNull();
    expect(limitMarginSe(null, band, 0.01)).toBeNull();
    expect(limitMarginSe(NaN, band, 0.01)).toBeNull();
  });
});

describe('isFirm', () => {
  it('holds at 2 SE and more on either side of the limit, not below', () => {
    expect(FIRM_MARGIN_SE).toBe(2);
    expect(isFirm(0, 0.01, 2)).toBe(true);
    expect(isFirm(0, 0.01, -2.5)).toBe(true);
    expect(isFirm(0, 0.01, 1.99)).toBe(false);
    expect(isFirm(0, 0.01, -0.4)).toBe(false);
  });

  it('calls a zero standard error firm and a missing one unknown', () => {
    expect(isFirm(0.01, 0, null)).toBe(true);
    expect(isFirm(0.01, null, null)).toBeNull();
    expect(isFirm(null, 0.01, null)).toBeNull();
  });
});

describe('judge with a standard error', () => {
  it('adds limitMarginSe and firm without changing the verdict', () => {
    const near = judge(withSe(0.005), -0.052, band);
    expect(near.pass).toBe(false);
    expect(near.measured.limitMarginSe).toBeCloseTo(-0.4, 9);
    expect(near.firm).toBe(false);
    const far = judge(withSe(0.005), -0.08, band);
    expect(far.pass).toBe(false);
    expect(far.firm).toBe(true);
    const inside = judge(withSe(0.019), -0.02, band);
    expect(inside.pass).toBe(true);
    expect(inside.measured.limitMarginSe).toBeCloseTo(0.03 / 0.019, 9);
    expect(inside.firm).toBe(false);
  });

  it('gives null margin and firmness for a single realisation (standardError null)', () => {
    const single = judge(withSe(null), -0.052, band);
    expect(single.measured).toMatchObject({ standardError: null, limitMarginSe: null });
    expect(single.firm).toBeNull();
  });

  it('adds no margin to a check without a standard error', () => {
    const noise = judge({ ...spec, check: 'noise-reduction', measured: { input: 1, denoised: 0.5 } }, 0.5, { min: 0.4, max: null });
    expect('limitMarginSe' in noise.measured).toBe(false);
    expect(noise.firm).toBeNull();
  });

  it('gives an unmeasurable value no margin', () => {
    const lost = judge(withSe(0.01), null, band);
    expect(lost.pass).toBe(false);
    expect(lost.measured.limitMarginSe).toBeNull();
    expect(lost.firm).toBeNull();
  });
});

describe('not-firm verdicts in the text report', () => {
  const nearFail = judge({ ...withSe(0.005), subject: '37 mm' }, -0.052, band);
  const nearPass = judge({ ...withSe(0.01), subject: '28 mm' }, -0.04, band);
  const firmFail = judge({ ...withSe(0.005), subject: '22 mm' }, -0.08, band);
  const firmPass = judge({ ...withSe(0.005), subject: '17 mm' }, 0, band);

  it('says how far inside or outside the limit a not-firm verdict lies, and nothing for a firm one', () => {
    expect(formatVerdict(nearFail)).toBe('FAIL (not firm: 0.4 SE outside the limit)');
    expect(formatVerdict(nearPass)).toBe('PASS (not firm: 1.0 SE inside the limit)');
    expect(formatVerdict(firmFail)).toBe('FAIL');
    expect(formatVerdict(firmPass)).toBe('PASS');
  });

  it('caps the distance so that a not-firm margin never reads 2.0', () => {
    expect(formatVerdict(judge(withSe(0.01), 0.0304, band))).toBe('PASS (not firm: 1.9 SE inside the limit)');
  });

  it('counts not-firm verdicts in the summary line', () => {
    expect(formatSummary([nearFail, nearPass, firmFail, firmPass])).toBe('FAIL: 2 of 4 checks failed, 1 of them not firm; 1 pass not firm');
    expect(formatSummary([firmFail, firmPass])).toBe('FAIL: 1 of 2 checks failed');
    expect(formatSummary([nearPass, firmPass])).toBe('PASS: all 2 checks passed, 1 pass not firm');
    expect(formatTable([nearFail, firmPass])).toMatch(/iec\/dose10\/suvmean-bias\/37mm\s+-5\.20 ± 0\.50 %\s+\|x\| <= 5\.00 %\s+FAIL \(not firm: 0\.4 SE outside the limit\)/);
  });
});

describe('not-firm verdicts in the HTML report', () => {
  it('marks the row, says how close in the result cell, and counts them in the verdict line', () => {
    const checks: QaCheck[] = [judge({ ...withSe(0.005), subject: '37 mm' }, -0.052, band), judge({ ...withSe(0.005), subject: '17 mm' }, 0, band)];
    const result = {
      checks,
      pass: false,
      summary: { total: 2, passed: 1, failed: 1, passedNotFirm: 0, failedNotFirm: 1 },
      settings: { method: 'gaussian', model: null, petModel: null, device: null, steps: null, seed: 0, samples: 1, consistency: null, lowBand: null, texture: 'smooth', realisations: null, doseDeclared: true, phantoms: ['iec'], doses: [0.1], fixtures: 'fixtures', config: 'default' },
      curves: { nps: [], mtf: [] },
      errors: [],
      outDir: '.',
      report: 'qa-report.html',
    } satisfies QaResult;
    const html = renderQaHtml(result, loadQaConfig());
    expect(html).toMatch(/<tr class="fail not-firm">.*<td>FAIL \(not firm: 0\.4 SE outside the limit\)<\/td>/);
    expect(html).toMatch(/<tr class="pass"><td><code>iec\/dose10\/suvmean-bias\/17mm<\/code>.*<td>PASS<\/td>/);
    expect(html).toContain('<p>FAIL: 1 of 2 checks failed, 1 of them not firm.');
    // The verdict has its own column; the value cell holds the value alone.
    expect(html).not.toMatch(/<td class="num">[^<]*(PASS|FAIL)<\/td>/);
  });
});

/** The pieces under the checks and the report: pass bands, the NPS peak estimate, text and SVG. */
import { describe, expect, it } from 'vitest';
import type { NpsResult } from '../../src/metrics/index.js';
import { smoothedPeak } from '../../src/qa/checks/index.js';
import { formatTable, formatThreshold, formatValue, judge, linePlot, loadQaConfig, parseConfigObject, renderQaHtml, type QaResult } from '../../src/qa/index.js';
import { slug } from '../../src/qa/judge.js';
import { ticks } from '../../src/qa/svg.js';

const spec = { check: 'mtf50-ratio' as const, phantom: 'acr' as const, dose: 0.25, unit: 'ratio', detail: '' };

describe('judge', () => {
  it('applies min, max and both, inclusive', () => {
    expect(judge(spec, 0.85, { min: 0.85, max: 1.15 })).toMatchObject({ pass: true, op: 'in', threshold: [0.85, 1.15] });
    expect(judge(spec, 1.16, { min: 0.85, max: 1.15 }).pass).toBe(false);
    expect(judge(spec, 0.4, { min: 0.4, max: null })).toMatchObject({ pass: true, op: '>=', threshold: 0.4 });
    expect(judge(spec, 0.39, { min: 0.4, max: null }).pass).toBe(false);
    expect(judge(spec, 5, { min: null, max: 5 })).toMatchObject({ pass: true, op: '<=', threshold: 5 });
    expect(judge({ ...spec, subject: 'low-contrast 6 mm #1' }, 1, { min: 0, max: null }).name).toBe('acr/dose25/mtf50-ratio/low-contrast-6mm-1');
  });

  it('fails a value that could not be measured', () => {
    expect(judge(spec, null, { min: 0, max: null })).toMatchObject({ pass: false, value: null });
    expect(judge(spec, NaN, { min: null, max: 1 })).toMatchObject({ pass: false, value: null });
  });

  it('makes one-token names', () => {
    expect(slug('25 mm')).toBe('25mm');
    expect(slug('Low-contrast 2 mm #4')).toBe('low-contrast-2mm-4');
  });
});

describe('smoothedPeak', () => {
  it('finds the peak of a Gaussian bump between bins: within a fifth of a bin at bins 9 and 16, 0.6 bin (3 %) at bin 19', () => {
    const step = 1 / 62.5;
    const frequency = Float64Array.from({ length: 33 }, (_, k) => k * step);
    // The fit's window grows with the peak's frequency (h = 0.6 x its bin), not with the bump's
    // width (5 bins here): at bin 19 it spans +-2.3 SD of the bump and the cubic reads it 0.53 bin low.
    for (const [peak, tolerance] of [
      [0.15, step / 5],
      [0.2537, step / 5],
      [0.31, 0.6 * step],
    ] as const) {
      const nps = frequency.map((f) => Math.exp(-((f - peak) ** 2) / (2 * 0.08 ** 2)));
      const radial = { frequency, nps, count: new Uint32Array(33).fill(1) };
      expect(Math.abs(smoothedPeak({ radial } as unknown as NpsResult) - peak)).toBeLessThan(tolerance);
    }
  });
});

describe('text and plots', () => {
  it('formats thresholds by unit and op, and a table with a verdict', () => {
    const hu = judge({ ...spec, check: 'hu-error', unit: 'HU', subject: 'bone' }, 6.2, { min: -5, max: 5 });
    expect(formatThreshold(hu)).toBe('|x| <= 5.000 HU');
    const noise = judge({ ...spec, check: 'noise-reduction', unit: 'fraction' }, 0.5, { min: 0.4, max: null });
    expect(formatThreshold(noise)).toBe('>= 40.0 %');
    const table = formatTable([hu, noise]);
    expect(table).toMatch(/acr\/dose25\/hu-error\/bone\s+6\.200 HU\s+\|x\| <= 5\.000 HU\s+FAIL/);
    expect(table).toMatch(/acr\/dose25\/noise-reduction\s+50\.0 %\s+>= 40\.0 %\s+PASS/);
    expect(table.trimEnd().split('\n').at(-1)).toBe('FAIL: 1 of 2 checks failed');
    // Columns as wide as their widest cell, the value right-aligned, a rule under the header.
    expect(table.split('\n').slice(0, 4)).toEqual([
      'check                          value  threshold        result',
      '--------------------------  --------  ---------------  ------',
      'acr/dose25/hu-error/bone    6.200 HU  |x| <= 5.000 HU  FAIL',
      'acr/dose25/noise-reduction    50.0 %  >= 40.0 %        PASS',
    ]);
  });

  it('shows a mean over noise realisations with its standard error', () => {
    const measured = { realisations: 8, standardError: 0.0121 };
    const bias = judge({ ...spec, check: 'suvmean-bias', unit: 'fraction', measured }, -0.0518, { min: -0.05, max: 0.05 });
    expect(formatValue(bias)).toBe('-5.18 ± 1.2 %');
    const hu = judge({ ...spec, check: 'hu-error', unit: 'HU', measured: { standardError: 0.43 } }, 1.306, { min: -5, max: 5 });
    expect(formatValue(hu)).toBe('1.306 ± 0.43 HU');
    const rc = judge({ ...spec, check: 'suvmax-recovery', unit: 'ratio', measured: { standardError: null } }, 1.394, { min: 0.85, max: 1.4 });
    expect(formatValue(rc)).toBe('1.394');
  });

  it('never prints a value that is not on its limit as the limit: it gets the digits that tell them apart', () => {
    // 39.996 % rounds to the 40.0 % bar at three digits; printed so, a FAIL would read as the limit itself.
    const justShort = judge({ ...spec, check: 'noise-reduction', unit: 'fraction' }, 0.39996, { min: 0.4, max: null });
    expect(justShort.pass).toBe(false);
    expect(formatValue(justShort)).toBe('39.996 %');
    expect(formatTable([justShort])).toMatch(/noise-reduction\s+39\.996 %\s+>= 40\.0 %\s+FAIL/);
    const justOver = judge({ ...spec, check: 'hu-error', unit: 'HU', measured: { standardError: 0.4 } }, 5.00004, { min: -5, max: 5 });
    expect(formatValue(justOver)).toBe('5.00004 ± 0.40 HU');
    // On the limit (inclusive, a pass) and clear of it, the usual digits.
    expect(formatValue(judge({ ...spec, check: 'noise-reduction', unit: 'fraction' }, 0.4, { min: 0.4, max: null }))).toBe('40.0 %');
    expect(formatValue(judge({ ...spec, check: 'mtf50-ratio', unit: 'ratio' }, 1.0218, { min: 0.85, max: 1.15 }))).toBe('1.022');
  });

  it('shows the hallucination fraction in percent, as its threshold is documented', () => {
    const flagged = judge({ ...spec, check: 'hallucination', unit: 'fraction of patches' }, 0.0085, { min: null, max: 0.05 });
    expect(formatValue(flagged)).toBe('0.850 %');
    expect(formatThreshold(flagged)).toBe('<= 5.00 %');
  });

  it('draws an SVG line plot with escaped text and round ticks', () => {
    const svg = linePlot({
      title: 'a < b & c',
      xLabel: 'f',
      yLabel: 'y',
      lines: [{ label: 'one', color: '#f00', x: [0, 0.1, 0.2], y: [0, 1, 0.5] }],
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('a &lt; b &amp; c');
    expect(svg.match(/<polyline/g)).toHaveLength(1);
    expect(ticks(0, 0.51)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
    expect(ticks(0, 4300)).toEqual([0, 1000, 2000, 3000, 4000, 5000]);
  });
});

describe('the HTML report when a curve section is empty', () => {
  const result = (phantoms: QaResult['settings']['phantoms']): QaResult => ({
    checks: [],
    pass: true,
    summary: { total: 0, passed: 0, failed: 0, passedNotFirm: 0, failedNotFirm: 0 },
    settings: { method: 'gaussian', model: null, petModel: null, device: null, steps: null, seed: 0, samples: 1, consistency: null, lowBand: null, texture: 'smooth', realisations: null, doseDeclared: true, phantoms, doses: [0.25], fixtures: 'fixtures', config: 'site.json' },
    curves: { nps: [], mtf: [] },
    errors: [],
    outDir: '.',
    report: 'qa-report.html',
  });

  it('says the check is off when a site config turns off the check that measures the curves, not that its phantom did not run', () => {
    const defaults = loadQaConfig();
    const off = parseConfigObject({ version: 1, checks: { 'nps-peak-shift': { enabled: false }, 'mtf50-ratio': { enabled: false } } }, 'site.json', defaults);
    const html = renderQaHtml(result(['water', 'acr']), off);
    expect(html).toContain('No NPS: the <code>nps-peak-shift</code> check that measures it is off in the thresholds.');
    expect(html).toContain('No MTF: the <code>mtf50-ratio</code> check that measures it is off in the thresholds.');
    expect(html).not.toContain('no water');
  });

  it('names the water phantom alone as the source of the NPS when only ACR ran', () => {
    const html = renderQaHtml(result(['acr']), loadQaConfig());
    expect(html).toContain('No NPS (no water fixture in this run).');
    expect(html).not.toContain('No NPS (no water or ACR fixture');
  });
});

describe('the HTML report\'s settings', () => {
  it('shows --realisations as the limit it is: a fixture with fewer noise realisations uses all it has', () => {
    const result = (realisations: number | null): QaResult => ({
      checks: [],
      pass: true,
      summary: { total: 0, passed: 0, failed: 0, passedNotFirm: 0, failedNotFirm: 0 },
      settings: { method: 'gaussian', model: null, petModel: null, device: null, steps: null, seed: 0, samples: 1, consistency: null, lowBand: null, texture: 'smooth', realisations, doseDeclared: true, phantoms: ['acr'], doses: [0.25], fixtures: 'fixtures', config: 'default' },
      curves: { nps: [], mtf: [] },
      errors: [],
      outDir: '.',
      report: 'qa-report.html',
    });
    const config = loadQaConfig();
    expect(renderQaHtml(result(99), config)).toContain('<tr><th>noise realisations</th><td>at most 99 per fixture (bias checks: mean over them)</td></tr>');
    expect(renderQaHtml(result(1), config)).toContain('<td>1: the committed series alone</td>');
    expect(renderQaHtml(result(null), config)).toContain('<td>all the fixtures have (bias checks: mean over them)</td>');
  });

  it('shows every denoiser setting qa.json records: sampler, guidance, orientations, consistency, its pilot and the low band', () => {
    const html = renderQaHtml(
      {
        checks: [],
        pass: true,
        summary: { total: 0, passed: 0, failed: 0, passedNotFirm: 0, failedNotFirm: 0 },
        settings: {
          method: 'diffusion', model: 'lowdose-ct', petModel: 'lowdose-pet', device: 'cpu', steps: 4, sampler: 'ddpm', guidance: 1.5, seed: 0, samples: 1,
          consistency: 0.5, consistencyPilot: 2, orientations: 4, lowBand: null, texture: 'smooth', realisations: null, doseDeclared: true, phantoms: ['water'], doses: [0.25], fixtures: 'fixtures', config: 'default',
        },
        curves: { nps: [], mtf: [] },
        errors: [],
        outDir: '.',
        report: 'qa-report.html',
      },
      loadQaConfig(),
    );
    for (const [name, value] of [['sampler', 'ddpm'], ['guidance', '1.5'], ['orientations', '4'], ['consistency', '0.5'], ['consistency pilot', '2'], ['low band', "model card's"]]) {
      expect(html).toContain(`<tr><th>${name}</th><td>${value}</td></tr>`);
    }
  });
});

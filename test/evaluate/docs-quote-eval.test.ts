/**
 * The evaluation tables the docs quote are the committed results, digit for digit.
 *
 * `bash scripts/evaluate/run.sh` writes each result twice: the JSON (models/eval/ct.json, pet.json,
 * phantoms.json) and its markdown tables (ct.md by scripts/train/report.py, phantoms.md by
 * scripts/train/phantom-eval.mjs); the model card and the docs copy those tables. A re-measurement
 * that rewrote only the JSON, or a doc table not re-copied after one, would leave a number that no
 * command gives any more. The same holds for the cards' `quality` blocks (evaluate.py --write-card)
 * and for the real quarter-dose margins that README and the card's status quote from
 * models/eval/ct-real.json (scripts/evaluate/real-pairs.ts). The fix is to re-run the command (or
 * re-copy the table, re-word the summary), never to edit a number by hand.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RealPairsResult } from '../../scripts/evaluate/real-pairs/report.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const EVAL = path.join(REPO, 'models/eval');
const read = (file: string) => readFileSync(path.join(REPO, file), 'utf8');

interface Table {
  header: string;
  rows: string[][];
  line: number;
}

/** The markdown tables of a text: header row, data rows (cells trimmed), 1-based line of the header. */
function markdownTables(text: string): Table[] {
  const tables: Table[] = [];
  let current: Table | undefined;
  text.split('\n').forEach((line, i) => {
    if (!/^\|.*\|\s*$/.test(line)) {
      current = undefined;
      return;
    }
    const cells = line.trim().slice(1, -1).split('|').map((c) => c.trim());
    if (!current) {
      current = { header: cells.join(' | '), rows: [], line: i + 1 };
      tables.push(current);
    } else if (!cells.every((c) => /^:?-+:?$/.test(c))) {
      current.rows.push(cells);
    }
  });
  return tables;
}

/** Python's f"{v:.{digits}f}" for the values these results hold ('' for a missing value). */
const fixed = (value: number | null | undefined, digits: number) => (value === null || value === undefined ? '' : value.toFixed(digits));

interface EvaluateRow {
  psnr?: number | null;
  ssim?: number | null;
  rmse?: number | null;
  noise?: number | null;
  bias?: number | null;
}

interface EvaluateResult {
  modality: 'CT' | 'PT';
  doses: number[];
  classicalFromValidation?: Record<string, { bilateralRangeFactor: number; nlmHFactor: number }>;
  test: Record<string, EvaluateRow>;
}

/**
 * The Gaussian widths as the JSON writes them: Python prints a float 1.0 as "1.0", which JSON.parse
 * turns into 1.
 */
function gaussianSigmaTexts(json: string): Record<string, string> {
  const block = /"gaussianSigmaFromValidation":\s*\{([^}]*)\}/.exec(json)?.[1] ?? '';
  return Object.fromEntries([...block.matchAll(/"([^"]+)":\s*([^,\s]+)/g)].map((m) => [m[1]!, m[2]!.replace(/^"|"$/g, '')]));
}

/** scripts/train/report.py's test tables of an evaluate.py result (the same text, line for line). */
function evaluateTables(json: string): string {
  const result = JSON.parse(json) as EvaluateResult;
  const sigmas = gaussianSigmaTexts(json);
  const units = result.modality === 'CT' ? 'HU' : 'SUV';
  const digits = units === 'HU' ? 1 : 3;
  const methods = [...new Set(Object.keys(result.test).map((key) => key.slice(0, key.lastIndexOf('@'))))];
  const out: string[] = [];
  for (const dose of result.doses) {
    // report.py prints the dose as Python does: 0.1 -> "0.1", 0.25 -> "0.25".
    const doseKey = String(dose);
    out.push('', `test, ${Math.trunc(dose * 100)} % ${result.modality === 'CT' ? 'dose' : 'counts'}:`, '');
    out.push(`| method | PSNR dB | SSIM | RMSE ${units} | noise ${units} | bias ${units} |`, '| --- | --- | --- | --- | --- | --- |');
    for (const method of methods) {
      const row = result.test[`${method}@${doseKey}`];
      if (!row) continue;
      const classical = result.classicalFromValidation?.[doseKey];
      let label = method;
      if (method === 'gaussian') label = `gaussian (sigma ${sigmas[doseKey]} px)`;
      if (classical && method === 'bilateral') label = `bilateral (range ${classical.bilateralRangeFactor} x noise SD)`;
      if (classical && method === 'nlm') label = `non-local means (h ${classical.nlmHFactor} x noise SD)`;
      out.push(`| ${label} | ${fixed(row.psnr, 2)} | ${fixed(row.ssim, 4)} | ${fixed(row.rmse, digits)} | ${fixed(row.noise, digits)} | ${fixed(row.bias, digits)} |`);
    }
  }
  return `${out.join('\n')}\n`;
}

interface PhantomRow {
  method: string;
  dose: number;
  mtf50?: number;
  mtf50Ratio?: number;
  mtf50Input?: number;
  mtf50Full?: number;
  ctNoise?: number;
  ctNoiseInput?: number;
  ctNoiseFull?: number;
  petNoise?: number;
  petNoiseInput?: number;
  petNoiseFull?: number;
  suvmeanBias: Record<string, number>;
  suvmaxRecovery: Record<string, number>;
  inputSuvmeanBias: Record<string, number>;
  inputSuvmaxRecovery: Record<string, number>;
  fullSuvmaxRecovery: Record<string, number>;
}

/** scripts/train/phantom-eval.mjs's tables of its phantoms.json rows (the same text, line for line). */
function phantomTables(rows: PhantomRow[]): string {
  const f = (x: number | undefined, d: number) => (x === undefined || !Number.isFinite(x) ? '' : x.toFixed(d));
  const pct = (x: number | undefined) => (x === undefined ? '' : (100 * x).toFixed(1));
  const list = (o: Record<string, number>, fn: (x: number) => string) => Object.values(o).map(fn).join(' / ');
  const out: string[] = [];
  for (const dose of [0.25, 0.1]) {
    const r = rows.filter((x) => x.dose === dose);
    const first = r[0]!;
    const spheres = Object.keys(first.suvmeanBias);
    out.push('', `${dose * 100} % dose / counts (acr: CT MTF50 of the 25 mm edge rod and uniform-ROI noise; iec: spheres >= 17 mm)`, '');
    out.push(`| method | MTF50 cyc/mm | / full dose | CT noise HU | PET noise SUV | SUVmean bias % (${spheres.join(', ')}) | SUVmax recovery (${spheres.join(', ')}) |`, '| --- | --- | --- | --- | --- | --- | --- |');
    out.push(
      `| low-dose input | ${f(first.mtf50Input, 3)} | ${f(first.mtf50Input! / first.mtf50Full!, 2)} | ${f(first.ctNoiseInput, 1)} | ${f(first.petNoiseInput, 3)} | ${list(first.inputSuvmeanBias, pct)} | ${list(first.inputSuvmaxRecovery, (x) => f(x, 2))} |`,
    );
    for (const x of r) {
      out.push(`| ${x.method} | ${f(x.mtf50, 3)} | ${f(x.mtf50Ratio, 2)} | ${f(x.ctNoise, 1)} | ${f(x.petNoise, 3)} | ${list(x.suvmeanBias, pct)} | ${list(x.suvmaxRecovery, (v) => f(v, 2))} |`);
    }
    out.push(`| full dose | ${f(first.mtf50Full, 3)} | 1.00 | ${f(first.ctNoiseFull, 1)} | ${f(first.petNoiseFull, 3)} | 0 | ${list(first.fullSuvmaxRecovery, (x) => f(x, 2))} |`);
  }
  return `${out.join('\n')}\n`;
}

const DOCS = ['README.md', 'models/README.md', ...readdirSync(path.join(REPO, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

describe('evaluation tables quoted by the docs', () => {
  for (const name of ['ct', 'pet']) {
    it(`models/eval/${name}.md is report.py's rendering of models/eval/${name}.json`, () => {
      expect(read(`models/eval/${name}.md`)).toBe(evaluateTables(read(`models/eval/${name}.json`)));
    });
  }

  for (const [card, result] of [
    ['lowdose-ct', 'ct'],
    ['lowdose-pet', 'pet'],
  ] as const) {
    it(`models/${card}.json's quality block carries models/eval/${result}.json's test rows and filter settings`, () => {
      // evaluate.py --write-card writes both in one run; a card edited or re-evaluated alone would quote other numbers.
      const quality = (JSON.parse(read(`models/${card}.json`)) as { quality: Record<string, unknown> }).quality;
      const evaluated = JSON.parse(read(`models/eval/${result}.json`)) as Record<string, unknown>;
      for (const key of ['test', 'doses', 'gaussianSigmaFromValidation', 'classicalFromValidation']) expect(quality[key], `quality.${key}`).toEqual(evaluated[key]);
    });
  }

  it("models/eval/phantoms.md is phantom-eval.mjs's rendering of models/eval/phantoms.json", () => {
    const { rows } = JSON.parse(read('models/eval/phantoms.json')) as { rows: PhantomRow[] };
    expect(read('models/eval/phantoms.md')).toBe(phantomTables(rows));
  });

  it("README's CT table (PSNR dB / SSIM at 25 % and 10 % dose) rounds models/eval/ct.json's test rows", () => {
    const result = JSON.parse(read('models/eval/ct.json')) as EvaluateResult;
    const table = markdownTables(read('README.md')).find((t) => t.header.startsWith('CT, PSNR dB / SSIM'));
    expect(table, 'README.md has no "CT, PSNR dB / SSIM" table').toBeDefined();
    // Each README row names its method in words; the JSON's key for it.
    const keyOf = (label: string) =>
      [
        ['low-dose input', 'input'],
        ['Gaussian', 'gaussian'],
        ['bilateral', 'bilateral'],
        ['non-local means', 'nlm'],
        ['`--steps 2`', 'warm0.05:2'],
        ['default (warm start 0.05, 1 step)', 'warm0.05:1'],
      ].find(([words]) => label.includes(words!))?.[1];
    const differences: string[] = [];
    for (const [label, ...cells] of table!.rows) {
      const key = keyOf(label!);
      expect(key, `README CT table row "${label}" names no method of ct.json`).toBeDefined();
      result.doses.forEach((dose, i) => {
        const row = result.test[`${key}@${dose}`]!;
        const expected = `${fixed(row.psnr, 2)} / ${fixed(row.ssim, 3)}`;
        if (cells[i] !== expected) differences.push(`${label} at ${dose}: README ${cells[i]}, ct.json ${expected}`);
      });
    }
    expect(differences).toEqual([]);
  });

  it("README and the model card quote the real quarter-dose margins of models/eval/ct-real.json", () => {
    const result = JSON.parse(read('models/eval/ct-real.json')) as RealPairsResult;
    const byGroup = result.margins['model']!;
    const windows = ['hu', 'abdomen'] as const;
    const margin = (group: string, window: (typeof windows)[number]) => byGroup[group]![window];
    const groups = Object.keys(byGroup);
    const range = (values: number[]) => [Math.min(...values), Math.max(...values)] as const;
    // Over the input: every patient and kernel; L192 (validation) alone in the card's status.
    const [inputLow, inputHigh] = range(groups.flatMap((g) => windows.map((w) => margin(g, w).psnrOverInput)));
    const [l192InputLow, l192InputHigh] = range(['L192/B30f', 'L192/D45f'].flatMap((g) => windows.map((w) => margin(g, w).psnrOverInput)));
    const l192 = (kernel: string, w: (typeof windows)[number]) => margin(`L192/${kernel}`, w);
    const [filterLow, filterHigh] = range(['B30f', 'D45f'].flatMap((k) => windows.map((w) => l192(k, w).psnrOverBestFilter)));
    const [ssimLow, ssimHigh] = range(['B30f', 'D45f'].flatMap((k) => windows.map((w) => l192(k, w).ssimOverBestFilter)));
    const db = (v: number) => v.toFixed(2);
    const ssim = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(4)}`;
    const flat = (file: string) => read(file).replace(/\s+/g, ' ');
    const quotes: Record<string, string[]> = {
      'README.md': [
        `is above the input for every patient and kernel (+${inputLow.toFixed(1)} to +${inputHigh.toFixed(1)} dB)`,
        `${db(filterLow)} to ${db(filterHigh)} dB above the best filter tuned on those same slices`,
        `${ssim(ssimLow)} to ${ssim(ssimHigh)} above the best filter's`,
      ],
      'models/README.md': [
        `it is ${db(l192('B30f', 'hu').psnrOverBestFilter)} dB (smooth B30f kernel) and ${db(l192('D45f', 'hu').psnrOverBestFilter)} dB (sharp D45f) above the best`,
        `(${db(l192('B30f', 'abdomen').psnrOverBestFilter)} / ${db(l192('D45f', 'abdomen').psnrOverBestFilter)} dB in the abdomen window [-160, 240] HU), and ${l192InputLow.toFixed(1)} to ${l192InputHigh.toFixed(1)} dB above the untouched input`,
        `Its SSIM margin over the best filter is ${ssim(l192('B30f', 'hu').ssimOverBestFilter)} (B30f) and ${ssim(l192('D45f', 'hu').ssimOverBestFilter)} (D45f) in [-1000, 1000] HU, ${ssim(l192('B30f', 'abdomen').ssimOverBestFilter)} and ${ssim(l192('D45f', 'abdomen').ssimOverBestFilter)} in the abdomen window`,
        `never below the input (+${inputLow.toFixed(1)} to +${inputHigh.toFixed(1)} dB)`,
      ],
    };
    const missing = Object.entries(quotes).flatMap(([file, phrases]) => phrases.filter((p) => !flat(file).includes(p)).map((p) => `${file}: "${p}"`));
    expect(missing).toEqual([]);
  });

  it('a doc table with the header of a models/eval/*.md table copies one of them row for row', () => {
    const evalTables = readdirSync(EVAL)
      .filter((f) => f.endsWith('.md'))
      .flatMap((f) => markdownTables(readFileSync(path.join(EVAL, f), 'utf8')).map((t) => ({ ...t, file: f })));
    let quoted = 0;
    const stale: string[] = [];
    for (const doc of DOCS) {
      for (const table of markdownTables(read(doc))) {
        const candidates = evalTables.filter((t) => t.header === table.header);
        if (candidates.length === 0) continue;
        quoted++;
        const rowsOf = (t: Table) => new Set(t.rows.map((r) => r.join(' | ')));
        const source = candidates.find((c) => table.rows.every((r) => rowsOf(c).has(r.join(' | '))));
        if (source) continue;
        // Name the rows that no table of that header holds, against the closest one.
        const closest = candidates.reduce((a, b) => (table.rows.filter((r) => rowsOf(b).has(r.join(' | '))).length > table.rows.filter((r) => rowsOf(a).has(r.join(' | '))).length ? b : a));
        for (const row of table.rows.filter((r) => !rowsOf(closest).has(r.join(' | ')))) {
          const there = closest.rows.find((r) => r[0] === row[0]);
          stale.push(`${doc}:${table.line} "${row.join(' | ')}" — models/eval/${closest.file}:${closest.line} has ${there ? `"${there.join(' | ')}"` : 'no such row'}`);
        }
      }
    }
    expect(stale).toEqual([]);
    // The model card quotes the CT and PET test tables and the phantom tables, two doses each.
    expect(quoted).toBeGreaterThanOrEqual(6);
  });
});

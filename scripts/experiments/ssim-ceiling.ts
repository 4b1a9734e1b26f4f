/**
 * How high can SSIM against the scanner's full dose go? The full-dose reference of a real pair is
 * itself noisy, and SSIM's structure term charges every unit of reference noise variance that the
 * output does not share: in a flat region an output equal to the truth scores
 * C2 / (σ_f² + C2), 0.95 in [-1000, 1000] HU for σ_f = 14 HU. Part of the reference noise is
 * in the quarter-dose input too (q = f + e), so the best a denoiser can do there is the posterior
 * mean truth + w (q − truth), w = var(n_f) / var(n_q), which shares w of it.
 *
 * Neither the truth nor n_f of a real slice is known, so the ceiling is measured on a synthetic
 * pair built from the real one with the real noise: anatomy A = the full-dose slice smoothed (the
 * truth proxy; see `TRUTH_PROXIES`), reference r = A + √κ e_i and input q' = r + e_j, with e = q − f
 * the real extra noise of slice i and of another slice j of the same series (independent, same
 * kernel and amplitude), κ = var(n_f) / var(e) = d / (1 − d) for the Mayo quarter dose's effective
 * dose d (`MAYO_QUARTER_DOSE`, 0.22: matched to the real added SD, docs/simulation.md; `--dose`
 * overrides it). The spectral ratio above 0.6 x Nyquist (`varianceRatio`) is printed beside it: it
 * agrees on the sharp D45f kernel and reads too high on B30f, whose noise there is too faint
 * (docs/simulation.md). Scored as `scripts/evaluate/real-pairs.ts` scores (fieldMask, both
 * windows):
 *   - input:  SSIM(q', r), to check the synthetic pair against the real input's SSIM(q, f);
 *   - truth:  SSIM(A, r), an output that recovers the anatomy exactly and no noise;
 *   - oracle: SSIM(A + w (q' − A), r), w = κ / (1 + κ), the posterior mean with the anatomy known.
 * A smoother truth proxy has less local variance, which lowers its SSIM; the spread over the
 * proxies says how much the ceiling depends on that choice.
 *
 *   npx tsx scripts/experiments/ssim-ceiling.ts [--groups L192/B30f,L192/D45f] [--dose 0.22] [--out docs/experiments/ssim/ssim-ceiling.json]
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gaussianFilter } from '../../src/filters/gaussian.js';
import { nlmFilter } from '../../src/filters/nlm.js';
import { estimateFilterNoise } from '../../src/filters/noise.js';
import type { Image2D } from '../../src/image.js';
import { addedNoise } from '../../src/metrics/added-noise.js';
import { compareSlices } from '../../src/metrics/compare.js';
import { MAYO_QUARTER_DOSE } from '../../src/simulate/index.js';
import { findGroups, groupKey, loadGroup, type PairGroup } from '../evaluate/real-pairs/data.js';
import { scoringMasks, WINDOW_NAMES, WINDOW_REGIONS, WINDOWS, type ScoringMasks, type WindowName } from '../evaluate/real-pairs/score.js';
import { ROOT } from './figures.js';
import { MAYO, round, varianceRatio } from './mayo-common.js';
import { optionReader } from './cli-args.js';

const args = process.argv.slice(2);
const opt = optionReader(args);
const OUT = path.resolve(ROOT, opt('out', 'docs/experiments/ssim/ssim-ceiling.json'));
const GROUP_FILTER = opt('groups', '').split(',').filter(Boolean);
const DOSE = Number(opt('dose', String(MAYO_QUARTER_DOSE)));
const KAPPA = DOSE / (1 - DOSE);

/** Truth proxies: the full-dose slice with its noise smoothed away, from lightly to strongly. */
const TRUTH_PROXIES: Record<string, (full: Image2D) => Image2D> = {
  'nlm h 0.5 sigma': (f) => nlmWith(f, 0.5),
  'nlm h 1 sigma': (f) => nlmWith(f, 1),
  'gaussian 0.7 mm': (f) => gaussianFilter(f, { sigmaMm: 0.7 }),
};

function nlmWith(full: Image2D, factor: number): Image2D {
  const sigma = estimateFilterNoise(full, 'CT').std;
  return nlmFilter(full, { h: factor * sigma, noiseStd: sigma, patchRadius: 1 });
}

type Scores = Record<WindowName, number>;
const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;

function ssimOf(output: Float32Array, reference: Image2D, masks: ScoringMasks): Scores {
  const test = { ...reference, data: output };
  const out = {} as Scores;
  for (const w of WINDOW_NAMES) out[w] = compareSlices(reference, test, WINDOWS[w], masks[WINDOW_REGIONS[w]]).ssim;
  return out;
}

function measureGroup(group: PairGroup) {
  const pairs = group.pairs;
  const extra = pairs.map((p) => p.quarter.data.map((v, k) => v - p.full.data[k]!));
  const spectralKappas = pairs.map((p) => varianceRatio(p.full, addedNoise(p.quarter, p.full)).kappa);
  // The patient outline from the real full-dose slice, for the synthetic references too.
  const masks = pairs.map((p) => scoringMasks(p.full, p.valid));
  const real = pairs.map((p, i) => ssimOf(p.quarter.data, p.full, masks[i]!));
  const rows: Record<string, { input: Scores[]; truth: Scores[]; oracle: Scores[] }> = {};
  for (const [name, proxy] of Object.entries(TRUTH_PROXIES)) {
    const acc = { input: [] as Scores[], truth: [] as Scores[], oracle: [] as Scores[] };
    pairs.forEach((p, i) => {
      const kappa = KAPPA;
      const w = kappa / (1 + kappa);
      const anatomy = proxy(p.full).data;
      const ei = extra[i]!;
      const ej = extra[(i + 1) % pairs.length]!;
      const n = anatomy.length;
      const reference = new Float32Array(n);
      const input = new Float32Array(n);
      const oracle = new Float32Array(n);
      for (let k = 0; k < n; k++) {
        reference[k] = anatomy[k]! + Math.sqrt(kappa) * ei[k]!;
        input[k] = reference[k]! + ej[k]!;
        oracle[k] = anatomy[k]! + w * (input[k]! - anatomy[k]!);
      }
      // Both extra-noise fields are zero outside the field; the mask is the pair's own.
      const ref: Image2D = { ...p.full, data: reference };
      acc.input.push(ssimOf(input, ref, masks[i]!));
      acc.truth.push(ssimOf(anatomy, ref, masks[i]!));
      acc.oracle.push(ssimOf(oracle, ref, masks[i]!));
    });
    rows[name] = acc;
  }
  const summarise = (list: Scores[]) => Object.fromEntries(WINDOW_NAMES.map((w) => [w, round(mean(list.map((s) => s[w])), 4)]));
  return {
    group: groupKey(group),
    slices: pairs.length,
    spectralKappa: round(mean(spectralKappas), 3),
    realInput: summarise(real),
    proxies: Object.fromEntries(
      Object.entries(rows).map(([name, r]) => [name, { input: summarise(r.input), truth: summarise(r.truth), oracle: summarise(r.oracle) }]),
    ),
  };
}

const groups = findGroups(MAYO).filter((g) => GROUP_FILTER.length === 0 || GROUP_FILTER.includes(groupKey(g)));
const results = [];
for (const id of groups) {
  process.stderr.write(`${groupKey(id)}\n`);
  const result = measureGroup(await loadGroup(MAYO, id));
  results.push(result);
  process.stderr.write(`${JSON.stringify(result)}\n`);
}
const command = `npx tsx scripts/experiments/ssim-ceiling.ts ${args.join(' ')}`.trim();
writeFileSync(OUT, `${JSON.stringify({ command, data: '../shared/ldct-mayo', dose: DOSE, kappa: round(KAPPA, 4), results }, null, 1)}\n`);
process.stderr.write(`wrote ${path.relative(ROOT, OUT)}\n`);

/**
 * Does the CT simulator change a low-contrast object's contrast with dose? (docs/simulation.md,
 * "Contrast in expectation"). Every contrast is QA's own measurement (`rodContrast`, the
 * contrast-retention check's: mean in 0.8 of the rod's radius minus its ring from 2 mm outside the
 * edge to twice the radius).
 *
 *   npx tsx scripts/experiments/ct-contrast-fidelity.ts [--realisations 150]
 *
 * 1. The ACR fixture's committed realisations (r0 .. r7): the 25 mm rod's contrast in dose25,
 *    dose10 and dose100, mean +/- standard error, and the paired dose25 - dose100 difference.
 * 2. More realisations of the fixture's module-2 slice, drawn as the fixture's were
 *    (simulateCtFromTruth with the fixture's settings: standard kernel, the simulator's defaults,
 *    full-dose scan from the same photons) with seeds 700000 + k: the same numbers, and the mean of
 *    the realisations against the expectation of item 3 (which validates it).
 * 3. In expectation (expectedCtFromTruth, no Monte Carlo noise) at 100, 50, 25, 10 and 5 % dose and
 *    noise-free (i0 1e12, no electronic noise): the module-2 rods at +6 HU (the fixture) and scaled
 *    to +100 HU, 10 mm discs of +6 and +100 HU painted at the centre and 30 mm above it, and the
 *    module-1 inserts (-1000 to +955 HU against water); plus the module-2 background's shift
 *    (the low-count bias) in the centre and 40 mm out.
 * Writes docs/experiments/ct-contrast-fidelity.json. About 5 minutes on the loaded 2-core machine.
 */
import { parseArgs } from 'node:util';
import type { AcrGeometry, AcrInsert } from '../../src/phantoms/index.js';
import { rodContrast } from '../../src/qa/checks/index.js';
import { pixelAt } from '../../src/qa/fixtures.js';
import { moduleSlice } from '../../src/qa/regions.js';
import type { QaSlice, SliceStack } from '../../src/qa/types.js';
import { expectedCtFromTruth, simulateCtFromTruth, type CtSimulationOptions } from '../../src/simulate/index.js';
import { saveJson } from './figures.js';
import { loadAcr } from './qa-contrast-common.js';

const { values: args } = parseArgs({ options: { realisations: { type: 'string', default: '150' } } });
/** 0 skips the Monte Carlo part (item 2). */
const realisationCount = Number(args.realisations);
/** The fixture's simulation settings (fixtures/acr/fixture.json "simulation"): everything else is the simulator's default. */
const FIXTURE: Omit<CtSimulationOptions, 'dose'> = { kernel: 'standard' };
const NOISE_FREE: Omit<CtSimulationOptions, 'dose'> = { ...FIXTURE, i0: 1e12, electronicNoise: 0 };
const DOSES = [1, 0.5, 0.25, 0.1, 0.05] as const;

const acr = await loadAcr([0.25, 0.1]);
const g = acr.geometry as unknown as AcrGeometry;
const module2 = g.inserts.filter((i) => i.module === 2 && i.kind === 'low-contrast');
const rod25 = module2.filter((r) => r.radius === 12.5);
const module1 = g.inserts.filter((i) => i.module === 1);
const at = (stack: SliceStack, module: 1 | 2) => stack.slices[moduleSlice(stack, g, module)]!;

interface Summary {
  readonly mean: number;
  readonly standardError: number;
  readonly sd: number;
  readonly n: number;
}
function summary(values: readonly number[]): Summary {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  return { mean: round(mean), standardError: round(sd / Math.sqrt(n)), sd: round(sd), n };
}
const round = (v: number, digits = 4) => Number(v.toFixed(digits));
const show = (s: Summary) => `${s.mean.toFixed(3)} ± ${s.standardError.toFixed(3)} (SD ${s.sd.toFixed(3)}, n ${s.n})`;

// 1. The committed realisations.
const committed: Record<string, unknown> = {};
for (const dose of [0.25, 0.1]) {
  const scans = acr.byDose.get(dose)!;
  const low = scans.map((r) => rodContrast(at(r.low, 2), rod25, module2));
  const full = scans.map((r) => rodContrast(at(r.full, 2), rod25, module2));
  const pct = `dose${Math.round(dose * 100)}`;
  committed[pct] = { low: summary(low), lowEach: low.map((v) => round(v, 3)), full: summary(full), lowMinusFull: summary(low.map((v, i) => v - full[i]!)) };
  console.log(`committed ${pct}: low ${show(summary(low))}; its dose100 ${show(summary(full))}; low - full ${show(summary(low.map((v, i) => v - full[i]!)))}`);
}

// 3 first (2 compares with it): the expectation on the fixture's module-2 slice.
const truth2 = at(acr.truth, 2);
const truth1 = at(acr.truth, 1);
const sliceIndex2 = moduleSlice(acr.truth, g, 2);
const sliceIndex1 = moduleSlice(acr.truth, g, 1);
const expectedContrast = (slice: QaSlice, sliceIndex: number, dose: number, options: Omit<CtSimulationOptions, 'dose'>, objects: readonly AcrInsert[], all: readonly AcrInsert[]) =>
  rodContrast({ ...slice, data: expectedCtFromTruth(slice, { ...options, dose, sliceIndex }).data }, objects, all);

// 2. More realisations, as the fixture's were drawn.
const mcLow: Record<number, number[]> = { 0.25: [], 0.1: [] };
const mcFull: number[] = [];
for (let k = 0; k < realisationCount; k++) {
  for (const dose of [0.25, 0.1]) {
    const r = simulateCtFromTruth(truth2, { ...FIXTURE, dose, seed: 700000 + 10 * k + (dose === 0.25 ? 0 : 1), sliceIndex: sliceIndex2, fullDose: dose === 0.25 });
    // Stored as DICOM integers, as the fixture is.
    mcLow[dose]!.push(rodContrast({ ...truth2, data: r.lowDose.data.map(Math.round) }, rod25, module2));
    if (r.fullDose) mcFull.push(rodContrast({ ...truth2, data: r.fullDose.data.map(Math.round) }, rod25, module2));
  }
  if ((k + 1) % 25 === 0) console.error(`  ${k + 1} of ${realisationCount} realisations`);
}
const monteCarlo =
  realisationCount > 0
    ? {
        seeds: '700000 + 10 k (25 %, with its full dose), 700000 + 10 k + 1 (10 %)',
        dose25: summary(mcLow[0.25]!),
        dose10: summary(mcLow[0.1]!),
        dose100: summary(mcFull),
        dose25MinusFull: summary(mcLow[0.25]!.map((v, i) => v - mcFull[i]!)),
        expected: Object.fromEntries([1, 0.25, 0.1].map((d) => [`dose${d * 100}`, round(expectedContrast(truth2, sliceIndex2, d, FIXTURE, rod25, module2))])),
      }
    : null;
if (monteCarlo) {
  console.log(`more realisations: 25 % ${show(monteCarlo.dose25)}, 10 % ${show(monteCarlo.dose10)}, full ${show(monteCarlo.dose100)}; 25 % - full ${show(monteCarlo.dose25MinusFull)}`);
  console.log(`  expected (expectedCtFromTruth): ${JSON.stringify(monteCarlo.expected)}`);
}

// 3. Contrast in expectation against dose, per object.
/** The module-2 truth with its rods' contrast scaled to `contrast` HU and 10 mm discs of `contrast` HU painted at `discs`. */
function module2Variant(contrast: number, discs: readonly AcrInsert[]): QaSlice {
  const { lowContrastBackground: bg, lowContrastRod: rod } = g.hu;
  const scale = contrast / (rod - bg);
  const data = truth2.data.map((v) => (v >= bg && v <= rod ? bg + (v - bg) * scale : v));
  for (const disc of discs) paintDisc(truth2, data, disc, contrast);
  return { ...truth2, data };
}
/** Adds `contrast` times each pixel's covered fraction of the disc (8 x 8 subsamples). */
function paintDisc(slice: QaSlice, data: Float32Array, disc: AcrInsert, contrast: number): void {
  const [row, col] = pixelAt(slice, disc.centre);
  const [dy, dx] = slice.pixelSpacing;
  const reach = Math.ceil(disc.radius / Math.min(dx, dy)) + 1;
  for (let i = Math.floor(row) - reach; i <= Math.ceil(row) + reach; i++) {
    for (let j = Math.floor(col) - reach; j <= Math.ceil(col) + reach; j++) {
      let inside = 0;
      for (let a = 0; a < 8; a++) for (let b = 0; b < 8; b++) if (Math.hypot((i - row + (a + 0.5) / 8 - 0.5) * dy, (j - col + (b + 0.5) / 8 - 0.5) * dx) <= disc.radius) inside++;
      data[i * slice.columns + j]! += (contrast * inside) / 64;
    }
  }
}
const disc = (name: string, centre: [number, number], contrast: number): AcrInsert => ({
  module: 2,
  name,
  kind: 'low-contrast',
  centre,
  radius: 5,
  hu: g.hu.lowContrastBackground + contrast,
  backgroundHu: g.hu.lowContrastBackground,
  angleDeg: -90,
});
interface ObjectCase {
  readonly name: string;
  readonly nominal: number;
  readonly slice: QaSlice;
  readonly sliceIndex: number;
  readonly objects: readonly AcrInsert[];
  readonly all: readonly AcrInsert[];
}
const cases: ObjectCase[] = [];
// Contrast 0: the module-2 background alone, so what the low-count bias adds at an object's place
// whatever its contrast (the bias image is not flat: central rays cross more) is told apart from
// what scales with the contrast.
for (const contrast of [0, 6, 100]) {
  const discs = [disc('10 mm, centre', [0, 0], contrast), disc('10 mm, 30 mm off centre', [0, -30], contrast)];
  const slice = module2Variant(contrast, discs);
  const all = [...module2, ...discs];
  cases.push({ name: '25 mm rod', nominal: contrast, slice, sliceIndex: sliceIndex2, objects: rod25, all });
  for (const d of discs) cases.push({ name: d.name, nominal: contrast, slice, sliceIndex: sliceIndex2, objects: [d], all });
}
for (const insert of module1) cases.push({ name: `module 1 ${insert.name}`, nominal: insert.hu - insert.backgroundHu, slice: truth1, sliceIndex: sliceIndex1, objects: [insert], all: module1 });

// One expected image per (slice variant, dose), shared by the objects on it.
const expectedImages = new Map<string, Float32Array>();
function expectedImage(c: ObjectCase, dose: number | 'noise-free'): QaSlice {
  const key = `${c.slice === truth1 ? 'm1' : c.nominal}|${dose}`;
  let data = expectedImages.get(key);
  if (!data) {
    data = expectedCtFromTruth(c.slice, dose === 'noise-free' ? { ...NOISE_FREE, dose: 1, sliceIndex: c.sliceIndex } : { ...FIXTURE, dose, sliceIndex: c.sliceIndex }).data;
    expectedImages.set(key, data);
  }
  return { ...c.slice, data };
}
const contrastOf = (c: ObjectCase, dose: number | 'noise-free') => rodContrast(expectedImage(c, dose), c.objects, c.all);
const signed = (v: number, digits: number) => `${v >= 0 ? '+' : ''}${v.toFixed(digits)}`;
const inExpectation = cases.map((c) => {
  const noiseFree = contrastOf(c, 'noise-free');
  const zero = c.slice === truth1 ? undefined : cases.find((z) => z.nominal === 0 && z.name === c.name);
  const byDose = Object.fromEntries(
    DOSES.map((d) => {
      const contrast = contrastOf(c, d);
      const row: Record<string, number> = { contrast: round(contrast), changeHu: round(contrast - noiseFree), relativeToNoiseFreePct: round((100 * (contrast - noiseFree)) / noiseFree, 3) };
      if (zero && c.nominal !== 0) {
        // Split: what the bias adds at this place with no object (additive), and the change of the object's own contrast (proportional).
        const additive = contrastOf(zero, d) - contrastOf(zero, 'noise-free');
        row.additiveHu = round(additive);
        row.proportionalPct = round((100 * (contrast - noiseFree - additive)) / (noiseFree - contrastOf(zero, 'noise-free')), 3);
      }
      return [`dose${d * 100}`, row];
    }),
  );
  const label = `${c.name}, ${c.slice === truth1 ? `${c.nominal} HU` : `+${c.nominal} HU`}`;
  console.log(
    `${label}: noise-free ${noiseFree.toFixed(3)}; ` +
      Object.entries(byDose)
        .map(([k, v]) => `${k} ${v.contrast!.toFixed(3)} (${signed(v.changeHu!, 3)} HU${v.proportionalPct === undefined ? '' : `: ${signed(v.additiveHu!, 3)} HU additive, ${signed(v.proportionalPct, 2)} % proportional`})`)
        .join(', '),
  );
  return { object: label, nominal: c.nominal, truth: round(rodContrast(c.slice, c.objects, c.all)), noiseFree: round(noiseFree), byDose };
});

// The low-count bias itself: the module-2 background's expected shift from noise-free, centre and 40 mm out.
const ringMean = (data: Float32Array, r0: number, r1: number) => {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < truth2.rows; i++) {
    for (let j = 0; j < truth2.columns; j++) {
      const x = truth2.position[0] + j * truth2.pixelSpacing[1];
      const y = truth2.position[1] + i * truth2.pixelSpacing[0];
      const r = Math.hypot(x, y);
      if (r >= r0 && r <= r1 && truth2.data[i * truth2.columns + j] === g.hu.lowContrastBackground) {
        sum += data[i * truth2.columns + j]!;
        n++;
      }
    }
  }
  return sum / n;
};
const base = cases[0]!;
const noiseFreeBase = expectedImage(base, 'noise-free').data;
const backgroundShift = Object.fromEntries(
  DOSES.map((d) => {
    const e = expectedImage(base, d).data;
    return [`dose${d * 100}`, { centreHu: round(ringMean(e, 0, 20) - ringMean(noiseFreeBase, 0, 20), 3), at40mmHu: round(ringMean(e, 35, 45) - ringMean(noiseFreeBase, 35, 45), 3) }];
  }),
);
console.log(`background shift from noise-free (low-count bias): ${JSON.stringify(backgroundShift)}`);

saveJson('ct-contrast-fidelity.json', {
  command: `npx tsx scripts/experiments/ct-contrast-fidelity.ts --realisations ${realisationCount}`,
  fixtureSettings: 'fixtures/acr/fixture.json simulation: standard kernel (hann 0.55), i0 1e5, electronic noise 5, body bowtie 0.5, tcm 0.5',
  committed,
  monteCarlo,
  inExpectation,
  backgroundShift,
});

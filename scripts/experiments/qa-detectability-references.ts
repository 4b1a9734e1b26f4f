/**
 * What QA's `detectability-ratio` reads on reference "denoisers" made from the lcd fixture's
 * committed noise realisations (docs/qa.md, "Low-contrast detectability"):
 *
 *   npx tsx scripts/experiments/qa-detectability-references.ts
 *
 * identity (the input as output), the full-dose scan as output, Gaussian blurs of 0.5 to 4 mm, a
 * step that removes half of the disks' contrast, and one that removes all of it. Each row, per
 * dose and disk kind: the check value +/- its jackknife standard error, d' of the input, the
 * output and full dose, and the disk contrast the output keeps.
 */
import { gaussianFilter } from '../../src/filters/index.js';
import { detectabilityChecks } from '../../src/qa/checks/index.js';
import { DEFAULT_FIXTURES_DIR } from '../../src/qa/config.js';
import { fixtureSeriesDir, readFixtureInfo, readRealisationScans, readStack } from '../../src/qa/fixtures.js';
import { loadQaConfig } from '../../src/qa/index.js';
import { caseOfRealisations } from '../../src/qa/realisations.js';
import type { SliceStack } from '../../src/qa/types.js';

const config = loadQaConfig();
const info = readFixtureInfo(DEFAULT_FIXTURES_DIR, 'lcd');
const truth = await readStack(fixtureSeriesDir(info, 'truth'));

const blur = (stack: SliceStack, sigmaMm: number): SliceStack => ({ ...stack, slices: stack.slices.map((s) => ({ ...s, data: gaussianFilter(s, { sigmaMm }).data })) });
/** Subtracts `fraction` of the noise-free disks (truth minus its 0 HU water) from the image. */
const eraseDisks = (stack: SliceStack, fraction: number): SliceStack => ({
  ...stack,
  slices: stack.slices.map((s) => {
    const t = truth.slices.find((x) => x.position[2] === s.position[2])!;
    return { ...s, data: s.data.map((v, i) => (t.data[i]! > 0.5 && t.data[i]! < 15.5 ? v - fraction * t.data[i]! : v)) };
  }),
});

const steps: Array<[string, (low: SliceStack, full: SliceStack) => SliceStack]> = [
  ['identity', (low) => low],
  ['full-dose scan', (_low, full) => full],
  ['gaussian 0.5 mm', (low) => blur(low, 0.5)],
  ['gaussian 1 mm', (low) => blur(low, 1)],
  ['gaussian 2 mm', (low) => blur(low, 2)],
  ['gaussian 4 mm', (low) => blur(low, 4)],
  ['half of the disk contrast removed', (low) => eraseDisks(low, 0.5)],
  ['disks erased', (low) => eraseDisks(low, 1)],
];
const f = (v: number | null | undefined, digits = 2) => (v === null || v === undefined ? 'n/a' : v.toFixed(digits));
for (const dose of [0.25, 0.1]) {
  const realisations = await readRealisationScans(info, dose);
  for (const [name, step] of steps) {
    const started = performance.now();
    const c = caseOfRealisations({ phantom: 'lcd', geometry: info.geometry, truth }, realisations, dose, step);
    const checks = detectabilityChecks(c, config).checks;
    const ms = performance.now() - started;
    for (const check of checks) {
      const m = check.measured;
      console.log(
        `${Math.round(dose * 100)} % | ${name} | ${check.name.split('/').at(-1)} | ${f(check.value, 3)} ± ${f(m.standardError, 3)} ${check.pass ? 'pass' : 'FAIL'} | ` +
          `d' input ${f(m.input)} output ${f(m.denoised)} full ${f(m.full)} | contrast kept ${f(m.contrastKept, 3)} | ${Math.round(ms / checks.length)} ms`,
      );
    }
  }
}

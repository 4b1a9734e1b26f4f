/**
 * What QA's `contrast-retention` and `cnr-ratio` read on reference "denoisers" made from the ACR
 * fixture's 8 committed noise realisations (docs/qa.md, "Low-contrast retention"):
 *
 *   npx tsx scripts/experiments/qa-contrast-references.ts [--min-diameter 2]
 *
 * identity (the input as output), the full-dose scan as output, Gaussian blurs of 0.5 to 4 mm, and
 * a step that removes a third of the rods' contrast after a 2 mm Gaussian. Each row: the check
 * value (mean of 8 realisations +/- standard error) per rod size and dose, and the CNR ratio of the
 * 25 mm rod on realisation 0.
 */
import { blurStack, caseFor, eraseRodContrast, loadAcr } from './qa-contrast-common.js';
import { cnrChecks, contrastChecks } from '../../src/qa/checks/index.js';
import { loadQaConfig, parseConfigObject } from '../../src/qa/index.js';
import type { SliceStack } from '../../src/qa/types.js';

const args = process.argv.slice(2);
const at = args.indexOf('--min-diameter');
const minDiameterMm = at >= 0 ? Number(args[at + 1]) : 25;
const config = parseConfigObject({ checks: { 'contrast-retention': { minDiameterMm } } }, 'experiment', loadQaConfig());
const acr = await loadAcr([0.25, 0.1]);

const steps: Array<[string, (low: SliceStack, full: SliceStack) => SliceStack]> = [
  ['identity', (low) => low],
  ['full-dose scan', (_low, full) => full],
  ['gaussian 0.5 mm', (low) => blurStack(low, 0.5)],
  ['gaussian 1 mm', (low) => blurStack(low, 1)],
  ['gaussian 2 mm', (low) => blurStack(low, 2)],
  ['gaussian 4 mm', (low) => blurStack(low, 4)],
  ['gaussian 2 mm, then 1/3 of the rod contrast removed', (low) => eraseRodContrast(acr, blurStack(low, 2), 1 / 3)],
];
for (const [name, step] of steps) {
  const cells: string[] = [];
  for (const dose of [0.25, 0.1]) {
    const c = caseFor(acr, dose, step);
    for (const check of contrastChecks(c, config).checks) {
      const se = check.measured.standardError;
      cells.push(`${Math.round(dose * 100)} % ${check.name.split('/').at(-1)} ${check.value?.toFixed(3)} ± ${se === null || se === undefined ? 'n/a' : se.toFixed(3)} ${check.pass ? 'pass' : 'FAIL'}`);
    }
    const cnr = cnrChecks(c, config).checks[0]!;
    cells.push(`${Math.round(dose * 100)} % cnr-ratio ${cnr.value?.toFixed(2)} ${cnr.pass ? 'pass' : 'FAIL'}`);
  }
  console.log(`${name}\n  ${cells.join('\n  ')}`);
}

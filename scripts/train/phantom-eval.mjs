#!/usr/bin/env node
/**
 * The phantom half of the model card's table: MTF50 on the `acr` fixture (CT) and SUVmean bias /
 * SUVmax recovery / noise in the `iec` spheres (PET), per method, measured by `lowdose qa` itself
 * (so the numbers are the ones a QA script gating a model would see).
 *
 *   node scripts/train/phantom-eval.mjs [--steps 1,2,4,8,16] [--threads 2] [--realisations 1] [--out .cache/eval/phantoms.json]
 *
 * --realisations: the noise realisations QA averages its bias checks over (docs/qa.md, "Expected
 * bias over noise realisations"); 1 (the default) is the committed series alone, on which the
 * card's phantom tables were measured.
 *
 * Runs `lowdose qa --phantoms acr,iec --json` once per classical method and once per step count of
 * the shipped models (each with its card's sampler settings, measurement consistency included),
 * plus once at the card's steps with `--consistency 0`, then prints markdown tables (and writes the
 * raw rows as JSON).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeDirectoriesSync } from '../../dist/util/fs.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const steps = opt('steps', '1,2,4,8,16').split(',').map(Number);
const threads = opt('threads', '2');
const realisations = opt('realisations', '1');
const outFile = path.resolve(REPO, opt('out', '.cache/eval/phantoms.json'));

function qa(extra) {
  const r = spawnSync(process.execPath, [path.join(REPO, 'bin/lowdose.js'), 'qa', '--phantoms', 'acr,iec', '--json', '--no-progress', '--threads', threads, '--device', 'cpu', '--realisations', realisations, ...extra], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  // Exit 1 = a check failed, which is a result here; anything else is an error.
  if (r.status !== 0 && r.status !== 1) throw new Error(`lowdose qa ${extra.join(' ')} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;

/** One row per (method, dose): the numbers the card reports. */
function summarise(method, report) {
  const rows = [];
  for (const dose of [0.25, 0.1]) {
    const at = (phantom, check) => report.checks.filter((c) => c.phantom === phantom && c.dose === dose && c.check === check);
    const mtf = at('acr', 'mtf50-ratio')[0];
    const bias = at('iec', 'suvmean-bias');
    const rec = at('iec', 'suvmax-recovery');
    const noise = at('iec', 'noise-reduction')[0];
    const ctNoise = at('acr', 'noise-reduction')[0];
    rows.push({
      method,
      dose,
      mtf50: mtf?.measured.denoised,
      mtf50Input: mtf?.measured.input,
      mtf50Full: mtf?.measured.full,
      mtf50Ratio: mtf?.value,
      ctNoise: ctNoise?.measured.denoised,
      ctNoiseInput: ctNoise?.measured.input,
      ctNoiseFull: ctNoise?.measured.full,
      suvmeanBias: Object.fromEntries(bias.map((c) => [c.name.split('/').pop(), c.value])),
      suvmeanBiasMaxAbs: Math.max(...bias.map((c) => Math.abs(c.value))),
      suvmaxRecovery: Object.fromEntries(rec.map((c) => [c.name.split('/').pop(), c.value])),
      suvmaxRecoveryMean: mean(rec.map((c) => c.value)),
      petNoise: noise?.measured.denoised,
      petNoiseInput: noise?.measured.input,
      petNoiseFull: noise?.measured.full,
      // The low-dose input's own sphere values, from the same checks.
      inputSuvmeanBias: Object.fromEntries(bias.map((c) => [c.name.split('/').pop(), c.measured.input / c.measured.full - 1])),
      inputSuvmaxRecovery: Object.fromEntries(rec.map((c) => [c.name.split('/').pop(), c.measured.input / c.measured.true])),
      fullSuvmaxRecovery: Object.fromEntries(rec.map((c) => [c.name.split('/').pop(), c.measured.full / c.measured.true])),
    });
  }
  return rows;
}

const rows = [];
for (const method of ['gaussian', 'bilateral', 'nlm']) {
  process.stderr.write(`qa --method ${method}\n`);
  rows.push(...summarise(method, qa(['--method', method])));
}
for (const n of steps) {
  process.stderr.write(`qa --steps ${n}\n`);
  rows.push(...summarise(`model, ${n} step${n === 1 ? '' : 's'}`, qa(['--steps', String(n)])));
}
// The card's default with the measurement-consistency step off: what the network alone does.
process.stderr.write('qa --consistency 0\n');
rows.push(...summarise('model, card steps, consistency off', qa(['--consistency', '0'])));
makeDirectoriesSync(path.dirname(outFile));
const command = `node scripts/train/phantom-eval.mjs --steps ${steps.join(',')} --threads ${threads}`;
writeFileSync(outFile, JSON.stringify({ command, rows }, null, 1) + '\n');

const f = (x, d) => (x === undefined || !Number.isFinite(x) ? '' : x.toFixed(d));
const pct = (x) => (x === undefined ? '' : `${(100 * x).toFixed(1)}`);
for (const dose of [0.25, 0.1]) {
  const r = rows.filter((x) => x.dose === dose);
  const first = r[0];
  const spheres = Object.keys(first.suvmeanBias);
  console.log(`\n${dose * 100} % dose / counts (acr: CT MTF50 of the 25 mm edge rod and uniform-ROI noise; iec: spheres >= 17 mm)\n`);
  console.log(`| method | MTF50 cyc/mm | / full dose | CT noise HU | PET noise SUV | SUVmean bias % (${spheres.join(', ')}) | SUVmax recovery (${spheres.join(', ')}) |`);
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  const list = (o, fn) => Object.values(o).map(fn).join(' / ');
  console.log(
    `| low-dose input | ${f(first.mtf50Input, 3)} | ${f(first.mtf50Input / first.mtf50Full, 2)} | ${f(first.ctNoiseInput, 1)} | ${f(first.petNoiseInput, 3)} | ${list(first.inputSuvmeanBias, pct)} | ${list(first.inputSuvmaxRecovery, (x) => f(x, 2))} |`,
  );
  for (const x of r) {
    console.log(
      `| ${x.method} | ${f(x.mtf50, 3)} | ${f(x.mtf50Ratio, 2)} | ${f(x.ctNoise, 1)} | ${f(x.petNoise, 3)} | ${list(x.suvmeanBias, pct)} | ${list(x.suvmaxRecovery, (v) => f(v, 2))} |`,
    );
  }
  console.log(
    `| full dose | ${f(first.mtf50Full, 3)} | 1.00 | ${f(first.ctNoiseFull, 1)} | ${f(first.petNoiseFull, 3)} | 0 | ${list(first.fullSuvmaxRecovery, (x) => f(x, 2))} |`,
  );
}
console.error(`wrote ${path.relative(REPO, outFile)}`);

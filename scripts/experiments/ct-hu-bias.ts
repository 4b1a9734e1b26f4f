/**
 * Where the ACR inserts' HU offsets of the simulated low-dose CT come from (docs/qa.md, "HU
 * accuracy: what the input itself reads").
 *
 *   npx tsx scripts/experiments/ct-hu-bias.ts [--realisations N] [--json out.json]
 *
 * On the ACR fixture's module-1 truth slice (the noise-free phantom QA's `hu-error` check reads),
 * with the fixtures' simulator settings (`lowdose simulate --mode truth` defaults: standard kernel,
 * i0 1e5, sigma_e 5, body bowtie, tcm 0.5), over N noise seeds (default 40):
 *  - the noise-free reconstruction (i0 1e12, no electronic noise): what projection, rebinning and
 *    FBP alone do to each insert's ROI mean;
 *  - the full-dose, 25 % and 10 % scans (25 % and full share photons, as in the fixtures): the mean
 *    and SD over seeds of each insert's ROI mean (QA's ROI: 0.6 x the insert radius) minus nominal,
 *    and of 25 % minus full dose;
 *  - the log bias predicted to second order: the measured line integral log(d I / N) of a ray with
 *    lambda expected counts and variance lambda + sigma_e^2 has E = p + (lambda + sigma_e^2) / (2
 *    lambda^2); that bias sinogram, reconstructed with the same FBP, is the mean offset the
 *    low-count log alone puts into each insert;
 *  - how often an image that keeps the input's ROI means exactly (a perfectly mean-preserving
 *    denoiser) would fail the +/- 5 HU band against the nominal value at each dose.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { roiStats } from '../../src/metrics/index.js';
import type { AcrGeometry } from '../../src/phantoms/index.js';
import { circleAt, fixtureSeriesDir, readFixtureInfo, readStack } from '../../src/qa/fixtures.js';
import { moduleSlice } from '../../src/qa/regions.js';
import { HU_ROI_FRACTION } from '../../src/qa/checks/hu.js';
import { huToMu, muToHu } from '../../src/simulate/attenuation.js';
import { bowtieTransmission } from '../../src/simulate/bowtie.js';
import { simulateCtFromTruth, CT_DEFAULTS } from '../../src/simulate/ct.js';
import { resolveFanBeam } from '../../src/simulate/ct-geometry.js';
import { incidentPhotons } from '../../src/simulate/ct-noise.js';
import { projectFanBeam } from '../../src/simulate/fan-projector.js';
import { rebinToParallel, reconstructParallel } from '../../src/simulate/fbp.js';
import { resolveKernel } from '../../src/simulate/filters.js';
import { tubeCurrentModulation } from '../../src/simulate/tcm.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const N = Number(opt('realisations', '40'));
const JSON_OUT = args.includes('--json') ? opt('json', '') : '';
const BAND = 5;

const info = readFixtureInfo(path.join(REPO, 'fixtures'), 'acr');
const g = info.geometry as unknown as AcrGeometry;
const truth = await readStack(fixtureSeriesDir(info, 'truth'));
const index = moduleSlice(truth, g, 1);
const slice = truth.slices[index]!;
const inserts = g.inserts.filter((i) => i.module === 1 && i.kind === 'hu');
const errors = (data: Float32Array) =>
  inserts.map((ins) => roiStats({ ...slice, data }, circleAt(slice, ins.centre, ins.radius * HU_ROI_FRACTION)).mean - ins.hu);

/** The second-order log bias of each dose, reconstructed: HU offset per insert. */
function predictedLogBias(dose: number): number[] {
  const geometry = resolveFanBeam();
  const grid = { rows: slice.rows, columns: slice.columns, dy: slice.pixelSpacing[0], dx: slice.pixelSpacing[1] };
  const fan = projectFanBeam(grid, huToMu(slice.data), geometry);
  const tubeCurrent = tubeCurrentModulation(fan, geometry.channels, CT_DEFAULTS.tcm);
  const model = {
    i0: CT_DEFAULTS.i0,
    electronicNoise: CT_DEFAULTS.electronicNoise,
    minCounts: CT_DEFAULTS.minCounts,
    bowtie: bowtieTransmission(geometry, 'body'),
    tubeCurrent,
  };
  const rays = rebinToParallel(fan, geometry, grid);
  const incident = rebinToParallel(incidentPhotons(model, geometry.views, geometry.channels), geometry, grid).data;
  const bias = new Float32Array(rays.data.length);
  const s2 = model.electronicNoise ** 2;
  for (let k = 0; k < bias.length; k++) {
    const i = incident[k]!;
    if (!(i > 0)) continue;
    const lambda = dose * i * Math.exp(-rays.data[k]!);
    bias[k] = (lambda + s2) / (2 * lambda * lambda);
  }
  const mu = reconstructParallel({ ...rays, data: bias }, geometry, grid, resolveKernel());
  // muToHu maps 0 to -1000: the offset is the attenuation offset in HU.
  return errors(muToHu(mu).map((v) => v + 1000)).map((e, j) => e + inserts[j]!.hu);
}

const stats = (rows: number[][]) => {
  const mean = inserts.map((_, j) => rows.reduce((s, r) => s + r[j]!, 0) / rows.length);
  const sd = inserts.map((_, j) => Math.sqrt(rows.reduce((s, r) => s + (r[j]! - mean[j]!) ** 2, 0) / Math.max(1, rows.length - 1)));
  return { mean, sd, sem: sd.map((v) => v / Math.sqrt(rows.length)) };
};

const noiseFree = errors(simulateCtFromTruth(slice, { dose: 1, i0: 1e12, electronicNoise: 0, fullDose: false }).lowDose.data);
const rows: Record<'full' | 'dose25' | 'dose10' | 'dose25MinusFull', number[][]> = { full: [], dose25: [], dose10: [], dose25MinusFull: [] };
for (let s = 0; s < N; s++) {
  const a = simulateCtFromTruth(slice, { dose: 0.25, seed: 5000 + s, sliceIndex: index });
  const b = simulateCtFromTruth(slice, { dose: 0.1, seed: 7000 + s, sliceIndex: index, fullDose: false });
  const full = errors(a.fullDose!.data);
  const low = errors(a.lowDose.data);
  rows.full.push(full);
  rows.dose25.push(low);
  rows.dose10.push(errors(b.lowDose.data));
  rows.dose25MinusFull.push(low.map((v, j) => v - full[j]!));
  process.stderr.write(`\rseed ${s + 1} / ${N}`);
}
process.stderr.write('\n');

const predicted = { full: predictedLogBias(1), dose25: predictedLogBias(0.25), dose10: predictedLogBias(0.1) };
const f1 = (v: number) => (v >= 0 ? '+' : '') + v.toFixed(1);
const f2 = (v: number) => (v >= 0 ? '+' : '') + v.toFixed(2);
console.log(`ACR module 1, ${N} noise realisations; HU, ROI ${HU_ROI_FRACTION} x insert radius; inserts ${inserts.map((i) => i.name).join(' / ')}\n`);
console.log('| series | mean over realisations minus nominal (± SEM) | SD of one realisation | predicted log bias | realisations with an insert outside ±5 HU |');
console.log('| --- | --- | --- | --- | --- |');
console.log(`| noise-free reconstruction | ${noiseFree.map(f2).join(' / ')} | | | |`);
const summary: Record<string, unknown> = { realisations: N, inserts: inserts.map((i) => i.name), noiseFree, predicted };
for (const key of ['full', 'dose25', 'dose10', 'dose25MinusFull'] as const) {
  const s = stats(rows[key]);
  const outside = rows[key].filter((r) => r.some((v) => Math.abs(v) > BAND)).length;
  const p = key === 'dose25MinusFull' ? predicted.dose25.map((v, j) => v - predicted.full[j]!) : predicted[key];
  const label = { full: 'full dose', dose25: '25 % dose', dose10: '10 % dose', dose25MinusFull: '25 % minus full dose (same photons)' }[key];
  console.log(
    `| ${label} | ${s.mean.map((m, j) => `${f1(m)} ± ${s.sem[j]!.toFixed(1)}`).join(' / ')} | ${s.sd.map((v) => v.toFixed(1)).join(' / ')} | ` +
      `${p.map(f1).join(' / ')} | ${key === 'dose25MinusFull' ? '' : `${outside} / ${N}`} |`,
  );
  summary[key] = { ...s, outsideBand: outside, predicted: p };
}
if (JSON_OUT) writeFileSync(JSON_OUT, `${JSON.stringify(summary, null, 1)}\n`);

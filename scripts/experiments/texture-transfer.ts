/**
 * Measures a CT model's noise transfer T(f) once, on flat simulated water, for full-dose texture
 * shaped per frequency (src/diffusion/texture-transfer.ts; the model card carries the table as
 * `texture.transfer`: docs/diffusion.md, "Texture").
 *
 * T(f) = sqrt(NPS_out(f) / NPS_in(f)): the share of the input's noise amplitude the model keeps at
 * radial frequency f, with the NPS pooled over QA's 64 px ROIs in the water column (npsOf, 2nd-order
 * detrend) of every realisation before the ratio. Realisations: the water phantom simulated in
 * truth mode (`lowdose simulate`'s physics) with noise seeds `seed * 100 + k` for the seeds given,
 * none of them QA's fixtures' (1100, 1101: make-fixtures.ts), so `lowdose qa` stays a test of it.
 *
 *   npx tsx scripts/experiments/texture-transfer.ts     (90 s; writes docs/experiments/texture-transfer.json)
 *   options: --model, --doses 0.05,0.1,0.25,0.5, --seeds 41,...,48, --size 320 (250 mm field:
 *   0.78 mm pixels, inside the CT card's training range; QA's fixtures have 0.98 mm), --slices 2, --kernel (simulate's, default the fixtures' standard), --out <json>,
 *   --low-band <strength> (the transfer of the model followed by low-band denoising, src/filters/low-band.ts)
 *
 * The model runs with its card's default sampler at each dose (its dose input set to that dose).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { NpsResult } from '../../src/metrics/index.js';
import { runPhantom } from '../../src/pipeline/phantom.js';
import { runSimulate } from '../../src/pipeline/simulate.js';
import { npsOf } from '../../src/qa/checks/index.js';
import { readStack } from '../../src/qa/fixtures.js';
import { uniformDisc } from '../../src/qa/regions.js';
import type { QaCase } from '../../src/qa/types.js';
import { saveJson } from './figures.js';
import { denoiseStack, modelIdentity, openModel, round } from './fixture-runs.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'lowdose-ct' },
    device: { type: 'string', default: 'cpu' },
    threads: { type: 'string' },
    doses: { type: 'string', default: '0.05,0.1,0.25,0.5' },
    seeds: { type: 'string', default: '41,42,43,44,45,46,47,48' },
    size: { type: 'string', default: '320' },
    slices: { type: 'string', default: '2' },
    kernel: { type: 'string' },
    out: { type: 'string', default: 'texture-transfer' },
    'low-band': { type: 'string' },
  },
});
const doses = args.doses!.split(',').map(Number);
const seeds = args.seeds!.split(',').map(Number);
const QA_SEEDS = new Set([1100, 1101]);

const model = await openModel({ model: args.model!, device: args.device!, threads: args.threads });
/** Per dose: radial NPS of input and output, summed over realisations (weighted by ROI count). */
const pooled = doses.map(() => ({ input: null as Float64Array | null, output: null as Float64Array | null, rois: 0 }));
let frequency: Float64Array | null = null;
let pixelSpacing: readonly [number, number] | null = null;
const scratch = mkdtempSync(path.join(tmpdir(), 'lowdose-texture-transfer-'));
try {
  for (const seed of seeds) {
    const phantom = await runPhantom('water', { outDir: path.join(scratch, `truth-${seed}`), size: Number(args.size), slices: Number(args.slices), seed, uidSeed: `texture-transfer-${seed}` });
    for (const [k, dose] of doses.entries()) {
      const noiseSeed = seed * 100 + k;
      if (QA_SEEDS.has(noiseSeed)) throw new Error(`noise seed ${noiseSeed} is one of QA's fixtures': pick other --seeds`);
      const { result } = await runSimulate([phantom.dir], {
        dose,
        outDir: path.join(scratch, `sim-${seed}-${dose}`),
        seed: noiseSeed,
        mode: 'truth',
        ...(args.kernel ? { kernel: args.kernel as never } : {}),
      });
      const low = await readStack(result.series[0]!.output.dir);
      const run = await denoiseStack(model, low, { seed: 0, dose, ...(args['low-band'] !== undefined ? { lowBand: Number(args['low-band']) } : {}) });
      const out = { ...low, slices: low.slices.map((s, i) => ({ ...s, data: run.denoised[i]! })) };
      const c: QaCase = { phantom: 'water', dose, geometry: phantom.geometry as Record<string, unknown>, truth: low, full: low, low, denoised: out };
      const disc = uniformDisc(c)!;
      const add = (sum: Float64Array | null, r: NpsResult) => {
        const next = sum ?? new Float64Array(r.radial.nps.length);
        r.radial.nps.forEach((v, b) => (next[b]! += v * r.roiCount));
        return next;
      };
      const nIn = npsOf(low, disc);
      const nOut = npsOf(out, disc);
      frequency ??= nIn.radial.frequency;
      pixelSpacing ??= nIn.pixelSpacing;
      const p = pooled[k]!;
      p.input = add(p.input, nIn);
      p.output = add(p.output, nOut);
      p.rois += nIn.roiCount;
      console.error(`seed ${seed} dose ${dose}: ${nIn.roiCount} ROIs`);
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
  await model.release();
}

// In cycles per pixel (what the network sees; noise-transfer.ts). Bin 0 (the ROI mean, removed by
// the detrend) carries no noise: it takes bin 1's value.
const f = [...frequency!].map((v) => round(v * pixelSpacing![1], 5));
const T = pooled.map((p) => {
  const t = [...p.output!].map((v, b) => round(Math.sqrt(v / p.input![b]!), 3));
  t[0] = t[1]!;
  return t;
});
const identity = modelIdentity(model);
const command = `npx tsx scripts/experiments/texture-transfer.ts ${process.argv.slice(2).join(' ')}`.trim();
const transfer = {
  frequenciesCyclesPerPixel: f,
  doses,
  T,
  measured: {
    phantom: 'water (lowdose phantom water, simulate --mode truth)',
    pixelSpacingMm: round(pixelSpacing![0], 4),
    kernel: args.kernel ?? 'standard (the QA fixtures\')',
    noiseSeeds: seeds.flatMap((s) => doses.map((_, k) => s * 100 + k)),
    rois: pooled.map((p) => p.rois),
    onnxSha256: identity.sha256,
    command,
  },
};
for (const [k, dose] of doses.entries()) {
  const row = f.map((x, b) => `${x.toFixed(3)}:${T[k]![b]!.toFixed(2)}`).filter((_, b) => b % 2 === 1);
  console.log(`dose ${dose} (sqrt ${round(Math.sqrt(dose), 3)}): ${row.join(' ')}`);
}
saveJson(`${args.out}.json`, { command, model: identity, transfer });

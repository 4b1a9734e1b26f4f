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
 *   --low-band <strength> (the transfer of the model followed by low-band denoising, src/filters/low-band.ts),
 *   --full-dose-texture yes (below)
 *
 * The model runs with its card's default sampler at each dose (its dose input set to that dose).
 *
 * --full-dose-texture yes: also where `--texture full-dose` holds, by dose. Each seed's first scan is
 * simulated with its full-dose reference (the same photons, as make-fixtures.ts makes dose100), and
 * every dose is denoised a second time with `--texture full-dose` at that dose (the card's
 * texture.transfer, as `lowdose denoise --texture full-dose --dose d` applies it). With QA's own
 * measures (npsOf, smoothedPeak, pooledNoise over uniformRois) the rows `fullDoseTexture` give, per
 * dose, the noise SD and NPS peak of smooth and full-dose-texture output against the full dose's:
 * pooled over the seeds (NPS weighted by ROI count before the peak is read; ROI variances averaged)
 * and the range over single realisations (each against its own seed's full dose, as QA judges its
 * one fixture). The model card's `quality.fullDoseTexture` is the JSON's `fullDoseTexture.card`
 * (E_TEXTURE_NOT_FULL_DOSE: src/models/texture-fidelity.ts). The shipped card's, at QA's geometry
 * (about 7 minutes on the loaded 2-core machine; docs/experiments/texture-by-dose.json):
 *
 *   npx tsx scripts/experiments/texture-transfer.ts --full-dose-texture yes --size 256 \
 *     --doses 0.05,0.1,0.15,0.175,0.2,0.225,0.25,0.3,0.35,0.4,0.45,0.5 --seeds 61,62,63,64,65,66,67,68 --threads 1 --out texture-by-dose
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { smoothedRadialPeak, type NpsResult } from '../../src/metrics/index.js';
import { runPhantom } from '../../src/pipeline/phantom.js';
import { runSimulate } from '../../src/pipeline/simulate.js';
import { npsOf, pooledNoise, smoothedPeak } from '../../src/qa/checks/index.js';
import { readStack } from '../../src/qa/fixtures.js';
import { uniformDisc, uniformRois } from '../../src/qa/regions.js';
import type { QaCase, SliceStack } from '../../src/qa/types.js';
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
    'full-dose-texture': { type: 'string', default: 'no' },
  },
});
const doses = args.doses!.split(',').map(Number);
const seeds = args.seeds!.split(',').map(Number);
const QA_SEEDS = new Set([1100, 1101]);
const withTexture = args['full-dose-texture'] === 'yes';
/** The noise seed of a seed's scans at dose index k (the full dose shares the first's photons). */
const noiseSeedOf = (seed: number, k: number) => seed * 100 + k;
const lowBand = args['low-band'] !== undefined ? { lowBand: Number(args['low-band']) } : {};

const model = await openModel({ model: args.model!, device: args.device!, threads: args.threads });
/** Per dose: radial NPS of input and output, summed over realisations (weighted by ROI count). */
const pooled = doses.map(() => ({ input: null as Float64Array | null, output: null as Float64Array | null, rois: 0 }));
/** --full-dose-texture: per dose and output, the radial NPS summed over seeds, ROI variances, and each seed's ratios to its full dose. */
type Measured = { nps: Float64Array | null; rois: number; variance: number; roiCount: number; perSeed: Array<{ seed: number; noiseVsFull: number; npsPeakVsFull: number }> };
const measuredOf = (): Measured => ({ nps: null, rois: 0, variance: 0, roiCount: 0, perSeed: [] });
const fullDose = measuredOf();
const textureRows = doses.map(() => ({ smooth: measuredOf(), 'full-dose': measuredOf() }));
let frequency: Float64Array | null = null;
let pixelSpacing: readonly [number, number] | null = null;
/** The seed's full-dose scan (--full-dose-texture). */
let full: SliceStack | null = null;
const add = (sum: Float64Array | null, r: NpsResult) => {
  const next = sum ?? new Float64Array(r.radial.nps.length);
  r.radial.nps.forEach((v, b) => (next[b]! += v * r.roiCount));
  return next;
};
/** Adds one realisation of an output to `m`: its NPS, ROI variances and its ratios to the seed's full dose. */
function measure(m: Measured, seed: number, stack: SliceStack, nps: NpsResult, fullSd: number, rois: ReturnType<typeof uniformRois>, fullNps: NpsResult): void {
  const sd = pooledNoise(stack, rois);
  m.nps = add(m.nps, nps);
  m.rois += nps.roiCount;
  m.variance += sd * sd * rois.length;
  m.roiCount += rois.length;
  m.perSeed.push({ seed, noiseVsFull: round(sd / fullSd - 1, 3), npsPeakVsFull: round(smoothedPeak(nps) / smoothedPeak(fullNps) - 1, 3) });
}
const scratch = mkdtempSync(path.join(tmpdir(), 'lowdose-texture-transfer-'));
try {
  for (const seed of seeds) {
    const phantom = await runPhantom('water', { outDir: path.join(scratch, `truth-${seed}`), size: Number(args.size), slices: Number(args.slices), seed, uidSeed: `texture-transfer-${seed}` });
    for (const [k, dose] of doses.entries()) {
      const noiseSeed = noiseSeedOf(seed, k);
      if (QA_SEEDS.has(noiseSeed)) throw new Error(`noise seed ${noiseSeed} is one of QA's fixtures': pick other --seeds`);
      const { result } = await runSimulate([phantom.dir], {
        dose,
        outDir: path.join(scratch, `sim-${seed}-${dose}`),
        seed: noiseSeed,
        mode: 'truth',
        ...(args.kernel ? { kernel: args.kernel as never } : {}),
        ...(withTexture && k === 0 ? { withReference: true } : {}),
      });
      const low = await readStack(result.series[0]!.output.dir);
      if (withTexture && k === 0) full = await readStack(result.series[0]!.reference!.dir);
      const run = await denoiseStack(model, low, { seed: 0, dose, ...lowBand });
      const out = { ...low, slices: low.slices.map((s, i) => ({ ...s, data: run.denoised[i]! })) };
      const c: QaCase = { phantom: 'water', dose, geometry: phantom.geometry as Record<string, unknown>, truth: low, full: low, low, denoised: out };
      const disc = uniformDisc(c)!;
      const nIn = npsOf(low, disc);
      const nOut = npsOf(out, disc);
      frequency ??= nIn.radial.frequency;
      pixelSpacing ??= nIn.pixelSpacing;
      const p = pooled[k]!;
      p.input = add(p.input, nIn);
      p.output = add(p.output, nOut);
      p.rois += nIn.roiCount;
      if (withTexture) {
        const textured = await denoiseStack(model, low, { seed: 0, dose, texture: 'full-dose', ...lowBand });
        const rois = uniformRois(c);
        const fullNps = npsOf(full!, disc);
        const fullSd = pooledNoise(full!, rois);
        if (k === 0) measure(fullDose, seed, full!, fullNps, fullSd, rois, fullNps);
        const withData = (data: readonly Float32Array[]): SliceStack => ({ ...low, slices: low.slices.map((s, i) => ({ ...s, data: data[i]! })) });
        measure(textureRows[k]!.smooth, seed, out, nOut, fullSd, rois, fullNps);
        measure(textureRows[k]!['full-dose'], seed, withData(textured.denoised), npsOf(withData(textured.denoised), disc), fullSd, rois, fullNps);
      }
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
/** Pooled over seeds: noise SD (RMS of ROI SDs) and the NPS peak of the ROI-weighted mean NPS (smoothedPeak's estimator). */
const pooledOf = (m: Measured) => {
  const mean = Float64Array.from(m.nps!, (v) => v / m.rois);
  return { noiseSd: Math.sqrt(m.variance / m.roiCount), npsPeak: smoothedRadialPeak(frequency!, mean) };
};
const fullDoseTexture = withTexture
  ? (() => {
      const ref = pooledOf(fullDose);
      const row = (m: Measured) => {
        const p = pooledOf(m);
        const range = (key: 'noiseVsFull' | 'npsPeakVsFull') => [Math.min(...m.perSeed.map((r) => r[key])), Math.max(...m.perSeed.map((r) => r[key]))];
        return {
          noiseSd: round(p.noiseSd, 2),
          noiseVsFull: round(p.noiseSd / ref.noiseSd - 1, 3),
          npsPeak: round(p.npsPeak, 4),
          npsPeakVsFull: round(p.npsPeak / ref.npsPeak - 1, 3),
          perSeedNoiseVsFull: range('noiseVsFull'),
          perSeedNpsPeakVsFull: range('npsPeakVsFull'),
          perSeed: m.perSeed,
        };
      };
      const rows = doses.map((dose, k) => ({ dose, smooth: row(textureRows[k]!.smooth), fullDoseTexture: row(textureRows[k]!['full-dose']) }));
      for (const r of rows) {
        const t = r.fullDoseTexture;
        console.log(`dose ${r.dose}: full-dose texture noise ${t.noiseVsFull} (${t.perSeedNoiseVsFull.join(' to ')}), NPS peak ${t.npsPeakVsFull} (${t.perSeedNpsPeakVsFull.join(' to ')}); smooth ${r.smooth.noiseVsFull} / ${r.smooth.npsPeakVsFull}`);
      }
      const noiseSeeds = seeds.flatMap((s) => doses.map((_, k) => noiseSeedOf(s, k)));
      return {
        measuredWith: "QA's npsOf (64 px ROIs in the water disc, poly2 detrend), smoothedPeak, pooledNoise over uniformRois; pooled over the seeds",
        fullDose: { noiseSd: round(ref.noiseSd, 2), npsPeak: round(ref.npsPeak, 4), noiseSeeds: seeds.map((s) => noiseSeedOf(s, 0)) },
        rows,
        // The model card's quality.fullDoseTexture (src/models/card.ts), as measured here.
        card: {
          measuredOn:
            `water phantom (lowdose phantom water, simulate --mode truth), ${round(pixelSpacing![0], 4)} mm pixels, kernel ${args.kernel ?? "standard (the QA fixtures')"}, ` +
            `${seeds.length} realisations per dose (noise seeds ${Math.min(...noiseSeeds)} to ${Math.max(...noiseSeeds)}; full dose: each seed's first scan's reference), ` +
            `QA's NPS and noise measures; ${identity.name}, ONNX ${identity.sha256}, default sampler${args['low-band'] !== undefined ? `, low band ${args['low-band']}` : ''}`,
          command,
          rows: rows.map((r) => ({
            dose: r.dose,
            noiseVsFull: r.fullDoseTexture.noiseVsFull,
            npsPeakVsFull: r.fullDoseTexture.npsPeakVsFull,
            realisations: { count: seeds.length, noiseVsFull: r.fullDoseTexture.perSeedNoiseVsFull, npsPeakVsFull: r.fullDoseTexture.perSeedNpsPeakVsFull },
          })),
        },
      };
    })()
  : undefined;
saveJson(`${args.out}.json`, { command, model: identity, transfer, ...(fullDoseTexture ? { fullDoseTexture } : {}) });

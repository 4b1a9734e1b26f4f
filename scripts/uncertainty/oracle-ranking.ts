/**
 * How well can any uncertainty map rank a phantom's patch errors? The ranking target (issue 16:
 * Spearman >= 0.5 between the predicted error variance and the squared error, per 16 x 16 tissue
 * patch) is missed by `lowdose-ct` on the QA phantoms (docs/uncertainty.md), whose error against
 * the noise-free truth is mostly the noise the model leaves, about homogeneous within a phantom.
 * A map is a function of the input; the best it can do is the patch's *expected* squared error.
 * This script estimates that oracle from noise realisations: the fixture's truth scanned again
 * with other noise seeds (`lowdose simulate --mode truth`, as make-fixtures.ts makes the fixtures),
 * each denoised as calibrate.ts denoises (the card's K samples, their mean the output), and scores
 * every realisation's patch squared errors against the mean of the other realisations' (leave one
 * out: an unbiased estimate of the expected error that does not know this realisation's noise).
 * Its Spearman is an upper bound on what a calibrated σ can reach there, up to the estimate's own
 * noise from R − 1 realisations (the `half` column: the same with half of them, to see the trend).
 * Beside it, two maps computable from one realisation, scored on each realisation and averaged:
 * the ensemble spread (the card's σ ranks patches as its std² does: a per-series term does not
 * reorder them), the noise the model removed in the patch, mean((in − out)²), a local noise
 * level, and the output's edge energy in the patch, mean(|∇out|²) (central differences, HU per
 * pixel): where the error follows structure (insert edges, anatomy), not the noise level.
 *
 *   npx tsx scripts/uncertainty/oracle-ranking.ts [--phantoms water,acr,body] [--realisations 8] [--threads 1] [--out <file.json>]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readSliceImage, scanPaths, type Series } from '../../src/dicom/index.js';
import { pairSlices } from '../../src/metrics/slice-pairing.js';
import { spearman, tissuePatchMeans } from '../../src/metrics/uncertainty.js';
import { Denoiser, resolveModelFiles } from '../../src/models/index.js';
import { DEFAULT_PADDING_FILL, fillPadding } from '../../src/padding.js';
import { runSimulate } from '../../src/pipeline/simulate.js';
import { noiseFreeScan } from './noise-free-scan.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PATCH = 16;
const { values: args } = parseArgs({
  options: {
    phantoms: { type: 'string', default: 'water,acr,body' },
    doses: { type: 'string', default: '0.25,0.1' },
    realisations: { type: 'string', default: '8' },
    threads: { type: 'string', default: '1' },
    seed: { type: 'string', default: '0' },
    out: { type: 'string' },
  },
});
const R = Number(args.realisations);
if (!Number.isInteger(R) || R < 3) throw new Error('--realisations must be an integer >= 3');

async function oneSeries(dir: string): Promise<Series> {
  const scan = await scanPaths([dir]);
  if (scan.series.length !== 1) throw new Error(`${dir}: expected one series, found ${scan.series.length}`);
  return scan.series[0]!;
}

const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;

/** |∇x|² by central differences (one-sided at the border), per pixel. */
function gradientEnergy(x: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(rows * columns);
  for (let y = 0; y < rows; y++) {
    for (let c = 0; c < columns; c++) {
      const i = y * columns + c;
      const gx = (x[y * columns + Math.min(columns - 1, c + 1)]! - x[y * columns + Math.max(0, c - 1)]!) / (c > 0 && c < columns - 1 ? 2 : 1);
      const gy = (x[Math.min(rows - 1, y + 1) * columns + c]! - x[Math.max(0, y - 1) * columns + c]!) / (y > 0 && y < rows - 1 ? 2 : 1);
      out[i] = gx * gx + gy * gy;
    }
  }
  return out;
}

/** Mean Spearman over realisations of (leave-one-out mean of the others' patch e², this one's). */
function oracleSpearman(e2: readonly number[][], use: number): { mean: number; min: number } {
  const rhos = e2.map((own, r) => {
    const others = e2.filter((_, j) => j !== r).slice(0, use);
    const predicted = own.map((_, p) => mean(others.map((o) => o[p]!)));
    return spearman(predicted, own);
  });
  return { mean: mean(rhos), min: Math.min(...rhos) };
}

// The card's ensemble size, read from the card (no session needed for it).
const K = (await resolveModelFiles('lowdose-ct')).card.uncertainty?.samples ?? 4;
const model = await Denoiser.load('lowdose-ct', { modality: 'CT', samples: K, seed: Number(args.seed), device: 'cpu', threads: Number(args.threads) });
const scratch = mkdtempSync(path.join(os.tmpdir(), 'oracle-ranking-'));
const results: Record<string, unknown>[] = [];
try {
  for (const phantom of args.phantoms.split(',')) {
    const fixture = path.join(REPO, 'fixtures', phantom);
    const info = JSON.parse(readFileSync(path.join(fixture, 'fixture.json'), 'utf8')) as { simulation: Record<string, Record<string, unknown>> };
    const truth = await oneSeries(path.join(fixture, 'truth'));
    for (const dose of args.doses.split(',').map(Number)) {
      const simulation = info.simulation[`dose${Math.round(dose * 100)}`]!;
      const baseSeed = Number(simulation['seed']);
      // e2[r][patch]: realisation r's mean squared error per tissue patch, every slice's patches in order.
      const e2: number[][] = [];
      const rms: number[] = [];
      const spreadRho: number[] = [];
      const removedRho: number[] = [];
      const edgeRho: number[] = [];
      for (let r = 0; r < R; r++) {
        // Realisation 0 is the committed fixture's own seed; the others are new draws.
        const seed = r === 0 ? baseSeed : 50_000 + 100 * baseSeed + r;
        const outDir = path.join(scratch, `${phantom}-${dose}-${r}`);
        const { result } = await runSimulate([path.join(fixture, 'truth')], { dose, outDir, seed, mode: 'truth' });
        const input = await oneSeries(result.series[0]!.output.dir);
        const patches: number[] = [];
        const spreadPatches: number[] = [];
        const removedPatches: number[] = [];
        const edgePatches: number[] = [];
        let sum = 0;
        let count = 0;
        for (const [t, i] of pairSlices(truth, input).pairs) {
          if (i < 0) continue;
          const low = await readSliceImage(input, i);
          const truthSlice = await readSliceImage(truth, t);
          const reference = noiseFreeScan('CT', truthSlice, truth.slices[t]!.unitsScale, simulation, t);
          const { rows, columns, pixelSpacing } = low;
          const filled = fillPadding(low.data, low.padding, rows, columns, DEFAULT_PADDING_FILL);
          const out = await model.denoise([{ index: i, image: filled, doseLevel: 0 }], { rows, columns, pixelSpacing }, { keepSamples: true });
          const output = out.denoised[0]!;
          const members = out.samples![0]!;
          const err2 = Float32Array.from(output, (v, p) => (v - reference[p]!) ** 2);
          const std2 = Float32Array.from(output, (m, p) => mean(members.map((x) => (x[p]! - m) ** 2)));
          const removed2 = Float32Array.from(output, (v, p) => (filled[p]! - v) ** 2);
          const edge2 = gradientEnergy(output, rows, columns);
          for (const patch of tissuePatchMeans([err2, std2, removed2, edge2], reference, rows, columns, PATCH, 'HU', low.padding ?? null)) {
            patches.push(patch.means[0]!);
            spreadPatches.push(patch.means[1]!);
            removedPatches.push(patch.means[2]!);
            edgePatches.push(patch.means[3]!);
            sum += patch.means[0]! * patch.pixels;
            count += patch.pixels;
          }
        }
        e2.push(patches);
        rms.push(Math.sqrt(sum / count));
        spreadRho.push(spearman(spreadPatches, patches));
        removedRho.push(spearman(removedPatches, patches));
        edgeRho.push(spearman(edgePatches, patches));
        rmSync(outDir, { recursive: true, force: true });
      }
      if (new Set(e2.map((p) => p.length)).size !== 1) throw new Error(`${phantom} ${dose}: realisations have different tissue patches`);
      const all = oracleSpearman(e2, R - 1);
      const half = oracleSpearman(e2, Math.max(2, Math.floor((R - 1) / 2)));
      // How much the expected error varies between patches, against one realisation's scatter about it.
      const expected = e2[0]!.map((_, p) => mean(e2.map((o) => o[p]!)));
      const spread = Math.sqrt(mean(expected.map((v) => (v - mean(expected)) ** 2))) / mean(expected);
      const row = {
        phantom,
        dose,
        realisations: R,
        patches: e2[0]!.length,
        rmsErrorHu: Number(mean(rms).toFixed(2)),
        expectedErrorCv: Number(spread.toFixed(3)),
        oracleSpearman: Number(all.mean.toFixed(3)),
        oracleSpearmanMin: Number(all.min.toFixed(3)),
        oracleSpearmanHalf: Number(half.mean.toFixed(3)),
        spreadSpearman: Number(mean(spreadRho).toFixed(3)),
        removedNoiseSpearman: Number(mean(removedRho).toFixed(3)),
        edgeSpearman: Number(mean(edgeRho).toFixed(3)),
      };
      console.error(JSON.stringify(row));
      results.push(row);
    }
  }
} finally {
  await model.release();
  rmSync(scratch, { recursive: true, force: true });
}
const report = { command: ['npx tsx scripts/uncertainty/oracle-ranking.ts', ...process.argv.slice(2)].join(' '), model: 'lowdose-ct', samples: K, patch: PATCH, results };
if (args.out) writeFileSync(path.resolve(args.out), JSON.stringify(report, null, 1) + '\n');
process.stdout.write(JSON.stringify(report, null, 1) + '\n');

/**
 * Pixel size or noise texture: which one decides whether the CT model beats non-local means on the
 * body phantom? (models/README.md, "Pixel size and noise texture".)
 *
 * For each phantom size (the body phantom's field of view fits the patient, so 256 px are 1.68 mm
 * pixels and 512 px 0.84 mm) and each kind of low-dose noise:
 * - `white`: the server tests' fixture (test/server/fixture-study.ts): white Gaussian noise of
 *   60 HU on the noise-free phantom, scored against the noise-free phantom (what docs/viewer.png
 *   showed until it was remade);
 * - `physics`: `lowdose simulate --mode truth` at 25 % dose (the CT physics, as `lowdose demo`),
 *   scored against the noise-free phantom and against the simulated full-dose scan;
 * the input, NLM and bilateral at their defaults and `lowdose-ct` at its default, seed 1, PSNR /
 * SSIM as `lowdose metrics` computes them (runMetrics).
 *
 * Run: npx tsx scripts/experiments/pixel-size-noise.ts [--sizes 128,256,384,512] [--noise white,physics] [--slices 4]
 * (about 3 minutes on the shared 2-core machine; work files under $TMPDIR, removed at the end).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { runMetrics } from '../../src/pipeline/metrics.js';
import type { DenoiseMethod } from '../../src/pipeline/types.js';
import { writeFixtureStudy } from '../../test/server/fixture-study.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '128,256,384,512' },
    noise: { type: 'string', default: 'white,physics' },
    slices: { type: 'string', default: '4' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const kinds = values.noise.split(',') as Array<'white' | 'physics'>;
const slices = Number(values.slices);
const METHODS: Array<DenoiseMethod | 'input'> = ['input', 'nlm', 'bilateral', 'diffusion'];

const work = mkdtempSync(path.join(os.tmpdir(), 'lowdose-pixel-size-'));
const fmt = (r: { mean: { psnr: number | null; ssim: number } }) => `${r.mean.psnr!.toFixed(2)} / ${r.mean.ssim.toFixed(3)}`;
console.log('| noise | size (pixel) | reference | ' + METHODS.join(' | ') + ' | model - NLM, dB |');
console.log('| --- | --- | --- |' + METHODS.map(() => ' --- |').join('') + ' --- |');
try {
  for (const kind of kinds) {
    for (const size of sizes) {
      const root = path.join(work, `${kind}-${size}`);
      // The fixture's own NLM pass is not needed: each method below is run the same way.
      const study = await writeFixtureStudy(root, { size, slices, lowDose: kind, denoised: 'none' });
      const references: Record<string, string> = { 'noise-free phantom': study.truthDir };
      if (kind === 'physics') references['full-dose scan'] = study.fullDoseDir;
      const outputs = new Map<string, string>([['input', study.lowDoseDir]]);
      for (const method of METHODS.filter((m): m is DenoiseMethod => m !== 'input')) {
        const report = await denoisePaths([study.lowDoseDir], { outDir: path.join(root, method), method, seed: 1, ...(method === 'diffusion' ? { model: 'lowdose-ct' } : {}) });
        outputs.set(method, report.series[0]!.output.dir);
      }
      const mm = study.fullDose.spacing[0].toFixed(2);
      for (const [name, reference] of Object.entries(references)) {
        const cells: string[] = [];
        const psnr = new Map<string, number>();
        for (const method of METHODS) {
          const { result } = await runMetrics({ reference, test: outputs.get(method)! });
          cells.push(fmt(result));
          psnr.set(method, result.mean.psnr!);
        }
        console.log(`| ${kind} | ${size} (${mm} mm) | ${name} | ${cells.join(' | ')} | ${(psnr.get('diffusion')! - psnr.get('nlm')!).toFixed(2)} |`);
      }
      rmSync(root, { recursive: true, force: true });
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

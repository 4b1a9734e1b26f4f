/**
 * lowdose as a package: `npm pack` of a fresh build, installed into an empty project, used from
 * TypeScript (type-checked against the shipped .d.ts) and from plain JavaScript (a real DICOM file,
 * a phantom, a metric and the shipped model, found inside the installed package).
 *
 * Offline: the tarball is installed with `npm install --offline`, its dependencies linked from this
 * checkout's node_modules (only the ones package.json declares, so a runtime import of a
 * devDependency fails here as it would for a user).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampler, denoiseSlices, loadModel, readSliceImage, scanPaths } from '../../src/index.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const CT_SMALL = path.resolve(ROOT, '../shared/dicom/pydicom__pydicom/src/pydicom/data/test_files/CT_small.dcm');
/** pydicom's mean of CT_small.dcm in HU (../shared/dicom/REFERENCE.tsv, modality_mean_frame0). */
const CT_SMALL_MEAN_HU = -119.0739;
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');

interface Manifest {
  name: string;
  version: string;
  main: string;
  types: string;
  exports: Record<string, unknown>;
  files: string[];
  dependencies: Record<string, string>;
}

let work: string;
let project: string;
let manifest: Manifest;
let packed: { files: { path: string }[]; filename: string };

const NPM_ENV = { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' };

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'lowdose-package-'));
  manifest = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as Manifest;

  // A staging copy of what the package ships, with dist/ built fresh from src/ (the checkout's
  // dist/ may be older than the source under test).
  const staging = path.join(work, 'staging');
  await mkdir(staging);
  for (const entry of ['package.json', 'README.md', ...manifest.files.filter((f) => f !== 'dist')]) {
    if (existsSync(path.join(ROOT, entry))) await cp(path.join(ROOT, entry), path.join(staging, entry), { recursive: true });
  }
  await run(process.execPath, [TSC, '-p', path.join(ROOT, 'tsconfig.json'), '--outDir', path.join(staging, 'dist')], { cwd: ROOT });

  const pack = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: staging, env: NPM_ENV });
  [packed] = JSON.parse(pack.stdout) as [typeof packed];

  project = path.join(work, 'project');
  await mkdir(path.join(project, 'node_modules'), { recursive: true });
  await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'uses-lowdose', private: true, type: 'module' }));
  for (const name of Object.keys(manifest.dependencies)) {
    await mkdir(path.dirname(path.join(project, 'node_modules', name)), { recursive: true });
    await symlink(path.join(ROOT, 'node_modules', name), path.join(project, 'node_modules', name), 'dir');
  }
  await run('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', path.join(work, packed.filename)], {
    cwd: project,
    env: NPM_ENV,
  });
}, 600_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('ships the build that main, types and exports point at, the models and the CLI, and no sources or tests', () => {
    const files = new Set(packed.files.map((f) => f.path));
    const exported = manifest.exports['.'] as { types: string; default: string };
    for (const target of [manifest.main, manifest.types, exported.types, exported.default]) {
      expect(files, target).toContain(target.replace(/^\.\//, ''));
    }
    expect(files).toContain('bin/lowdose.js');
    expect(files).toContain('models/lowdose-ct.json');
    expect(files).toContain('models/lowdose-ct.onnx');
    expect(files).toContain('models/lowdose-pet.onnx');
    expect([...files].filter((f) => f.startsWith('src/') || f.startsWith('test/') || f.endsWith('.test.js'))).toEqual([]);
  });

  it('type-checks a TypeScript consumer against the shipped declarations, and rejects misuse', async () => {
    await writeFile(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          noEmit: true,
          // Our own .d.ts are checked; third-party ones are the dependencies' business.
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [path.join(ROOT, 'node_modules/@types')],
        },
        files: ['consumer.ts'],
      }),
    );
    await writeFile(
      path.join(project, 'consumer.ts'),
      `import {
  createSampler, denoisePaths, Denoiser, denoiseSlices, ERROR_CODES, generatePhantom, loadModel, LowdoseError, psnr, readSliceImage,
  runQa, runSimulate, SAMPLER_NAMES, scanPaths, ssim,
  type DenoiseReport, type ErrorCode, type Image2D, type ModelCard, type SamplerName, type Series,
} from 'lowdose';

export async function example(paths: string[]): Promise<number> {
  const scan = await scanPaths(paths);
  const series: Series | undefined = scan.series[0];
  if (!series) return 0;
  const image: Image2D = await readSliceImage(series, 0);
  const model = await loadModel('lowdose-ct', { device: 'cpu' });
  const card: ModelCard = model.card;
  const name: SamplerName = SAMPLER_NAMES[0] ?? 'ddim';
  const result = await denoiseSlices(model, [{ index: 0, image: image.data }], {
    rows: image.rows, columns: image.columns, modality: 'CT', sampler: createSampler(card, { name }), steps: 1, seed: 0,
  });
  const denoised: Float32Array | undefined = result.denoised[0];
  await model.release();
  const denoiser = await Denoiser.load(undefined, { modality: 'CT', steps: 2, texture: 'full-dose', doseLevel: 0.25 });
  const whole: Image2D = await denoiser.denoiseImage(image);
  await denoiser.release();
  void whole;
  const report: DenoiseReport = await denoisePaths(paths, { outDir: 'out', method: 'gaussian' });
  const phantom = generatePhantom('water', { size: 64, slices: 1 });
  const code: ErrorCode = new LowdoseError('E_USAGE', 'x').code;
  void runQa; void runSimulate; void ERROR_CODES; void code; void report; void phantom;
  return denoised ? psnr(image, { ...image, data: denoised }, [-1000, 1000]) + ssim(image, image, [-1000, 1000]) : 0;
}

// The declarations are real types, not any: each line below must be a type error.
// @ts-expect-error steps is a number
void denoisePaths([], { outDir: 'out', steps: 'four' });
// @ts-expect-error not a sampler
export const wrongSampler: SamplerName = 'euler';
// @ts-expect-error not an error code
export const wrongCode: ErrorCode = 'E_NOPE';
// @ts-expect-error not a texture
void Denoiser.load('lowdose-ct', { texture: 'grainy' });
// @ts-expect-error psnr needs a range
psnr({ rows: 1, columns: 1, data: new Float32Array(1) }, { rows: 1, columns: 1, data: new Float32Array(1) });
`,
    );
    const result = await run(process.execPath, [TSC, '-p', project], { cwd: project }).catch((error: { stdout: string; stderr: string }) => error);
    expect(`${result.stdout}${result.stderr}`).toBe('');
  });

  it('runs from plain JavaScript: reads a real DICOM file, makes a phantom, scores it and denoises with the model shipped inside the package', async () => {
    await writeFile(
      path.join(project, 'script.mjs'),
      `import { createSampler, denoiseSlices, generatePhantom, loadModel, LowdoseError, psnr, readSliceImage, roiStats, scanPaths } from 'lowdose';
const file = process.argv[2];
const scan = await scanPaths([file]);
const image = await readSliceImage(scan.series[0], 0);
let sum = 0;
for (const v of image.data) sum += v;

const { volume } = generatePhantom('water', { size: 64, slices: 1, seed: 3 });
const water = { rows: volume.rows, columns: volume.columns, data: volume.slices[0], pixelSpacing: [volume.spacing[0], volume.spacing[1]] };
const centre = roiStats(water, { shape: 'circle', center: [31.5, 31.5], radius: 10 });

const model = await loadModel('lowdose-ct', { device: 'cpu' });
const result = await denoiseSlices(model, [{ index: 0, image: image.data }], {
  rows: image.rows, columns: image.columns, modality: 'CT', sampler: createSampler(model.card), steps: 1, seed: 0,
});
await model.release();

let missing = null;
try { await loadModel('no-such-model'); } catch (error) { missing = { isLowdoseError: error instanceof LowdoseError, code: error.code }; }

console.log(JSON.stringify({
  rows: image.rows, meanHu: sum / image.data.length, device: model.device.used,
  waterMeanHu: centre.mean,
  psnrDenoisedVsInput: psnr(image, { ...image, data: result.denoised[0] }, [-1000, 1000]),
  denoised: Array.from(result.denoised[0]), missing,
}));
`,
    );
    const { stdout } = await run(process.execPath, ['script.mjs', CT_SMALL], { cwd: project, maxBuffer: 64 * 1024 * 1024 });
    const out = JSON.parse(stdout) as {
      rows: number;
      meanHu: number;
      device: string;
      waterMeanHu: number;
      psnrDenoisedVsInput: number;
      denoised: number[];
      missing: { isLowdoseError: boolean; code: string };
    };
    expect(out.rows).toBe(128);
    expect(out.meanHu).toBeCloseTo(CT_SMALL_MEAN_HU, 3);
    expect(Math.abs(out.waterMeanHu)).toBeLessThan(5);
    expect(out.device).toBe('cpu');
    expect(out.missing).toEqual({ isLowdoseError: true, code: 'E_NOT_FOUND' });
    expect(Number.isFinite(out.psnrDenoisedVsInput)).toBe(true);

    // The packaged build computes exactly what the source does.
    const series = (await scanPaths([CT_SMALL])).series[0]!;
    const image = await readSliceImage(series, 0);
    const model = await loadModel('lowdose-ct', { device: 'cpu' });
    try {
      const expected = await denoiseSlices(model, [{ index: 0, image: image.data }], {
        rows: image.rows,
        columns: image.columns,
        modality: 'CT',
        sampler: createSampler(model.card),
        steps: 1,
        seed: 0,
      });
      expect(out.denoised).toEqual(Array.from(expected.denoised[0]!));
    } finally {
      await model.release();
    }
  });

  it("runs docs/api.md's example on a real CT file", async () => {
    const doc = await readFile(path.join(ROOT, 'docs/api.md'), 'utf8');
    const example = /## Example[\s\S]*?```js\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    await writeFile(path.join(project, 'example.mjs'), example!);
    const { stdout } = await run(process.execPath, ['example.mjs', CT_SMALL], { cwd: project });
    expect(stdout).toMatch(/^model lowdose-ct on cpu\nRMSE denoised vs input: \d+\.\d HU\n$/);
  });

  it('installs the lowdose command: info --json reads the same file', async () => {
    const { stdout } = await run(path.join(project, 'node_modules/.bin/lowdose'), ['info', CT_SMALL, '--json'], { cwd: project });
    const info = JSON.parse(stdout) as { series: { modality: string; slices: number }[] };
    expect(info.series.map((s) => [s.modality, s.slices])).toEqual([['CT', 1]]);
  });
});

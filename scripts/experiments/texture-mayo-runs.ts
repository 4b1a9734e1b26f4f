/**
 * The image sets behind the texture experiment on the real AAPM-Mayo pairs (../shared/ldct-mayo):
 * per case (patient x kernel) the full-dose and quarter-dose slices, the shipped model's output
 * under several samplers, and the Gaussian / bilateral / NLM filters tuned on those same slices.
 * Every set is cached as float32 under --cache (default /tmp/lowdose-texture-cache), keyed by its
 * settings and the model file's hash, so the analysis (./texture-mayo.ts) can be rerun cheaply.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SamplerChoice } from '../../src/diffusion/index.js';
import { readSliceImage, scanPaths, type Series } from '../../src/dicom/index.js';
import { classicalDenoise, type ClassicalMethod } from '../../src/filters/index.js';
import { tuneParameter, type TunableParameter } from '../../src/filters/tune.js';
import type { Image2D } from '../../src/image.js';
import { CT_RANGE } from '../../src/metrics/index.js';
import type { Denoiser } from '../../src/models/index.js';
import { ROOT } from './figures.js';
import { makeDirectoriesSync } from '../../src/util/fs.js';

export const MAYO = path.resolve(ROOT, '../shared/ldct-mayo');
export const PATIENTS = ['L143', 'L192'] as const;
export const KERNELS = ['B30f', 'D45f'] as const;
export const DOSE = 0.25;

export interface MayoCase {
  readonly name: string;
  readonly patient: string;
  readonly kernel: string;
  readonly full: Image2D[];
  readonly quarter: Image2D[];
  readonly padding: (Uint8Array | null)[];
}

async function readSeries(dir: string): Promise<{ series: Series; images: Image2D[] }> {
  const scan = await scanPaths([dir]);
  if (scan.series.length !== 1) throw new Error(`${dir}: expected one series, found ${scan.series.length}`);
  const series = scan.series[0]!;
  const images: Image2D[] = [];
  for (let i = 0; i < series.slices.length; i++) images.push(await readSliceImage(series, i));
  return { series, images };
}

export async function loadCase(patient: string, kernel: string): Promise<MayoCase> {
  const base = path.join(MAYO, patient, kernel);
  const full = await readSeries(path.join(base, 'full'));
  const quarter = await readSeries(path.join(base, 'quarter'));
  if (full.images.length !== quarter.images.length) throw new Error(`${base}: ${full.images.length} full, ${quarter.images.length} quarter slices`);
  full.series.slices.forEach((s, i) => {
    const q = quarter.series.slices[i]!;
    if (s.location !== null && q.location !== null && Math.abs(s.location - q.location) > 0.01) {
      throw new Error(`${base}: slice ${i} at ${s.location} mm (full) and ${q.location} mm (quarter)`);
    }
  });
  // Padding (outside the scan field): the same pixels in both; the metrics clip them alike.
  const padding = full.images.map((img) => {
    const mask = new Uint8Array(img.data.length);
    let any = false;
    for (let i = 0; i < mask.length; i++) {
      if (img.data[i]! < -1500) {
        mask[i] = 1;
        any = true;
      }
    }
    return any ? mask : null;
  });
  return { name: `${patient}-${kernel}`, patient, kernel, full: full.images, quarter: quarter.images, padding };
}

export function cacheDir(cache: string, c: MayoCase): string {
  const dir = path.join(cache, c.name);
  makeDirectoriesSync(dir);
  return dir;
}

function saveSet(file: string, images: readonly Float32Array[]): void {
  const n = images[0]!.length;
  const all = new Float32Array(n * images.length);
  images.forEach((img, i) => all.set(img, i * n));
  writeFileSync(file, Buffer.from(all.buffer));
}

function loadSet(file: string, like: readonly Image2D[]): Image2D[] {
  const buf = readFileSync(file);
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const n = like[0]!.data.length;
  return like.map((img, i) => ({ ...img, data: all.slice(i * n, (i + 1) * n) }));
}

/** A cached image set, with what made it (`meta`: for example a filter's tuned parameter). */
export async function cached(
  dir: string,
  key: string,
  like: readonly Image2D[],
  make: () => Promise<{ images: Float32Array[]; meta?: Record<string, unknown> }>,
): Promise<{ images: Image2D[]; meta: Record<string, unknown> }> {
  const file = path.join(dir, `${createHash('sha256').update(key).digest('hex').slice(0, 12)}.f32`);
  if (!existsSync(file) || !existsSync(`${file}.json`)) {
    const started = performance.now();
    const made = await make();
    console.error(`  ${key}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    saveSet(file, made.images);
    writeFileSync(`${file}.json`, JSON.stringify({ key, meta: made.meta ?? {} }));
  }
  const sidecar = JSON.parse(readFileSync(`${file}.json`, 'utf8')) as { meta?: Record<string, unknown> };
  return { images: loadSet(file, like), meta: sidecar.meta ?? {} };
}

export interface ModelRun extends SamplerChoice {
  readonly label: string;
  readonly steps: number;
  readonly seed?: number;
}

/** The shipped model on every quarter-dose slice of a case, slice i with noise stream i (as `denoise` does). */
export async function runModel(model: Denoiser, c: MayoCase, run: ModelRun): Promise<Float32Array[]> {
  const { label: _label, steps, seed, name, ...samplerSettings } = run;
  const denoiser = model.with({ steps, seed: seed ?? 0, doseLevel: DOSE, samplerSettings, ...(name ? { sampler: name } : {}) });
  const out: Float32Array[] = [];
  for (const [index, img] of c.quarter.entries()) {
    const result = await denoiser.denoise([{ index, image: img.data }], img);
    out.push(result.denoised[0]!);
  }
  return out;
}

export const FILTER_GRIDS: Record<ClassicalMethod, { parameter: TunableParameter; candidates: number[] }> = {
  gaussian: { parameter: 'sigmaMm', candidates: [0.3, 0.5, 0.75, 1, 1.25, 1.5, 2] },
  bilateral: { parameter: 'rangeFactor', candidates: [1, 1.5, 2, 3, 4, 6, 8] },
  nlm: { parameter: 'hFactor', candidates: [0.6, 0.8, 1, 1.2, 1.5, 2, 2.5] },
};

/** A filter tuned for mean PSNR ([-1000, 1000] HU) against the full dose on the case's own slices. */
export function tunedFilter(c: MayoCase, method: ClassicalMethod): { value: number; parameter: string; images: Float32Array[] } {
  const grid = FILTER_GRIDS[method];
  const pairs = c.quarter.map((lowDose, i) => ({ lowDose, reference: c.full[i]! }));
  const tuned = tuneParameter(method, grid.parameter, pairs, grid.candidates, { params: { modality: 'CT' }, range: CT_RANGE });
  const images = c.quarter.map((img) => classicalDenoise(method, img, { modality: 'CT', [grid.parameter]: tuned.best }).data);
  return { value: tuned.best, parameter: grid.parameter, images };
}

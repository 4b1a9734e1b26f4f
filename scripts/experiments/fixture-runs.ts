/**
 * What the model-based experiments share: reading a phantom fixture series (fixtures/<phantom>/
 * <dose>/, through QA's reader), denoising all its slices in one `denoiseSlices` call (the denoise
 * pipeline's per-batch call) and scoring against the full-dose series with the CONTRACT metrics.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Texture } from '../../src/choices.js';
import type { SamplerChoice } from '../../src/diffusion/index.js';
import { CT_RANGE, psnr, ssim } from '../../src/metrics/index.js';
import { Denoiser } from '../../src/models/index.js';
import { fixtureSeriesDir, readFixtureInfo, readStack } from '../../src/qa/fixtures.js';
import type { PhantomName, SliceStack } from '../../src/qa/types.js';
import type { DeviceRequest } from '../../src/runtime/index.js';
import { withoutUndefined } from '../../src/util/defined.js';
import { roundTo } from '../../src/util/round.js';
import { ROOT } from './figures.js';

export const FIXTURES_DIR = `${ROOT}/fixtures`;

export async function readFixture(phantom: PhantomName, dose: number | 'truth'): Promise<SliceStack> {
  return readStack(fixtureSeriesDir(readFixtureInfo(FIXTURES_DIR, phantom), dose));
}

export function fixtureGeometry(phantom: PhantomName): Record<string, unknown> {
  return readFixtureInfo(FIXTURES_DIR, phantom).geometry;
}

/** Common options of the model-based experiment scripts. */
export function modelArgs(extra: Record<string, { type: 'string'; default?: string }> = {}) {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'lowdose-ct' },
      device: { type: 'string', default: 'cpu' },
      threads: { type: 'string' },
      seed: { type: 'string', default: '0' },
      ...extra,
    },
  });
  return values as Record<string, string | undefined> & { model: string; device: string; seed: string };
}

/** The model as `lowdose denoise` would load it for CT (Denoiser.load); each run picks its settings with `denoiseStack`. */
export async function openModel(args: { model: string; device: string; threads?: string | undefined }): Promise<Denoiser> {
  const model = await Denoiser.load(args.model, {
    modality: 'CT',
    device: args.device as DeviceRequest,
    ...(args.threads ? { threads: Number(args.threads) } : {}),
  });
  identities.set(model, identify(model));
  console.error(`model ${model.card.name} ${identities.get(model)!.sha256} (${model.card.schedule.kind} schedule, ${model.card.prediction} prediction, sampler ${model.card.sampler.default} ${model.card.sampler.steps} steps) on ${model.device}`);
  return model;
}

type ModelIdentity = { name: string; sha256: string; iterations: unknown };
const identities = new WeakMap<Denoiser, ModelIdentity>();

/**
 * Which model made the numbers: name, training iterations (from the card it was loaded with) and
 * the ONNX file's SHA-256 prefix, taken when it was opened (models/ may be replaced while a script runs).
 */
export function modelIdentity(model: Denoiser): ModelIdentity {
  return identities.get(model) ?? identify(model);
}

function identify(model: Denoiser): ModelIdentity {
  const sha256 = createHash('sha256').update(readFileSync(model.model.files.onnxPath)).digest('hex').slice(0, 16);
  return { name: model.card.name, sha256, iterations: (model.card.training as Record<string, unknown> | undefined)?.iterations ?? null };
}

export interface StackRun {
  readonly denoised: Float32Array[];
  readonly std: Float32Array[] | null;
  readonly msPerSlice: number;
  readonly modelMsPerSlice: number;
}

export interface StackRunOptions extends SamplerChoice {
  readonly steps?: number;
  readonly seed: number;
  readonly guidance?: number;
  readonly samples?: number;
  /** Dose fraction of the input (the model's dose input). */
  readonly dose?: number;
  /** Low-band denoising strength after the model (src/filters/low-band.ts); default the card's. */
  readonly lowBand?: number;
  /** Output texture as `--texture` (default smooth); 'full-dose' assumes `dose` (the card's default without it). */
  readonly texture?: Texture;
}

/** Denoises every slice of a CT stack in one batch, slice i with noise stream i (as denoise does). */
export async function denoiseStack(model: Denoiser, stack: SliceStack, options: StackRunOptions): Promise<StackRun> {
  const { steps, seed, guidance, samples, dose, lowBand, texture, name, ...samplerSettings } = options;
  if (stack.units !== model.normalization.units) throw new Error(`model ${model.card.name} works in ${model.normalization.units}, the stack is in ${stack.units}`);
  const run = model.with({ seed, samplerSettings, ...withoutUndefined({ sampler: name, steps, guidance, samples, doseLevel: dose, lowBand, texture }) });
  const first = stack.slices[0]!;
  const started = performance.now();
  const result = await run.denoise(
    stack.slices.map((s, index) => ({ index, image: s.data })),
    first,
  );
  const n = stack.slices.length;
  return { denoised: result.denoised, std: result.std, msPerSlice: (performance.now() - started) / n, modelMsPerSlice: result.timing.modelMs / n };
}

/** Mean PSNR and SSIM over slices against a reference stack (CONTRACT: CT range [-1000, 1000] HU). */
export function scoreStack(reference: SliceStack, test: readonly Float32Array[]): { psnr: number; ssim: number } {
  let p = 0;
  let s = 0;
  reference.slices.forEach((ref, i) => {
    const t = { rows: ref.rows, columns: ref.columns, data: test[i]! };
    p += psnr(ref, t, CT_RANGE);
    s += ssim(ref, t, CT_RANGE);
  });
  return { psnr: p / reference.slices.length, ssim: s / reference.slices.length };
}

/** roundTo with the experiments' usual three digits. */
export function round(value: number, digits = 3): number {
  return roundTo(value, digits);
}

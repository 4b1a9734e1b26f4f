/**
 * How much of a denoising run is the network itself: runs denoiseBatch and compares the raw
 * forward-pass time (inside onnxruntime's run) with the total. The target is total within
 * 1.15x of the forward time.
 *
 * Run: npx tsx scripts/bench/diffusion-overhead.ts [--model bench-conv|<name>|<path>] [--size 512]
 *        [--batch 2] [--steps 4] [--sampler warm-start|ddim|ddpm] [--samples 1] [--guidance 1]
 *        [--device cpu] [--threads N] [--repeats 3]
 * Default model: test/fixtures-models/bench-conv (4 random 3x3 convolutions, tile 256 / overlap 32).
 * `--model none` replaces the network by one that does nothing (with bench-conv's card and
 * tiling), so the whole time is the engine's own overhead.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createSampler } from '../../src/diffusion/create-sampler.js';
import { denoiseBatch } from '../../src/diffusion/sample.js';
import type { SamplerName } from '../../src/diffusion/sampler.js';
import type { DiffusionModel, ModelBatch } from '../../src/diffusion/model.js';
import { planTiles, TiledModel } from '../../src/diffusion/tiling.js';
import type { ModelCard } from '../../src/models/card.js';
import { loadModel } from '../../src/models/load.js';
import type { DeviceRequest } from '../../src/runtime/devices.js';
import { Rng } from '../../src/util/random.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'bench-conv' },
    size: { type: 'string', default: '512' },
    batch: { type: 'string', default: '2' },
    steps: { type: 'string' },
    sampler: { type: 'string' },
    samples: { type: 'string', default: '1' },
    guidance: { type: 'string', default: '1' },
    device: { type: 'string', default: 'cpu' },
    threads: { type: 'string' },
    repeats: { type: 'string', default: '3' },
  },
});

const nullNetwork = args.model === 'none';
const fixture = path.resolve(import.meta.dirname, '../../test/fixtures-models', `${nullNetwork ? 'bench-conv' : args.model}.json`);
const loaded = await loadModel(existsSync(fixture) ? fixture : args.model, {
  device: args.device as DeviceRequest,
  ...(args.threads ? { threads: Number(args.threads) } : {}),
});
const model: DiffusionModel & { card: ModelCard } = nullNetwork
  ? (() => {
      const stats = { calls: 0, forwardMs: 0 };
      const none = { conditionChannels: loaded.conditionChannels, supportsConditionMask: true, stats, predict: async () => void stats.calls++ };
      const tiled = new TiledModel(none, loaded.card.tile);
      return { conditionChannels: none.conditionChannels, supportsConditionMask: true, stats, card: loaded.card, predict: (b: ModelBatch, o: Float32Array) => tiled.predict(b, o) };
    })()
  : loaded;
const size = Number(args.size);
const batch = Number(args.batch);
const sampler = createSampler(model.card, args.sampler ? { name: args.sampler as SamplerName } : {});
const steps = Number(args.steps ?? model.card.sampler.steps);
const rng = new Rng(1);
const C = model.conditionChannels;
const condition = new Float32Array(batch * C * size * size);
for (let i = 0; i < condition.length; i++) condition[i] = 0.3 * Math.sin(i * 0.001) + 0.05 * rng.normal();

const run = () =>
  denoiseBatch({
    model,
    sampler,
    steps,
    height: size,
    width: size,
    condition,
    sliceIndices: Array.from({ length: batch }, (_, i) => i),
    doseLevel: 0.25,
    seed: 1,
    samples: Number(args.samples),
    guidance: Number(args.guidance),
  });

await run(); // warm-up: session initialisation, JIT
const runs = [];
for (let r = 0; r < Number(args.repeats); r++) runs.push((await run()).timing);
const total = runs.reduce((a, t) => a + t.totalMs, 0);
const forward = runs.reduce((a, t) => a + t.modelMs, 0);
const plan = planTiles(size, size, model.card.tile);
console.log(
  JSON.stringify({
    model: nullNetwork ? 'none (bench-conv card)' : model.card.name,
    device: loaded.device.used,
    size: [size, size],
    tilesPerImage: plan.tilesPerImage,
    batch,
    samples: Number(args.samples),
    guidance: Number(args.guidance),
    sampler: sampler.name,
    steps,
    forwardCallsPerRun: runs[0]!.modelCalls,
    msPerRun: +(total / runs.length).toFixed(1),
    forwardMsPerRun: +(forward / runs.length).toFixed(1),
    msPerSlice: +(total / runs.length / batch).toFixed(1),
    totalOverForward: forward > 0 ? +(total / forward).toFixed(4) : null,
    overheadMsPerStepPerSlice: +((total - forward) / runs.length / steps / batch).toFixed(2),
  }),
);
await loaded.release();

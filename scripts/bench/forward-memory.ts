/**
 * Peak resident memory of one network forward pass, to calibrate the job memory estimate
 * (src/pipeline/memory-budget.ts). One configuration per process, so each peak is its own:
 *
 *   npx tsx scripts/bench/forward-memory.ts --model lowdose-ct --size 256 --batch 4
 *
 * prints one JSON line: { model, size, batch, baselineMb, afterLoadMb, peakMb, perImagePixelBytes }.
 * The peak is sampled every 5 ms while the pass runs (onnxruntime allocates outside the JS heap).
 */
import { loadModel } from '../../src/models/index.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const modelName = arg('model', 'lowdose-ct');
const size = Number(arg('size', '256'));
const batch = Number(arg('batch', '1'));
const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

const baseline = process.memoryUsage().rss;
const model = await loadModel(modelName, { device: 'cpu', threads: 1 });
const afterLoad = process.memoryUsage().rss;
const image = size * size;
const C = model.conditionChannels;
const input = {
  batch,
  height: size,
  width: size,
  sample: new Float32Array(batch * image).map(() => Math.random() - 0.5),
  timestep: new Float32Array(batch).fill(10),
  condition: new Float32Array(batch * C * image).map(() => Math.random() - 0.5),
  doseLevel: new Float32Array(batch),
  conditionMask: new Float32Array(batch).fill(1),
  modality: new Float32Array(batch),
};
const out = new Float32Array(batch * image);
const beforeRun = process.memoryUsage().rss;
let peak = beforeRun;
const timer = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 5);
await model.predict(input, out);
await model.predict(input, out);
clearInterval(timer);
peak = Math.max(peak, process.memoryUsage().rss);
await model.release();
console.log(
  JSON.stringify({
    model: modelName,
    size,
    batch,
    baselineMb: mb(baseline),
    afterLoadMb: mb(afterLoad),
    beforeRunMb: mb(beforeRun),
    peakMb: mb(peak),
    // Growth during the passes per pixel of the batch: the network's activations.
    perImagePixelBytes: Math.round((peak - beforeRun) / (batch * image)),
  }),
);

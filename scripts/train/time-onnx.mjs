// Times one forward pass of a lowdose model ONNX file with onnxruntime-node on the CPU, and checks
// that dynamic batch / height / width work. Usage:
//   node scripts/train/time-onnx.mjs models/lowdose-ct.onnx [size=512] [repeats=5] [threads=2]
// Prints JSON: { model, size, threads, msPerForward: {median, min}, outputShape }.
import * as ort from 'onnxruntime-node';

const [file, sizeArg = '512', repArg = '5', thrArg = '2'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/train/time-onnx.mjs <model.onnx> [size] [repeats] [threads]');
  process.exit(2);
}
const size = Number(sizeArg);
const threads = Number(thrArg);
const session = await ort.InferenceSession.create(file, {
  executionProviders: ['cpu'],
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
});

function feeds(b, h, w) {
  const img = new Float32Array(b * h * w);
  for (let i = 0; i < img.length; i++) img[i] = Math.sin(i * 0.001) * 0.3;
  return {
    sample: new ort.Tensor('float32', img.slice(), [b, 1, h, w]),
    timestep: new ort.Tensor('float32', new Float32Array(b).fill(999), [b]),
    condition: new ort.Tensor('float32', img, [b, 1, h, w]),
    doseLevel: new ort.Tensor('float32', new Float32Array(b).fill(0.25), [b]),
    conditionMask: new ort.Tensor('float32', new Float32Array(b).fill(1), [b]),
  };
}

// Dynamic axes: a non-square odd-multiple size with batch 2 must run.
const check = await session.run(feeds(2, 36, 52));
const outName = session.outputNames[0];
if (check[outName].dims.join(',') !== '2,1,36,52') throw new Error(`dynamic shape failed: ${check[outName].dims}`);

const f = feeds(1, size, size);
await session.run(f); // warm-up
const times = [];
for (let i = 0; i < Number(repArg); i++) {
  const t0 = process.hrtime.bigint();
  await session.run(f);
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({
  model: file, size: [size, size], threads,
  msPerForward: { median: +times[Math.floor(times.length / 2)].toFixed(1), min: +times[0].toFixed(1) },
  outputShape: check[outName].dims,
}));

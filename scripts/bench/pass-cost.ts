/**
 * What one network pass costs against the pixels it is given: the measurement behind the unit of
 * `serve --max-job-passes` (512²-equivalent passes, src/pipeline/compute-budget.ts). Times one
 * forward pass (batch 1) of each shipped network at several image edges, straight through the
 * toolkit's OnnxSession on the CPU, and prints the fastest and median wall time of --repeats runs
 * (after one warm-up) and the median process CPU time of one, each also scaled to 512 x 512 pixels:
 * flat across edges when time grows with pixels. With one thread the CPU time is the pass's own
 * work, which other programs on a shared machine do not stretch as they stretch the wall time. A latent model's network is timed on its latent (edge / factor) and its encoder and
 * decoder on the image.
 *
 *   npx tsx scripts/bench/pass-cost.ts [--threads 1] [--repeats 5] [--json]
 *
 * One thread by default: on a shared machine the fastest of a few single-threaded runs is the
 * steadiest figure.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { latentOf, resolveModelFiles } from '../../src/models/index.js';
import { OnnxSession, type TensorData } from '../../src/runtime/session.js';

const { values } = parseArgs({ options: { threads: { type: 'string', default: '1' }, repeats: { type: 'string', default: '5' }, json: { type: 'boolean' } } });
const threads = Number(values.threads);
const repeats = Number(values.repeats);

/** Image edges per shipped model: CT at 128 to 1024, PET at its native 168 and up. */
const PLAN: ReadonlyArray<{ model: string; edges: readonly number[] }> = [
  { model: 'lowdose-ct', edges: [128, 256, 512, 1024] },
  { model: 'lowdose-pet', edges: [168, 336, 512] },
  { model: 'lowdose-ct-latent', edges: [128, 256, 512, 1024] },
];

interface Row {
  readonly network: string;
  readonly edge: number;
  readonly fastestMs: number;
  readonly medianMs: number;
  /** Process CPU time of one pass (median), the part a loaded machine does not stretch. */
  readonly cpuMs: number;
  readonly msPer512: number;
  readonly cpuMsPer512: number;
}

const random = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);

interface Timing {
  readonly fastestMs: number;
  readonly medianMs: number;
  readonly cpuMs: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function time(session: OnnxSession, feeds: Record<string, TensorData>, outputs: Record<string, TensorData>): Promise<Timing> {
  await session.run(feeds, outputs);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    await session.run(feeds, outputs);
    const used = process.cpuUsage(cpuStarted);
    wall.push(performance.now() - started);
    cpu.push((used.user + used.system) / 1000);
  }
  return { fastestMs: Math.min(...wall), medianMs: median(wall), cpuMs: median(cpu) };
}

const rows: Row[] = [];
const record = (network: string, edge: number, pixels: number, t: Timing) =>
  rows.push({ network, edge, ...t, msPer512: (t.fastestMs * 512 * 512) / pixels, cpuMsPer512: (t.cpuMs * 512 * 512) / pixels });

for (const { model, edges } of PLAN) {
  const { card, onnxPath, cardPath } = await resolveModelFiles(model);
  const latent = latentOf(card);
  const c = latent?.channels ?? 1;
  const session = await OnnxSession.create(onnxPath, { device: 'cpu', threads });
  const codec = latent
    ? {
        encoder: await OnnxSession.create(path.resolve(path.dirname(cardPath), latent.encoder.onnx), { device: 'cpu', threads }),
        decoder: await OnnxSession.create(path.resolve(path.dirname(cardPath), latent.decoder.onnx), { device: 'cpu', threads }),
      }
    : null;
  for (const edge of edges) {
    const side = latent ? edge / latent.factor : edge;
    const dims = [1, c, side, side];
    const feeds: Record<string, TensorData> = {
      [card.inputs.sample.name]: { data: random(c * side * side), dims },
      [card.inputs.condition.name]: { data: random(c * side * side), dims },
    };
    for (const role of ['timestep', 'doseLevel', 'conditionMask', 'modality'] as const) {
      const spec = card.inputs[role];
      if (spec) feeds[spec.name] = spec.dtype === 'int64' ? { data: BigInt64Array.of(500n), dims: [1] } : { data: Float32Array.of(role === 'timestep' ? 500 : 1), dims: [1] };
    }
    record(model, edge, side * side, await time(session, feeds, { [card.output.name]: { data: new Float32Array(c * side * side), dims } }));
    if (latent && codec) {
      const image = { data: random(edge * edge), dims: [1, 1, edge, edge] };
      const code = { data: random(c * side * side), dims };
      record(`${model} encoder`, edge, edge * edge, await time(codec.encoder, { [latent.encoder.input.name]: image }, { [latent.encoder.output.name]: code }));
      record(`${model} decoder`, edge, edge * edge, await time(codec.decoder, { [latent.decoder.input.name]: code }, { [latent.decoder.output.name]: image }));
    }
  }
  await session.release();
  if (codec) await Promise.all([codec.encoder.release(), codec.decoder.release()]);
}

if (values.json) {
  console.log(JSON.stringify({ threads, repeats, rows }, null, 2));
} else {
  console.log(`threads ${threads}, ${repeats} runs after one warm-up: fastest and median wall time, median CPU time`);
  console.log('network                     edge  fastest ms  median ms  CPU ms  fastest ms per 512²  CPU ms per 512²');
  for (const r of rows) {
    const cells = [r.fastestMs.toFixed(1).padStart(11), r.medianMs.toFixed(1).padStart(10), r.cpuMs.toFixed(1).padStart(7), r.msPer512.toFixed(1).padStart(20), r.cpuMsPer512.toFixed(1).padStart(16)];
    console.log(`${r.network.padEnd(26)} ${String(r.edge).padStart(5)} ${cells.join(' ')}`);
  }
}

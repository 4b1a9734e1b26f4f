/**
 * What one network pass costs against the pixels it is given: the measurement behind the unit of
 * `serve --max-job-passes` (512²-equivalent passes, src/pipeline/compute-budget.ts). Times one
 * forward pass (batch 1; a fixed-batch graph its batch) of each shipped network at several image
 * edges, straight through the toolkit's OnnxSession on the CPU, and prints the fastest and median wall time of --repeats runs
 * (after one warm-up) and the median process CPU time of one, each also scaled to 512 x 512 pixels:
 * flat across edges when time grows with pixels. With one thread the CPU time is the pass's own
 * work, which other programs on a shared machine stretch less than the wall time, but not nothing
 * (on the 2-core VM at load average 9, lowdose-ct's CPU time at 512 rose from 239 to 557 ms): the
 * weights are ratios within one run, best taken on a quiet machine, and each block records the
 * load average. A latent model's network is timed on its latent (edge / factor) and its encoder
 * and decoder on the image.
 *
 * THE WEIGHTS: each network's CPU time per pixel it is given, at the pass of a 512 x 512 slice (the
 * image for a pixel model, the latent of the padded image for a latent model's network, the image
 * for its encoder and decoder), over lowdose-ct's at 512 x 512: what one pixel of that network
 * counts in the unit of `serve --max-job-passes`. lowdose-ct is timed first in every run (it is the
 * reference) and its weight is 1 by definition. The weights are printed per card, with the
 * `quality.passCost` block to put into it (src/pipeline/compute-budget.ts reads it).
 *
 *   npx tsx scripts/bench/pass-cost.ts [--threads 1] [--repeats 5] [--model <name or card>]... [--json]
 *
 * Without --model: the shipped networks (lowdose-ct, lowdose-pet, lowdose-ct-latent) at several
 * edges; with it, lowdose-ct at 512 and each named card at 512 (a graph of fixed height and width
 * at its own size, a graph with a fixed batch on its whole batch).
 *
 * One thread by default: on a shared machine the fastest of a few single-threaded runs is the
 * steadiest figure.
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { conditionChannels, latentOf, resolveModelFiles } from '../../src/models/index.js';
import { PASS_COST_REFERENCE as REFERENCE_MODEL, PASS_COST_EDGE as WEIGHT_EDGE } from '../../src/pipeline/compute-budget.js';
import { OnnxSession, type TensorData } from '../../src/runtime/session.js';

const { values } = parseArgs({
  options: { threads: { type: 'string', default: '1' }, repeats: { type: 'string', default: '5' }, model: { type: 'string', multiple: true }, json: { type: 'boolean' } },
});
const threads = Number(values.threads);
const repeats = Number(values.repeats);

/** Image edges per shipped model: CT at 128 to 1024, PET at its native 168 and up; every plan has 512, where the weights are read. */
const SHIPPED: ReadonlyArray<{ model: string; edges: readonly number[] }> = [
  { model: 'lowdose-ct', edges: [128, 256, 512, 1024] },
  { model: 'lowdose-pet', edges: [168, 336, 512] },
  { model: 'lowdose-ct-latent', edges: [128, 256, 512, 1024] },
];
const PLAN = values.model ? [{ model: REFERENCE_MODEL, edges: [WEIGHT_EDGE] }, ...values.model.filter((m) => m !== REFERENCE_MODEL).map((model) => ({ model, edges: [WEIGHT_EDGE] }))] : SHIPPED;

interface Row {
  /** The card's name. */
  readonly model: string;
  readonly part: 'network' | 'encoder' | 'decoder';
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
const record = (model: string, part: Row['part'], edge: number, pixels: number, t: Timing) =>
  rows.push({
    model,
    part,
    network: part === 'network' ? model : `${model} ${part}`,
    edge,
    ...t,
    msPer512: (t.fastestMs * 512 * 512) / pixels,
    cpuMsPer512: (t.cpuMs * 512 * 512) / pixels,
  });
const cards = new Map<string, string>();

for (const { model, edges } of PLAN) {
  const { card, onnxPath, cardPath } = await resolveModelFiles(model);
  cards.set(card.name, cardPath);
  const latent = latentOf(card);
  const c = latent?.channels ?? 1;
  const session = await OnnxSession.create(onnxPath, { device: 'cpu', threads });
  const codec = latent
    ? {
        encoder: await OnnxSession.create(path.resolve(path.dirname(cardPath), latent.encoder.onnx), { device: 'cpu', threads }),
        decoder: await OnnxSession.create(path.resolve(path.dirname(cardPath), latent.decoder.onnx), { device: 'cpu', threads }),
      }
    : null;
  // A graph with a fixed batch is timed on its batch (the pixels of all its images), one with a fixed
  // height and width at that size only.
  const shape = card.inputs.sample.shape;
  const b = typeof shape[0] === 'number' ? shape[0] : 1;
  const conditionC = conditionChannels(card) * c;
  for (const edge of typeof shape[2] === 'number' ? [shape[2] * (latent?.factor ?? 1)] : edges) {
    const side = latent ? edge / latent.factor : edge;
    const dims = [b, c, side, side];
    const feeds: Record<string, TensorData> = {
      [card.inputs.sample.name]: { data: random(b * c * side * side), dims },
      [card.inputs.condition.name]: { data: random(b * conditionC * side * side), dims: [b, conditionC, side, side] },
    };
    for (const role of ['timestep', 'doseLevel', 'conditionMask', 'modality'] as const) {
      const spec = card.inputs[role];
      if (spec) feeds[spec.name] = spec.dtype === 'int64' ? { data: new BigInt64Array(b).fill(500n), dims: [b] } : { data: new Float32Array(b).fill(role === 'timestep' ? 500 : 1), dims: [b] };
    }
    record(card.name, 'network', edge, b * side * side, await time(session, feeds, { [card.output.name]: { data: new Float32Array(b * c * side * side), dims } }));
    if (latent && codec) {
      const image = { data: random(edge * edge), dims: [1, 1, edge, edge] };
      const code = { data: random(c * side * side), dims };
      record(card.name, 'encoder', edge, edge * edge, await time(codec.encoder, { [latent.encoder.input.name]: image }, { [latent.encoder.output.name]: code }));
      record(card.name, 'decoder', edge, edge * edge, await time(codec.decoder, { [latent.decoder.input.name]: code }, { [latent.decoder.output.name]: image }));
    }
  }
  await session.release();
  if (codec) await Promise.all([codec.encoder.release(), codec.decoder.release()]);
}

// The weights: CPU ms per 512² of each network at the 512 x 512 slice's pass over lowdose-ct's there.
// A graph of fixed height and width was timed at its own size only: its weight is read there.
const at512 = (model: string, part: Row['part']) => {
  const timed = rows.filter((r) => r.model === model && r.part === part);
  return timed.find((r) => r.edge === WEIGHT_EDGE) ?? (timed.length === 1 ? timed[0] : undefined);
};
const reference = at512(REFERENCE_MODEL, 'network');
if (!reference) throw new Error(`${REFERENCE_MODEL} was not timed at ${WEIGHT_EDGE}`);
const weightOf = (row: Row | undefined) => (row ? Math.round((row.cpuMsPer512 / reference.cpuMsPer512) * 1000) / 1000 : undefined);
const load = os.loadavg()[0]!.toFixed(1);
const weights = [...cards.keys()].map((model) => {
  const [network, encoder, decoder] = (['network', 'encoder', 'decoder'] as const).map((part) => weightOf(at512(model, part)));
  const passCost = {
    network: network!,
    ...(encoder !== undefined ? { encoder } : {}),
    ...(decoder !== undefined ? { decoder } : {}),
    measuredOn: `CPU time of one forward pass (${threads} thread(s), median of ${repeats} after a warm-up) at the pass of a ${at512(model, 'network')!.edge} x ${at512(model, 'network')!.edge} slice, per pixel given, over ${REFERENCE_MODEL}'s at ${WEIGHT_EDGE} x ${WEIGHT_EDGE} in the same run (${reference.cpuMs.toFixed(1)} ms); ${os.cpus()[0]?.model ?? 'CPU'}, load average ${load}`,
    command: `npx tsx scripts/bench/pass-cost.ts --threads ${threads} --repeats ${repeats}${values.model ? values.model.map((m) => ` --model ${m}`).join('') : ''}`,
  };
  return { model, card: cards.get(model)!, passCost };
});

if (values.json) {
  console.log(JSON.stringify({ threads, repeats, loadAverage: os.loadavg()[0], rows, weights }, null, 2));
} else {
  console.log(`threads ${threads}, ${repeats} runs after one warm-up: fastest and median wall time, median CPU time`);
  console.log('network                     edge  fastest ms  median ms  CPU ms  fastest ms per 512²  CPU ms per 512²');
  for (const r of rows) {
    const cells = [r.fastestMs.toFixed(1).padStart(11), r.medianMs.toFixed(1).padStart(10), r.cpuMs.toFixed(1).padStart(7), r.msPer512.toFixed(1).padStart(20), r.cpuMsPer512.toFixed(1).padStart(16)];
    console.log(`${r.network.padEnd(26)} ${String(r.edge).padStart(5)} ${cells.join(' ')}`);
  }
  console.log(`\nweights (CPU ms per pixel given at the pass of a ${WEIGHT_EDGE} x ${WEIGHT_EDGE} slice / ${REFERENCE_MODEL}'s), load average ${load}: the card's quality.passCost`);
  for (const w of weights) console.log(`${w.model} (${w.card}):\n  "passCost": ${JSON.stringify(w.passCost)}`);
}

/**
 * `lowdose bench` as a library call: how fast and how memory-hungry `denoise` is on this machine.
 * For each model, device, batch size and step count it runs the per-batch call the denoise
 * pipeline makes (`denoiseSlices`: modality units in and out, tiling, sampler, network) on a
 * synthetic phantom slice, after a warm-up run per batch shape, and records wall time, the time
 * inside the network's forward passes and the process's resident memory.
 *
 * The network runs as `denoise` runs it (DENOISE_PIPELINE): on a worker thread. Each configuration
 * is timed twice: one batch at a time (msPerSlice, engine time and CPU: the work of one call), and
 * with two batches in flight as `denoise` keeps them (pipelinedMsPerSlice, networkIdleMsPerSlice:
 * what of that work the network still waits for).
 *
 * Peak memory: `peakRssMb` is the highest RSS sampled (every few ms and at every sampler step)
 * while the configuration ran; `processPeakRssMb` is the process's high-water mark so far
 * (getrusage), which also counts everything that ran before. Both are in MiB (2^20 bytes, as
 * `/usr/bin/time -v`'s kbytes / 1024), whatever the "Mb" of their contract names; the text says MiB.
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { resolveConsistency, type SamplerName, type Texture } from '../diffusion/index.js';
import { LowdoseError, toLowdoseError } from '../errors.js';
import { DEFAULT_MODELS, Denoiser, resolveModelFiles, type Modality, type ModelCard, type SliceInput } from '../models/index.js';
import { DENOISE_PIPELINE, memoryBudgetError, planDenoiseMemory, resolveMemoryBudget, type MemoryRequest } from '../pipeline/memory-budget.js';
import type { Device, DeviceRequest, DeviceSkip } from '../runtime/index.js';
import { withoutUndefined } from '../util/defined.js';
import { roundTo } from '../util/round.js';
import { threadCpuMs } from '../util/thread-cpu.js';
import { medianOf } from '../util/select.js';
import { machineInfo, type MachineInfo } from './machine.js';
import { syntheticSlice, type SyntheticSlice } from './synthetic.js';

/** The dose fraction the synthetic bench slices are taken at (the model's dose input, full-dose texture's d). */
const BENCH_DOSE = 0.25;

/** Default image edge per modality: a CT slice, and the PET training volumes' 168 x 168. */
export const DEFAULT_BENCH_SIZES: Readonly<Record<Modality, number>> = { CT: 512, PT: 168 };
export const DEFAULT_BENCH_STEPS: readonly number[] = [1, 2, 4, 8];
export const DEFAULT_BENCH_BATCHES: readonly number[] = [1, 2, 4];
export const DEFAULT_BENCH_REPEATS = 3;

export interface BenchOptions {
  /** Model names or card / ONNX paths; default: the shipped lowdose-ct and lowdose-pet (missing ones are skipped). */
  readonly models?: readonly string[];
  /** Image edge for every model; default per modality (DEFAULT_BENCH_SIZES). */
  readonly size?: number;
  /** Step counts; the card's default is always added (the headline configuration). */
  readonly steps?: readonly number[];
  /** Batch sizes; 1 is always added. */
  readonly batches?: readonly number[];
  /** Devices to try, each on its own; default ['auto']. */
  readonly devices?: readonly DeviceRequest[];
  /** Overrides the card's sampler. */
  readonly sampler?: SamplerName;
  /** Measurement-consistency strength; default: the card's. */
  readonly consistency?: number;
  /** Flips and turns each prediction is averaged over (1, 2, 4 or 8); default: the card's. */
  readonly orientations?: number;
  /** Low-band denoising strength for CT models (src/filters/low-band.ts); default: the card's. */
  readonly lowBand?: number;
  /** Output texture (default 'smooth'); 'full-dose' adds its per-slice post-step to the timed call. */
  readonly texture?: Texture;
  readonly threads?: number;
  /** Timed runs per configuration (the median is reported); default 3. */
  readonly repeats?: number;
  readonly seed?: number;
  /** Where bare model names are looked up. */
  readonly modelsDir?: string | readonly string[];
  /** Memory budget in bytes (default: LOWDOSE_MEMORY_BUDGET, else half the machine's memory). */
  readonly memoryBudget?: number;
  readonly log?: (message: string) => void;
}

export interface BenchRun {
  readonly model: string;
  readonly modality: Modality;
  readonly device: Device;
  readonly size: [number, number];
  readonly batch: number;
  readonly steps: number;
  readonly sampler: SamplerName;
  /** Measurement-consistency strength (0 = off). */
  readonly consistency: number;
  /** Flips and turns each prediction was averaged over (1 = off). */
  readonly orientations: number;
  /** Low-band denoising strength (0 = off). */
  readonly lowBand: number;
  readonly repeats: number;
  /** Median wall time per slice over the repeats, ms. */
  readonly msPerSlice: number;
  /** Fastest repeat, ms per slice. */
  readonly minMsPerSlice: number;
  readonly slicesPerSecond: number;
  /** Time inside the network's forward passes, per slice, ms (same run as msPerSlice). */
  readonly modelMsPerSlice: number;
  /** Wall time over forward time: the engine's overhead (issue 4's target: at most 1.15). */
  readonly totalOverModel: number | null;
  /**
   * Wall time outside the network's forward passes per slice (median over the repeats of each
   * repeat's total minus its forward time): value mapping, noise, sampler steps, copies, GC.
   */
  readonly engineMsPerSlice: number;
  /**
   * CPU time of the main thread outside the forward passes per slice (mean over the repeats):
   * the same work measured in CPU time, which other processes on a shared machine do not inflate
   * the way they do wall time. Null where the system has no per-thread clock (non-Linux).
   */
  readonly engineCpuMsPerSlice: number | null;
  /**
   * `repeats` batches with two in flight, as `denoise` runs them (the next batch is mapped and
   * noised and the previous one stepped and mapped back while the network runs): wall time per slice.
   */
  readonly pipelinedMsPerSlice: number;
  /**
   * The same run's time between the end of one forward pass and the start of the next, summed and
   * divided by its slices: the engine's work the network still waits for once the pipeline runs
   * (the first batch's preparation and the last one's mapping back, before the first pass and
   * after the last, are in pipelinedMsPerSlice only).
   */
  readonly networkIdleMsPerSlice: number;
  /**
   * The same run's CPU time of the network's thread outside its forward passes, per slice (copying
   * tensors in and out): the part of the engine's work that stays between passes whatever the
   * load, which wall time (networkIdleMsPerSlice) on a shared machine does not show. Null when the
   * network runs on the main thread or the system has no per-thread clock.
   */
  readonly networkThreadCpuMsPerSlice: number | null;
  /** Network forward passes per batch (tiles run as one pass). */
  readonly modelCalls: number;
  readonly peakRssMb: number;
  readonly processPeakRssMb: number;
}

export interface DeviceOutcome {
  readonly model: string;
  readonly requested: DeviceRequest;
  /** The device that ran, or null when none could. */
  readonly used: Device | null;
  /** Devices passed over (by `auto`, or the requested one) and why. */
  readonly skipped: readonly DeviceSkip[];
  /** Why nothing ran, when used is null. */
  readonly reason?: string;
}

export interface BenchReport {
  /** CONTRACT headline: the first model on its first working device, card default steps, batch 1. */
  readonly device: Device;
  readonly model: string;
  readonly size: [number, number];
  readonly steps: number;
  readonly msPerSlice: number;
  readonly slicesPerSecond: number;
  readonly peakRssMb: number;
  readonly batch: number;
  readonly sampler: SamplerName;
  /** Measurement-consistency strength of the headline run (0 = off). */
  readonly consistency: number;
  /** Low-band denoising strength of the headline run (0 = off). */
  readonly lowBand: number;
  readonly texture: Texture;
  readonly modelMsPerSlice: number;
  readonly totalOverModel: number | null;
  readonly engineMsPerSlice: number;
  readonly engineCpuMsPerSlice: number | null;
  readonly pipelinedMsPerSlice: number;
  readonly networkIdleMsPerSlice: number;
  readonly networkThreadCpuMsPerSlice: number | null;
  /** Where the network's forward passes ran: 'worker' (a worker thread, as `denoise` runs it) or 'main'. */
  readonly networkThread: 'worker' | 'main';
  readonly machine: MachineInfo;
  readonly threads: number | null;
  readonly devices: DeviceOutcome[];
  /** Default models that are not installed. */
  readonly skippedModels: Array<{ model: string; reason: string }>;
  readonly runs: BenchRun[];
}

interface Target {
  readonly name: string;
  readonly path: string;
  readonly card: ModelCard;
  readonly modality: Modality;
  readonly size: number;
}

export async function runBench(options: BenchOptions = {}): Promise<BenchReport> {
  const log = options.log ?? (() => {});
  const repeats = options.repeats ?? DEFAULT_BENCH_REPEATS;
  checkPositiveIntegers('repeats', [repeats]);
  const stepsList = options.steps ?? DEFAULT_BENCH_STEPS;
  const batchList = uniqueSorted([1, ...(options.batches ?? DEFAULT_BENCH_BATCHES)]);
  checkPositiveIntegers('steps', stepsList);
  checkPositiveIntegers('batch', batchList);
  if (options.size !== undefined) checkPositiveIntegers('size', [options.size]);
  const devices = options.devices ?? ['auto'];
  const machine = machineInfo();
  const { targets, skippedModels } = await resolveTargets(options);
  for (const s of skippedModels) log(`skipping ${s.model}: ${s.reason}`);
  // Low-band denoising is CT only (denoise refuses it on PET): with no CT model it would change nothing.
  const notCt = targets.filter((t) => t.modality !== 'CT');
  if (options.lowBand !== undefined && options.lowBand > 0 && notCt.length > 0) {
    if (notCt.length === targets.length) {
      throw new LowdoseError('E_USAGE', `low-band denoising is for CT only, and no CT model is benched (${notCt.map((t) => t.name).join(', ')}): leave out --low-band`);
    }
    log(`low-band denoising is for CT only: ${notCt.map((t) => t.name).join(', ')} run${notCt.length === 1 ? 's' : ''} without it (lowBand 0 in ${notCt.length === 1 ? 'its' : 'their'} runs)`);
  }
  const forwardLimits = checkBenchMemory(targets, batchList, options);

  const outcomes: DeviceOutcome[] = [];
  const runs: BenchRun[] = [];
  let headline: BenchRun | null = null;
  const inputs = new Map<string, SyntheticSlice>();
  for (const target of targets) {
    const key = `${target.modality}:${target.size}`;
    let input = inputs.get(key);
    if (!input) {
      log(`making a ${target.size}x${target.size} ${target.modality === 'CT' ? 'body' : 'IEC'} phantom slice`);
      input = syntheticSlice(target.modality, target.size, options.seed ?? 0);
      inputs.set(key, input);
    }
    const steps = uniqueSorted([...stepsList, target.card.sampler.steps]);
    for (const requested of devices) {
      let denoiser: Denoiser;
      try {
        // Bench slices are at dose 0.25 (what full-dose texture assumes, too).
        denoiser = await Denoiser.load(target.path, {
          modality: target.modality,
          device: requested,
          maxForwardPixels: forwardLimits.get(target.path)!,
          seed: options.seed ?? 0,
          doseLevel: BENCH_DOSE,
          worker: DENOISE_PIPELINE.networkOnWorker,
          ...withoutUndefined({ threads: options.threads, sampler: options.sampler, consistency: options.consistency, orientations: options.orientations, texture: options.texture }),
          // Low-band denoising is CT only: a PET model in the same bench keeps its card's (off).
          ...(target.modality === 'CT' ? withoutUndefined({ lowBand: options.lowBand }) : {}),
        });
      } catch (error) {
        const e = toLowdoseError(error);
        if (e.code !== 'E_DEVICE_UNAVAILABLE') throw e;
        outcomes.push({ model: target.name, requested, used: null, skipped: [], reason: e.message });
        log(`${target.name} on ${requested}: unavailable: ${e.message}`);
        continue;
      }
      outcomes.push({ model: target.name, requested, used: denoiser.device, skipped: denoiser.model.device.skipped });
      try {
        for (const run of await benchModel(denoiser, target, input, { ...options, repeats, steps, batches: batchList, log })) {
          runs.push(run);
          if (!headline && run.batch === 1 && run.steps === target.card.sampler.steps) headline = run;
        }
      } finally {
        await denoiser.release();
      }
    }
  }
  if (!headline) {
    const why = outcomes.map((o) => `${o.model} on ${o.requested}: ${o.reason ?? 'no runs'}`).join('; ');
    throw new LowdoseError('E_DEVICE_UNAVAILABLE', `nothing could be benchmarked (${why || 'no models'})`);
  }
  const h: BenchRun = headline;
  return {
    device: h.device,
    model: h.model,
    size: h.size,
    steps: h.steps,
    msPerSlice: h.msPerSlice,
    slicesPerSecond: h.slicesPerSecond,
    peakRssMb: h.peakRssMb,
    batch: h.batch,
    sampler: h.sampler,
    consistency: h.consistency,
    lowBand: h.lowBand,
    texture: options.texture ?? 'smooth',
    modelMsPerSlice: h.modelMsPerSlice,
    totalOverModel: h.totalOverModel,
    engineMsPerSlice: h.engineMsPerSlice,
    engineCpuMsPerSlice: h.engineCpuMsPerSlice,
    pipelinedMsPerSlice: h.pipelinedMsPerSlice,
    networkIdleMsPerSlice: h.networkIdleMsPerSlice,
    networkThreadCpuMsPerSlice: h.networkThreadCpuMsPerSlice,
    networkThread: DENOISE_PIPELINE.networkOnWorker ? 'worker' : 'main',
    machine,
    threads: options.threads ?? null,
    devices: outcomes,
    skippedModels,
    runs,
  };
}

/**
 * The admission rule of `denoise` (src/pipeline/memory-budget.ts) for each model at the largest
 * batch: E_MEMORY_BUDGET before anything runs when it does not fit; else the forward-call cap.
 */
function checkBenchMemory(targets: readonly Target[], batches: readonly number[], options: BenchOptions): Map<string, number> {
  const budget = resolveMemoryBudget(options.memoryBudget);
  const batch = Math.max(...batches);
  const limits = new Map<string, number>();
  for (const target of targets) {
    const shape = { rows: target.size, columns: target.size, slices: batch, modality: target.modality };
    const request: MemoryRequest = {
      method: 'diffusion',
      card: target.card,
      batch,
      samples: 1,
      guidance: target.card.guidance.default,
      orientations: options.orientations ?? target.card.sampler.orientations ?? 1,
      consistency: resolveConsistency(target.card.sampler.consistency, options.consistency) !== null,
      ...DENOISE_PIPELINE,
    };
    const plan = planDenoiseMemory(shape, request, budget.bytes);
    if (!plan.fits) throw memoryBudgetError(plan, budget, shape, request);
    limits.set(target.path, plan.maxForwardPixels);
  }
  return limits;
}

async function resolveTargets(options: BenchOptions): Promise<{ targets: Target[]; skippedModels: Array<{ model: string; reason: string }> }> {
  const explicit = options.models !== undefined && options.models.length > 0;
  const names = explicit ? options.models : [DEFAULT_MODELS.CT, DEFAULT_MODELS.PT];
  const targets: Target[] = [];
  const skippedModels: Array<{ model: string; reason: string }> = [];
  for (const name of names) {
    let resolved;
    try {
      resolved = await resolveModelFiles(name, options.modelsDir);
    } catch (error) {
      const e = toLowdoseError(error);
      if (explicit || e.code !== 'E_NOT_FOUND') throw e;
      skippedModels.push({ model: name, reason: e.message });
      continue;
    }
    // A CT+PT model is benched as CT (the larger image).
    const modality: Modality = resolved.card.modalities.includes('CT') ? 'CT' : 'PT';
    targets.push({
      name: resolved.card.name,
      path: resolved.cardPath,
      card: resolved.card,
      modality,
      size: options.size ?? DEFAULT_BENCH_SIZES[modality],
    });
  }
  if (targets.length === 0) {
    throw new LowdoseError('E_NOT_FOUND', `no model to benchmark: ${skippedModels.map((s) => s.reason).join('; ')}; pass --model`);
  }
  return { targets, skippedModels };
}

interface ModelBenchOptions extends BenchOptions {
  readonly repeats: number;
  readonly steps: readonly number[];
  readonly batches: readonly number[];
  readonly log: (message: string) => void;
}

async function benchModel(denoiser: Denoiser, target: Target, input: SyntheticSlice, options: ModelBenchOptions): Promise<BenchRun[]> {
  if (input.units !== denoiser.normalization.units) {
    throw new LowdoseError('E_MODEL', `model ${target.name} works in ${denoiser.normalization.units}, the bench slice is in ${input.units}`);
  }
  const { sampler, consistency, lowBand, device } = denoiser;
  const runs: BenchRun[] = [];
  const size = input.size;
  const shape = { rows: size, columns: size, pixelSpacing: input.pixelSpacing };
  for (const batch of options.batches) {
    const slices: SliceInput[] = Array.from({ length: batch }, (_, index) => ({
      index,
      image: input.image,
      ...(denoiser.neighbours ? { below: input.image, above: input.image } : {}),
      doseLevel: BENCH_DOSE,
    }));
    // The denoised slices go into arrays reused from call to call, as `denoise` does.
    const outputs = Array.from({ length: batch }, () => new Float32Array(size * size));
    const stats = denoiser.model.stats;
    const once = async (steps: number) => {
      const forwardCpu = stats.forwardCpuMs;
      const workerCpu = stats.workerCpuMs ?? 0;
      const cpu = threadCpuMs();
      const started = performance.now();
      const result = await denoiser.denoise(slices, shape, { steps, outputs });
      const totalMs = performance.now() - started;
      const cpuEnded = threadCpuMs();
      // This thread's CPU outside the forward passes, plus the network thread's outside them (its copies).
      const engineCpuMs =
        cpu !== null && cpuEnded !== null && forwardCpu !== undefined && stats.forwardCpuMs !== undefined
          ? cpuEnded - cpu - (stats.forwardCpuMs - forwardCpu) + ((stats.workerCpuMs ?? 0) - workerCpu)
          : null;
      return { totalMs, modelMs: result.timing.modelMs, modelCalls: result.timing.modelCalls, engineCpuMs };
    };
    // Output arrays for the pipelined run: one set per batch alive at once, as `denoise` has.
    const outputSets = Array.from({ length: DENOISE_PIPELINE.batchesInFlight + 1 }, () =>
      Array.from({ length: batch }, () => new Float32Array(size * size)),
    );
    const session = denoiser.model.session;
    const pipelined = async (steps: number, count: number, afterCall: () => void) => {
      const passes: Array<[number, number]> = [];
      const workerCpu = stats.workerCpuMs;
      session.onPass = (startedAt, endedAt) => passes.push([startedAt, endedAt]);
      const started = performance.now();
      const inFlight: Array<Promise<unknown>> = [];
      try {
        for (let r = 0; r < count; r++) {
          const call = denoiser.denoise(slices, shape, { steps, outputs: outputSets[r % outputSets.length]! }).then(afterCall);
          call.catch(() => undefined);
          inFlight.push(call);
          if (inFlight.length >= DENOISE_PIPELINE.batchesInFlight) await inFlight.shift();
        }
        await Promise.all(inFlight);
      } finally {
        session.onPass = null;
      }
      const totalMs = performance.now() - started;
      let idleMs = 0;
      for (let i = 1; i < passes.length; i++) idleMs += Math.max(0, passes[i]![0] - passes[i - 1]![1]);
      const threadCpuMs = workerCpu === undefined || stats.workerCpuMs === undefined ? null : stats.workerCpuMs - workerCpu;
      return { totalMs, idleMs, threadCpuMs };
    };
    // Warm-up: session initialisation and onnxruntime's per-shape allocations stay out of the numbers.
    await once(options.steps[0]!);
    for (const steps of options.steps) {
      const rss = new RssSampler();
      const timed = [];
      let flow: { totalMs: number; idleMs: number; threadCpuMs: number | null };
      try {
        // RSS is sampled after each call, not from onStep: a call with onStep takes the sampler's
        // unfused path (its last step and the mapping back in two passes), which `denoise` does not.
        for (let r = 0; r < options.repeats; r++) {
          timed.push(await once(steps));
          rss.sample();
        }
        flow = await pipelined(steps, options.repeats, rss.sample);
      } finally {
        rss.stop();
      }
      const sorted = [...timed].sort((a, b) => a.totalMs - b.totalMs);
      const median = medianRepeat(timed);
      const engineMs = medianOf(timed.map((t) => t.totalMs - t.modelMs));
      // The mean, not the median: the kernel advances a running thread's CPU clock at scheduler
      // ticks (src/util/thread-cpu.ts), so one reading is off by up to a tick, but not on average.
      const engineCpu = timed.every((t) => t.engineCpuMs !== null) ? timed.reduce((sum, t) => sum + t.engineCpuMs!, 0) / timed.length : null;
      const msPerSlice = median.totalMs / batch;
      const run: BenchRun = {
        model: target.name,
        modality: target.modality,
        device,
        size: [size, size],
        batch,
        steps,
        sampler: sampler.name,
        consistency: consistency?.strength ?? 0,
        orientations: denoiser.orientations,
        lowBand: lowBand?.strength ?? 0,
        repeats: options.repeats,
        msPerSlice: roundTo(msPerSlice, 2),
        minMsPerSlice: roundTo(sorted[0]!.totalMs / batch, 2),
        slicesPerSecond: roundTo(1000 / msPerSlice, 3),
        modelMsPerSlice: roundTo(median.modelMs / batch, 2),
        totalOverModel: median.modelMs > 0 ? roundTo(median.totalMs / median.modelMs, 3) : null,
        engineMsPerSlice: roundTo(engineMs / batch, 2),
        engineCpuMsPerSlice: engineCpu === null ? null : roundTo(engineCpu / batch, 2),
        pipelinedMsPerSlice: roundTo(flow.totalMs / (options.repeats * batch), 2),
        networkIdleMsPerSlice: roundTo(flow.idleMs / (options.repeats * batch), 2),
        networkThreadCpuMsPerSlice: flow.threadCpuMs === null ? null : roundTo(flow.threadCpuMs / (options.repeats * batch), 2),
        modelCalls: sorted[0]!.modelCalls,
        peakRssMb: roundTo(rss.peakBytes / 2 ** 20, 1),
        processPeakRssMb: roundTo((process.resourceUsage().maxRSS * 1024) / 2 ** 20, 1),
      };
      options.log(
        `${run.model} ${run.device} ${size}x${size} batch ${batch} steps ${steps}: ${run.msPerSlice} ms/slice, ` +
          `total/model ${run.totalOverModel ?? 'n/a'}, engine ${run.engineMsPerSlice} ms/slice ` +
          `(${run.engineCpuMsPerSlice ?? 'n/a'} ms CPU); two batches in flight: ${run.pipelinedMsPerSlice} ms/slice, ` +
          `network idle ${run.networkIdleMsPerSlice} ms/slice (its thread's CPU outside passes ${run.networkThreadCpuMsPerSlice ?? 'n/a'} ms); peak RSS ${run.peakRssMb} MiB`,
      );
      runs.push(run);
    }
  }
  return runs;
}

/**
 * Highest resident set size seen: sampled every few ms by a small worker thread (so that the
 * sampling costs the engine's thread no CPU, and goes on while the network runs) and whenever
 * `sample` is called (after every sampler step, where the JS side holds its buffers).
 */
class RssSampler {
  /** [peak bytes] written by the sampling thread, read here. */
  private readonly shared = new Float64Array(new SharedArrayBuffer(8));
  private readonly worker: Worker;

  constructor(intervalMs = 5) {
    this.shared[0] = process.memoryUsage.rss();
    this.worker = new Worker(
      `const { workerData } = require('node:worker_threads');
       const peak = new Float64Array(workerData.buffer);
       setInterval(() => { const rss = process.memoryUsage.rss(); if (rss > peak[0]) peak[0] = rss; }, workerData.intervalMs);`,
      { eval: true, workerData: { buffer: this.shared.buffer, intervalMs } },
    );
    this.worker.unref();
  }

  get peakBytes(): number {
    return this.shared[0]!;
  }

  readonly sample = (): void => {
    const rss = process.memoryUsage.rss();
    if (rss > this.shared[0]!) this.shared[0] = rss;
  };

  stop(): void {
    this.sample();
    void this.worker.terminate();
  }
}

/**
 * The median repeat by wall time: for an odd count the middle one, for an even count the mean of
 * the two middle ones (wall and network time of the same repeats, so that their ratio is one
 * repeat's). Not the lower middle: with --repeats 2 that would be the faster run.
 */
export function medianRepeat(timed: ReadonlyArray<{ readonly totalMs: number; readonly modelMs: number }>): { totalMs: number; modelMs: number } {
  if (timed.length === 0) throw new RangeError('medianRepeat: no repeats');
  const sorted = [...timed].sort((a, b) => a.totalMs - b.totalMs);
  const half = sorted.length >> 1;
  const middle = sorted.length % 2 === 1 ? [sorted[half]!] : [sorted[half - 1]!, sorted[half]!];
  const mean = (pick: (t: { totalMs: number; modelMs: number }) => number) => middle.reduce((sum, t) => sum + pick(t), 0) / middle.length;
  return { totalMs: mean((t) => t.totalMs), modelMs: mean((t) => t.modelMs) };
}

function uniqueSorted(values: readonly number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

function checkPositiveIntegers(name: string, values: readonly number[]): void {
  if (values.length === 0) throw new LowdoseError('E_USAGE', `bench: ${name} list is empty`);
  for (const v of values) {
    if (!Number.isInteger(v) || v < 1) throw new LowdoseError('E_USAGE', `bench: ${name} must be positive integers, got ${v}`);
  }
}

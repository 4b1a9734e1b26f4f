/**
 * `npm run fuzz -- --count N [--seed S] [--jobs J] [--only i,j,...] [--keep <dir>] [--json]`
 *
 * A seeded mutation fuzzer of the lowdose CLI over the shared DICOM corpus (../shared/dicom): each
 * case is one corpus file mutated (./mutate.ts), then `info --stats --json` and `denoise --method
 * gaussian --json` run on it in a pool of worker processes (./pool.ts), and, when denoise wrote
 * files, `info` on that output. Every case is checked against the contract's rules
 * (./check.ts). Case i of seed S is the same bytes on every machine: `--only i` replays it.
 * `--report` keeps every case's measurements (rewritten every 100 cases), and `--resume <report>`
 * continues an interrupted pass without running its finished cases again.
 * Exit 0 when no case failed, 1 otherwise, 2 for bad usage.
 */
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDicomBytes } from '../../src/dicom/parse.js';
import { Rng } from '../../src/util/random.js';
import { checkCase, type CheckLimits, type Failure } from './check.js';
import { asCt, mutate } from './mutate.js';
import { FuzzWorker, type CommandOutcome } from './pool.js';
import { makeDirectoriesSync } from '../../src/util/fs.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface FuzzOptions {
  readonly count: number;
  readonly seed: number;
  readonly jobs: number;
  readonly corpus: string;
  /** Run only these case indices (replay). */
  readonly only?: readonly number[];
  /** Results of an earlier, interrupted pass with the same seed: their cases are not run again. */
  readonly previous?: readonly CaseResult[];
  /** Save the input bytes of each failing case here. */
  readonly keep?: string;
  readonly limits: CheckLimits;
  /** Hard kill limits for one command: CPU time, wall time, RSS. */
  readonly timeoutMs: number;
  readonly wallTimeoutMs: number;
  readonly killRssMb: number;
  readonly onProgress?: (done: number, total: number, failures: number) => void;
  /** Called with the summary and the results so far every `checkpointEvery` cases and at the end (a long pass keeps a partial report). */
  readonly onCheckpoint?: (summary: FuzzSummary, results: readonly CaseResult[]) => void;
  readonly checkpointEvery?: number;
}

export interface CaseResult {
  readonly index: number;
  readonly file: string;
  readonly steps: string[];
  readonly inputBytes: number;
  readonly commands: Array<{ name: string; code: number | null; ms: number; cpuMs: number; peakRssMb: number; codes: string[] }>;
  readonly maxOutputRatio: number;
  readonly failures: Failure[];
}

interface Distribution {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface FuzzSummary {
  readonly seed: number;
  readonly cases: number;
  readonly failed: number;
  /** Wall time of this process (a resumed pass counts only its own part). */
  readonly wallSeconds: number;
  readonly failures: Array<{ index: number; file: string; steps: string[]; failures: Failure[] }>;
  readonly failureKinds: Record<string, number>;
  /** Per command: how it exited and with which codes. */
  readonly exits: Record<string, Record<string, number>>;
  readonly errorCodes: Record<string, number>;
  /** The first case that gave each error code (to replay with --only). */
  readonly firstCaseByCode: Record<string, number>;
  /** Wall time and CPU time of a case (all its commands), ms. */
  readonly caseMs: Distribution;
  readonly caseCpuMs: Distribution;
  /** CPU time of all commands together (the workers'; the parent's mutating and checking is not in it). */
  readonly cpuSeconds: number;
  readonly peakRssMb: Distribution;
  /** Largest output file over max(input bytes, output pixel bytes). */
  readonly maxOutputRatio: number;
  readonly mutations: Record<string, number>;
  /** Why the pass stopped before its last case (a worker that could not be started), if it did. */
  readonly aborted?: string;
}

interface CorpusFile {
  readonly path: string;
  readonly image: boolean;
  readonly modality: string;
}

/** Every file under the corpus folder (no hidden ones), with whether the toolkit reads it as an image. */
export function loadCorpus(dir: string): CorpusFile[] {
  const files: CorpusFile[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (name.startsWith('.')) continue;
      const full = path.join(d, name);
      const info = statSync(full);
      if (info.isDirectory()) walk(full);
      else if (info.isFile() && info.size > 0 && info.size <= 16 << 20) {
        let image = false;
        let modality = '';
        try {
          const parsed = parseDicomBytes(readFileSync(full), full);
          image = parsed.dataSet.elements.x7fe00010 !== undefined;
          modality = (parsed.dataSet.string('x00080060') ?? '').trim();
        } catch {
          // not readable as it is: still a fine starting point for mutations
        }
        files.push({ path: full, image, modality });
      }
    }
  };
  walk(dir);
  return files;
}

function percentiles(values: number[]): Distribution {
  if (values.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 10) / 10;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: Math.round(sorted[sorted.length - 1]! * 10) / 10 };
}

function filesUnder(dir: string): Array<{ path: string; bytes: number }> {
  const out: Array<{ path: string; bytes: number }> = [];
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const name of names) {
      const full = path.join(d, name);
      const info = statSync(full);
      if (info.isDirectory()) walk(full);
      else out.push({ path: full, bytes: info.size });
    }
  };
  walk(dir);
  return out;
}

/** The bytes of case `index`: which corpus file, and how it was mutated. */
export function makeCase(corpus: readonly CorpusFile[], seed: number, index: number): { file: CorpusFile; bytes: Uint8Array; steps: string[] } {
  const rng = new Rng(seed, index);
  const images = corpus.filter((f) => f.image);
  const pool = images.length > 0 && rng.uniform() < 0.85 ? images : corpus;
  const file = pool[rng.int(pool.length)]!;
  let bytes: Uint8Array = new Uint8Array(readFileSync(file.path));
  const steps: string[] = [];
  // Half the non-CT/PET images are relabelled CT, so that denoise reads and writes them too.
  if (file.image && file.modality !== 'CT' && file.modality !== 'PT' && rng.uniform() < 0.5) {
    bytes = asCt(bytes);
    steps.push('modality=CT');
  }
  const mutation = mutate(bytes, rng);
  return { file, bytes: mutation.bytes, steps: [...steps, ...mutation.steps] };
}

function codesOf(outcome: CommandOutcome): string[] {
  const codes = new Set<string>();
  for (const m of outcome.stdout.matchAll(/"code": "([A-Z_]+)"/g)) codes.add(m[1]!);
  for (const m of outcome.stderr.matchAll(/\[([A-Z_]+)\]$/gm)) codes.add(m[1]!);
  return [...codes].sort();
}

/**
 * The largest pixel block (rows x columns x bytes per sample) among the DICOM files denoise
 * wrote, read from their own headers; null when one of them cannot be parsed.
 */
function outputPixelBytes(outputs: ReadonlyArray<{ path: string }>): number | null {
  let largest = 0;
  for (const output of outputs) {
    if (!output.path.endsWith('.dcm')) continue;
    try {
      const { dataSet } = parseDicomBytes(readFileSync(output.path), output.path);
      const rows = dataSet.uint16('x00280010') ?? 0;
      const columns = dataSet.uint16('x00280011') ?? 0;
      const bits = dataSet.uint16('x00280100') ?? 16;
      largest = Math.max(largest, rows * columns * Math.ceil(bits / 8));
    } catch {
      return null;
    }
  }
  return largest;
}

async function runCase(worker: FuzzWorker, corpus: readonly CorpusFile[], options: FuzzOptions, work: string, index: number): Promise<CaseResult> {
  const { file, bytes, steps } = makeCase(corpus, options.seed, index);
  const dir = path.join(work, `case-${index}`);
  const input = path.join(dir, 'in', 'case.dcm');
  const outDir = path.join(dir, 'out');
  makeDirectoriesSync(path.dirname(input));
  writeFileSync(input, bytes);
  try {
    const commands: Array<{ name: string; outcome: CommandOutcome }> = [];
    const info = await worker.run(['info', input, '--stats', '--json']);
    commands.push({ name: 'info', outcome: info });
    // A file that hangs or floods info is a failed case already; denoise would spend the same
    // 10 s on reading it again, which on a long pass costs more than all the passing cases.
    const denoise = info.killed ? null : await worker.run(['denoise', input, '-o', outDir, '--method', 'gaussian', '--json', '--no-progress']);
    if (denoise) commands.push({ name: 'denoise', outcome: denoise });
    const outputs = filesUnder(outDir);
    // What denoise wrote must itself be readable, also the slices of a series that failed half way.
    const written = outputs.filter((o) => o.path.endsWith('.dcm'));
    if (written.length > 0) commands.push({ name: 'info-output', outcome: await worker.run(['info', path.dirname(written[0]!.path), '--json']) });
    const infoOutput = commands.find((c) => c.name === 'info-output');
    const pixelBytes = outputPixelBytes(outputs);
    const failures = checkCase(commands, outputs, bytes.length, pixelBytes ?? 0, options.limits);
    if (pixelBytes === null) failures.push({ kind: 'output-unreadable', command: 'denoise', detail: 'an output .dcm does not parse' });
    if (infoOutput && infoOutput.outcome.code !== 0 && !failures.some((f) => f.command === 'info-output')) {
      failures.push({ kind: 'output-unreadable', command: 'info-output', detail: `exit ${infoOutput.outcome.code}: ${codesOf(infoOutput.outcome).join(', ')}` });
    }
    if (failures.length > 0 && options.keep) {
      makeDirectoriesSync(options.keep);
      const base = path.join(options.keep, `seed${options.seed}-case${index}`);
      writeFileSync(`${base}.dcm`, bytes);
      writeFileSync(`${base}.json`, `${JSON.stringify({ index, seed: options.seed, file: path.relative(options.corpus, file.path), steps, failures }, null, 2)}\n`);
    }
    return {
      index,
      file: path.relative(options.corpus, file.path),
      steps,
      inputBytes: bytes.length,
      commands: commands.map(({ name, outcome }) => ({
        name,
        code: outcome.code,
        ms: outcome.ms,
        cpuMs: outcome.cpuMs,
        peakRssMb: outcome.peakRssMb,
        codes: codesOf(outcome),
      })),
      maxOutputRatio: outputs.reduce((m, o) => Math.max(m, o.bytes / Math.max(bytes.length, pixelBytes ?? 0, 1)), 0),
      failures,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzSummary> {
  const corpus = loadCorpus(options.corpus);
  if (corpus.length === 0) throw new Error(`no files under ${options.corpus}`);
  const done = new Set((options.previous ?? []).map((r) => r.index));
  const indices = (options.only ? [...options.only] : Array.from({ length: options.count }, (_, i) => i)).filter((i) => !done.has(i));
  const work = path.join(tmpdir(), `lowdose-fuzz-${process.pid}`);
  makeDirectoriesSync(work);
  const started = performance.now();
  const results: CaseResult[] = [...(options.previous ?? [])];
  let next = 0;
  let failed = results.filter((r) => r.failures.length > 0).length;
  let aborted: string | undefined;
  const total = results.length + indices.length;
  const workers = Array.from({ length: Math.max(1, options.jobs) }, () => new FuzzWorker({ timeoutMs: options.timeoutMs, wallTimeoutMs: options.wallTimeoutMs, killRssMb: options.killRssMb }));
  try {
    await Promise.all(
      workers.map(async (worker) => {
        while (next < indices.length && aborted === undefined) {
          const index = indices[next++]!;
          let result: CaseResult;
          try {
            result = await runCase(worker, corpus, options, work, index);
          } catch (error) {
            // Not a case's failure: the fuzzer itself cannot go on (no worker starts). Stop with
            // what was measured, so a rerun with --resume can continue.
            aborted = `case ${index}: ${(error as Error).message}`;
            return;
          }
          results.push(result);
          if (result.failures.length > 0) failed++;
          options.onProgress?.(results.length, total, failed);
          if (options.onCheckpoint && results.length % (options.checkpointEvery ?? 100) === 0) {
            options.onCheckpoint(summarise(options, [...results].sort((a, b) => a.index - b.index), (performance.now() - started) / 1000), results);
          }
        }
      }),
    );
  } finally {
    for (const worker of workers) worker.stop();
    rmSync(work, { recursive: true, force: true });
  }
  results.sort((a, b) => a.index - b.index);
  const base = summarise(options, results, (performance.now() - started) / 1000);
  const summary = aborted === undefined ? base : { ...base, aborted };
  options.onCheckpoint?.(summary, results);
  return summary;
}

function summarise(options: FuzzOptions, results: readonly CaseResult[], wallSeconds: number): FuzzSummary {
  const count = (map: Record<string, number>, key: string) => {
    map[key] = (map[key] ?? 0) + 1;
  };
  const failureKinds: Record<string, number> = {};
  const exits: Record<string, Record<string, number>> = {};
  const errorCodes: Record<string, number> = {};
  const mutations: Record<string, number> = {};
  const firstCaseByCode: Record<string, number> = {};
  for (const r of results) {
    for (const f of r.failures) count(failureKinds, f.kind);
    for (const c of r.commands) {
      exits[c.name] ??= {};
      count(exits[c.name]!, String(c.code));
      for (const code of c.codes) {
        count(errorCodes, code);
        firstCaseByCode[code] ??= r.index;
      }
    }
    for (const step of r.steps) count(mutations, step.replace(/[=@(].*$/, ''));
  }
  return {
    seed: options.seed,
    cases: results.length,
    failed: results.filter((r) => r.failures.length > 0).length,
    wallSeconds: Math.round(wallSeconds * 10) / 10,
    failures: results.filter((r) => r.failures.length > 0).map(({ index, file, steps, failures }) => ({ index, file, steps, failures })),
    failureKinds,
    exits,
    errorCodes,
    firstCaseByCode,
    caseMs: percentiles(results.map((r) => r.commands.reduce((n, c) => n + c.ms, 0))),
    caseCpuMs: percentiles(results.map((r) => r.commands.reduce((n, c) => n + c.cpuMs, 0))),
    cpuSeconds: Math.round(results.reduce((n, r) => n + r.commands.reduce((m, c) => m + c.cpuMs, 0), 0) / 100) / 10,
    peakRssMb: percentiles(results.flatMap((r) => r.commands.map((c) => c.peakRssMb))),
    maxOutputRatio: Math.round(results.reduce((m, r) => Math.max(m, r.maxOutputRatio), 0) * 100) / 100,
    mutations,
  };
}

/** The short fixed-seed pass `npm test` runs (test/fuzz/cli-fuzz.test.ts). */
export const TEST_PASS = { seed: 20250101, cases: 160 } as const;

export const DEFAULT_LIMITS: CheckLimits = { caseMs: 10_000, rssMb: 1024, outputRatio: 4 };

function parseArgs(argv: readonly string[]): FuzzOptions & { json: boolean; report?: string } {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    if (a === '--json') args.set('json', '1');
    else args.set(a.slice(2), argv[++i] ?? '');
  }
  const int = (name: string, fallback: number) => {
    const v = args.has(name) ? Number(args.get(name)) : fallback;
    if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} must be a non-negative integer`);
    return v;
  };
  for (const key of args.keys()) {
    if (!['count', 'seed', 'jobs', 'corpus', 'only', 'keep', 'json', 'report', 'resume', 'timeout-ms', 'rss-limit-mb'].includes(key)) throw new Error(`unknown option --${key}`);
  }
  const only = args.get('only')?.split(',').map((s) => Number(s));
  if (only?.some((n) => !Number.isInteger(n) || n < 0)) throw new Error('--only takes case indices, e.g. --only 12,40');
  const report = args.get('report');
  const keep = args.get('keep');
  const resume = args.get('resume');
  let previous: CaseResult[] | undefined;
  if (resume) {
    const old = JSON.parse(readFileSync(resume, 'utf8')) as { seed?: number; caseResults?: CaseResult[] };
    if (!Array.isArray(old.caseResults)) throw new Error(`--resume ${resume}: no caseResults (write it with --report)`);
    if (old.seed !== int('seed', 1)) throw new Error(`--resume ${resume} is a pass of seed ${old.seed}, not ${int('seed', 1)}`);
    previous = old.caseResults;
  }
  return {
    count: int('count', 100),
    seed: int('seed', 1),
    jobs: int('jobs', Math.min(2, cpus().length)),
    corpus: path.resolve(args.get('corpus') ?? path.join(REPO, '..', 'shared', 'dicom')),
    ...(only ? { only } : {}),
    ...(keep ? { keep: path.resolve(keep) } : {}),
    ...(previous ? { previous } : {}),
    limits: { ...DEFAULT_LIMITS, rssMb: int('rss-limit-mb', DEFAULT_LIMITS.rssMb) },
    timeoutMs: int('timeout-ms', DEFAULT_LIMITS.caseMs),
    // Only a guard against a command that waits forever: a niced pass on a loaded machine gets
    // a small share of a core, so wall time can be many times the CPU time.
    wallTimeoutMs: 30 * int('timeout-ms', DEFAULT_LIMITS.caseMs),
    killRssMb: 2 * int('rss-limit-mb', DEFAULT_LIMITS.rssMb),
    json: args.has('json'),
    ...(report ? { report: path.resolve(report) } : {}),
  };
}

function human(summary: FuzzSummary): string {
  const lines = [
    `${summary.cases} cases, seed ${summary.seed}, ${summary.wallSeconds} s wall, ${summary.cpuSeconds} s CPU in commands: ${summary.failed} failed`,
    `case wall ms  p50 ${summary.caseMs.p50}  p90 ${summary.caseMs.p90}  p99 ${summary.caseMs.p99}  max ${summary.caseMs.max}`,
    `case CPU ms   p50 ${summary.caseCpuMs.p50}  p90 ${summary.caseCpuMs.p90}  p99 ${summary.caseCpuMs.p99}  max ${summary.caseCpuMs.max}`,
    `peak RSS MiB  p50 ${summary.peakRssMb.p50}  p90 ${summary.peakRssMb.p90}  p99 ${summary.peakRssMb.p99}  max ${summary.peakRssMb.max}`,
    `largest output / input: ${summary.maxOutputRatio}`,
    `exits: ${Object.entries(summary.exits).map(([c, e]) => `${c} ${JSON.stringify(e)}`).join('; ')}`,
    `error codes: ${JSON.stringify(summary.errorCodes)}`,
  ];
  for (const f of summary.failures) {
    lines.push(`case ${f.index} (${f.file}; ${f.steps.join(' ')}):`);
    for (const x of f.failures) lines.push(`  ${x.kind} [${x.command}] ${x.detail}`);
  }
  return lines.join('\n');
}

const USAGE = `npm run fuzz -- [--count N] [--seed S] [--jobs J] [--only i,j,...] [--keep <dir>] [--report <file>]
                     [--resume <report>] [--corpus <dir>] [--timeout-ms 10000] [--rss-limit-mb 1024] [--json]
Mutates files of the corpus (default ../shared/dicom) and runs lowdose info and denoise --method
gaussian on each; exit 0 when every case keeps the rules, 1 otherwise (docs/robustness.md).
`;

async function cli(): Promise<number> {
  if (process.argv.includes('--help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  let options: ReturnType<typeof parseArgs>;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`fuzz: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  let lastLine = 0;
  // The report holds every case's measurements too, so an interrupted pass can be resumed exactly.
  const writeReport = (summary: FuzzSummary, results: readonly CaseResult[]) => {
    if (options.report) writeFileSync(options.report, `${JSON.stringify({ ...summary, caseResults: results })}\n`);
  };
  const summary = await runFuzz({
    ...options,
    onCheckpoint: writeReport,
    onProgress: (done, total, failures) => {
      if (done === total || performance.now() - lastLine > 10_000) {
        lastLine = performance.now();
        process.stderr.write(`fuzz: ${done}/${total} cases, ${failures} failed\n`);
      }
    },
  });
  process.stdout.write(options.json ? `${JSON.stringify(summary, null, 2)}\n` : `${human(summary)}\n`);
  if (summary.aborted) process.stderr.write(`fuzz: stopped early: ${summary.aborted} (continue with --resume ${options.report ?? '<report>'})\n`);
  return summary.failed > 0 || summary.aborted ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await cli();
}

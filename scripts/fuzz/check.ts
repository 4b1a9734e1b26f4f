/**
 * The fuzzer's rules for one case, as the CLI contract states them: a command finishes (no
 * crash, no escaped exception), within the time limit and the memory limit, exits 0, 1 or 2, says
 * why with a stable error code (never E_INTERNAL, never a library's own words), and writes no
 * output file larger than a few times its input.
 */
import { ERROR_CODES } from '../../src/errors.js';
import type { CommandOutcome } from './pool.js';

export type FailureKind =
  | 'crash'
  | 'timeout'
  | 'stalled'
  | 'memory'
  | 'exit-code'
  | 'no-error-code'
  | 'unknown-code'
  | 'internal'
  | 'leaky-message'
  | 'output-size'
  | 'output-unreadable';

export interface Failure {
  readonly kind: FailureKind;
  readonly command: string;
  readonly detail: string;
}

export interface CheckLimits {
  /** CPU time of a whole case (all its commands). */
  readonly caseMs: number;
  readonly rssMb: number;
  /**
   * Largest output file as a multiple of its input, the input counted at least as its pixels
   * decoded (rows x columns x 2 bytes: a JPEG input legitimately grows when written uncompressed).
   */
  readonly outputRatio: number;
}

const KNOWN = new Set<string>(ERROR_CODES);

/**
 * Words that belong to a library or to JavaScript, not to a message about a file: the reader's
 * function names, engine errors, stack frames.
 */
const LEAK = /dicomParser[.:]|ByteArrayParser|Maximum call stack|RangeError|TypeError|ReferenceError|Cannot read propert|is not a function|is not iterable|undefined is not|Invalid array length|Array buffer allocation|\bat [\w.<>]+ \(|node:internal|\.(?:ts|js):\d+:\d+/;

interface Reported {
  code: string;
  message: string;
}

function reportedErrors(outcome: CommandOutcome): { json: unknown; errors: Reported[]; stderrCodes: Reported[] } {
  let json: unknown = null;
  try {
    json = outcome.stdout.trim() ? JSON.parse(outcome.stdout) : null;
  } catch {
    json = null;
  }
  const errors: Reported[] = [];
  const collect = (list: unknown) => {
    if (!Array.isArray(list)) return;
    for (const e of list) {
      if (e && typeof e === 'object') errors.push({ code: String((e as Reported).code), message: String((e as Reported).message ?? '') });
    }
  };
  if (json && typeof json === 'object') {
    const j = json as { errors?: unknown; series?: unknown };
    collect(j.errors);
    if (Array.isArray(j.series)) for (const s of j.series) collect((s as { warnings?: unknown })?.warnings);
  }
  // `lowdose: <message> [E_CODE]` is how the CLI reports what stopped a whole command.
  const stderrCodes = [...outcome.stderr.matchAll(/^lowdose: (.*) \[([A-Z_]+)\]$/gm)].map((m) => ({ code: m[2]!, message: m[1]! }));
  return { json, errors, stderrCodes };
}

export function checkCommand(outcome: CommandOutcome, name: string): Failure[] {
  const failures: Failure[] = [];
  const fail = (kind: FailureKind, detail: string) => failures.push({ kind, command: name, detail });
  if (outcome.crash !== undefined) {
    fail('crash', outcome.crash.split('\n').slice(0, 6).join(' | '));
    return failures;
  }
  if (outcome.killed) {
    fail(outcome.killed, `killed after ${Math.round(outcome.cpuMs)} ms CPU (${Math.round(outcome.ms)} ms wall) at ${outcome.peakRssMb} MiB`);
    return failures;
  }
  if (outcome.code !== 0 && outcome.code !== 1 && outcome.code !== 2) {
    fail('exit-code', `exit ${outcome.code}`);
    return failures;
  }
  const { json, errors, stderrCodes } = reportedErrors(outcome);
  const all = [...errors, ...stderrCodes];
  if (outcome.code !== 0 && all.length === 0) {
    fail('no-error-code', `exit ${outcome.code} without an error code${json === null ? ' (no JSON on stdout)' : ''}: ${outcome.stderr.slice(-300)}`);
  }
  for (const e of all) {
    if (!KNOWN.has(e.code)) fail('unknown-code', `${e.code}: ${e.message.slice(0, 300)}`);
    else if (e.code === 'E_INTERNAL') fail('internal', e.message.slice(0, 300));
    const leak = LEAK.exec(e.message);
    if (leak) fail('leaky-message', `[${e.code}] ${e.message.slice(0, 300)}`);
  }
  return failures;
}

export function checkCase(
  commands: ReadonlyArray<{ name: string; outcome: CommandOutcome }>,
  outputs: ReadonlyArray<{ path: string; bytes: number }>,
  inputBytes: number,
  /** The largest rows x columns x bytes per sample among the written DICOM files (0 when none). */
  pixelBytes: number,
  limits: CheckLimits,
): Failure[] {
  const failures = commands.flatMap(({ name, outcome }) => checkCommand(outcome, name));
  const totalMs = commands.reduce((n, c) => n + c.outcome.cpuMs, 0);
  if (totalMs > limits.caseMs && !failures.some((f) => f.kind === 'timeout')) {
    failures.push({ kind: 'timeout', command: 'case', detail: `${Math.round(totalMs)} ms CPU (limit ${limits.caseMs})` });
  }
  for (const { name, outcome } of commands) {
    if (outcome.peakRssMb > limits.rssMb && !failures.some((f) => f.kind === 'memory' && f.command === name)) {
      failures.push({ kind: 'memory', command: name, detail: `peak RSS ${outcome.peakRssMb} MiB (limit ${limits.rssMb})` });
    }
  }
  const base = Math.max(inputBytes, pixelBytes, 1);
  for (const output of outputs) {
    if (output.bytes > limits.outputRatio * base) {
      failures.push({
        kind: 'output-size',
        command: 'denoise',
        detail: `${output.path}: ${output.bytes} bytes from a ${inputBytes}-byte input of ${pixelBytes} pixel bytes (limit ${limits.outputRatio}x)`,
      });
    }
  }
  return failures;
}

/**
 * The CLI's two channels: machine output (JSON) on stdout and nothing else there; progress and
 * human messages on stderr.
 */
import { AUTO_ORDER } from '../runtime/devices.js';
import { DEVICE_REQUESTS, isOneOf } from '../choices.js';
import { LowdoseError, toLowdoseError } from '../errors.js';
import { EXIT_FAILED, EXIT_USAGE } from '../exit-codes.js';
import { parseSeed } from '../util/random.js';

/** The CLI exits with the library's codes; commands take them from here with the rest of their output. */
export { EXIT_FAILED, EXIT_OK, EXIT_USAGE, exitCodeForRun } from '../exit-codes.js';

export interface Output {
  readonly json: boolean;
  /** A human message on stderr. */
  info(message: string): void;
  warn(message: string): void;
  /** Human-readable result text on stdout (only when not --json). */
  print(text: string): void;
  /** The command's machine result on stdout (only when --json). */
  result(value: unknown): void;
}

/**
 * Whether a command has written its JSON result in this process: src/cli/main.ts prints a thrown
 * error's `{ "errors": [...] }` under --json only when nothing was printed before it, so stdout
 * never holds two JSON documents.
 */
let jsonResultWritten = false;

export function resetJsonResultWritten(): void {
  jsonResultWritten = false;
}

export function wasJsonResultWritten(): boolean {
  return jsonResultWritten;
}

export function createOutput(json: boolean): Output {
  return {
    json,
    info: (message) => process.stderr.write(`${message}\n`),
    warn: (message) => process.stderr.write(`warning: ${message}\n`),
    print: (text) => {
      if (!json) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    },
    result: (value) => {
      if (!json) return;
      process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      jsonResultWritten = true;
    },
  };
}

/** Thrown by commands for bad usage or unusable input: exit 2, nothing done. */
export function usageError(message: string): LowdoseError {
  return new LowdoseError('E_USAGE', message);
}

/** Codes that mean "nothing could be done with what was given" (exit 2) rather than a partial failure. */
const USAGE_CODES = new Set(['E_USAGE', 'E_NOT_FOUND', 'E_EXISTS', 'E_LOCKED', 'E_MEMORY_BUDGET', 'E_COMPUTE_BUDGET', 'E_MODEL', 'E_MODEL_MISMATCH', 'E_DEVICE_UNAVAILABLE', 'E_QUEUE_UNAVAILABLE']);

export function exitCodeFor(error: unknown): number {
  const e = toLowdoseError(error);
  return USAGE_CODES.has(e.code) ? EXIT_USAGE : EXIT_FAILED;
}

/** `a | b | c`: an option's choices for --help, from the one list of them (src/choices.ts). */
export function choicesHelp(list: readonly string[]): string {
  return list.join(' | ');
}

/** --help for a --device option. */
export const DEVICE_HELP = `${choicesHelp(DEVICE_REQUESTS)} (auto tries ${AUTO_ORDER.join(', then ')})`;

/** Parsers for option values; they throw usage errors with the option's name. */
export function parseChoiceOption<const T extends readonly string[]>(name: string, list: T) {
  return (text: string): T[number] => {
    if (!isOneOf(list, text)) throw usageError(`${name} must be one of ${list.join(', ')}, got "${text}"`);
    return text;
  };
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

/**
 * A number written in decimal notation (12, -0.5, .5, 1e-3), else NaN. Number(text) would also read
 * '0x1', '0b1' and '0o1' (as 1), '' and ' ' (as 0, which would pass for a real 0) and 'Infinity'.
 */
export function decimalNumber(text: string): number {
  const trimmed = text.trim();
  return DECIMAL.test(trimmed) ? Number(trimmed) : NaN;
}

/**
 * A dose (or count) fraction in (0, 1]. 0 is refused: the model's dose input reads 0 as "unknown",
 * so `--dose 0` would silently run as if no dose were given (leave --dose out for that).
 */
export function parseDoseOption(name: string, optional = true) {
  return (text: string): number => {
    const value = decimalNumber(text);
    if (!(Number.isFinite(value) && value > 0 && value <= 1)) {
      const hint = optional ? ' (leave it out when the dose is unknown)' : '';
      throw usageError(`${name} must be a fraction in (0, 1]${hint}, got "${text}"`);
    }
    return value;
  };
}

export function parseNumberOption(name: string, lo = -Infinity, hi = Infinity) {
  return (text: string): number => {
    const value = decimalNumber(text);
    if (!Number.isFinite(value) || value < lo || value > hi) {
      throw usageError(`${name} must be a number in [${lo}, ${hi}], got "${text}"`);
    }
    return value;
  };
}

export function parseIntOption(name: string, lo = -Infinity, hi = Infinity) {
  return (text: string): number => {
    const value = decimalNumber(text);
    if (!Number.isInteger(value) || value < lo || value > hi) {
      throw usageError(`${name} must be an integer in [${lo}, ${hi}], got "${text}"`);
    }
    return value;
  };
}

/**
 * A --seed value: a decimal integer in [0, MAX_SEED], or any other text hashed to one. A decimal
 * above MAX_SEED is refused (E_USAGE, by parseSeed): read modulo 2^32 it would silently run as
 * another, smaller seed.
 */
export function parseSeedOption(text: string): number {
  return parseSeed(text, 0, '--seed');
}

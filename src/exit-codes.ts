/**
 * Exit codes of docs/contract.md. The library's `run*` functions return one with their
 * result (whether the run was complete, partial, or had nothing to work on); the CLI exits with it.
 */
import { SETTINGS_ERROR_CODES } from './errors.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/**
 * The exit code of a run that reports per-series errors: 0 without errors; 2 when nothing was
 * produced and every error says the settings are unusable (`--model` not found, a device that
 * cannot run, a card that does not fit): nothing done, as for bad usage; else 1.
 */
export function exitCodeForRun(produced: number, errors: ReadonlyArray<{ readonly code: string }>): number {
  if (errors.length === 0) return EXIT_OK;
  return produced === 0 && errors.every((e) => SETTINGS_ERROR_CODES.has(e.code)) ? EXIT_USAGE : EXIT_FAILED;
}

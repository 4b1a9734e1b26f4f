/**
 * A run stopped by its AbortSignal (SIGINT / SIGTERM through src/cli/stop-on-signal.ts, a cohort
 * that ends early): an E_CANCELLED error that carries the run's report as it stands, so the caller
 * can print and record what finished, the series being written (E_CANCELLED) and what was not run.
 * Callers that only know errors (a queue job) see an E_CANCELLED LowdoseError as before.
 */
import { LowdoseError } from '../errors.js';
import { abortReason } from '../util/abort-reason.js';

export class RunStopped<R> extends LowdoseError {
  constructor(
    readonly report: R,
    message: string,
  ) {
    super('E_CANCELLED', message);
  }
}

/** Why `signal` stopped the run, for messages: its reason's message ("interrupted by SIGINT"), else a plain word. */
export function stopReason(signal: AbortSignal | undefined): string {
  return abortReason(signal, 'the run was stopped');
}

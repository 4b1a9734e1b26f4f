/**
 * A run stopped by its AbortSignal (SIGINT / SIGTERM through src/cli/stop-on-signal.ts, a cohort
 * that ends early): an E_CANCELLED error that carries the run's report as it stands, so the caller
 * can print and record what finished, the series being written (E_CANCELLED) and what was not run.
 * Callers that only know errors (a queue job) see an E_CANCELLED LowdoseError as before.
 */
import { LowdoseError } from '../errors.js';

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
  const reason: unknown = signal?.reason;
  return reason instanceof Error && reason.name !== 'AbortError' ? reason.message : 'the run was stopped';
}

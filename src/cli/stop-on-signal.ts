/**
 * SIGINT / SIGTERM as an AbortSignal, the one signal handler of the commands that stop cleanly
 * (`denoise`, `batch --wait`): the first one aborts the signal (E_CANCELLED naming it), so the run
 * stops what it is doing, cleans up and reports (a `batch --wait` stops waiting, through `sleep`);
 * a second one ends the process at once with the shell's status for it.
 */
import { LowdoseError, toLowdoseError } from '../errors.js';
import type { Output } from './output.js';

/** The shell's exit status of a process ended by the signal (128 + its number). */
export const SIGNAL_EXIT: Readonly<Record<'SIGINT' | 'SIGTERM', number>> = { SIGINT: 130, SIGTERM: 143 };

export interface SignalStop {
  readonly signal: AbortSignal;
  /** The signal received, or null. */
  readonly received: 'SIGINT' | 'SIGTERM' | null;
  /** Waits `ms`, or less: it ends when the signal comes (at once if it came). */
  readonly sleep: (ms: number) => Promise<void>;
  dispose(): void;
}

/**
 * `what`: what the first signal stops, for the line it logs ("stopping <what> (SIGINT): <then>; ...");
 * `then`: what happens next.
 */
export function stopOnSignal(what: string, log: (message: string) => void, then = 'what is in progress stops and is cleaned up, then the report is written'): SignalStop {
  const controller = new AbortController();
  let received: 'SIGINT' | 'SIGTERM' | null = null;
  const onSignal = (name: 'SIGINT' | 'SIGTERM') => {
    if (received !== null) process.exit(SIGNAL_EXIT[name]);
    received = name;
    log(`stopping ${what} (${name}): ${then}; ${name} again ends the process at once`);
    controller.abort(new LowdoseError('E_CANCELLED', `interrupted by ${name}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        if (controller.signal.aborted) return resolve();
        const done = () => {
          clearTimeout(timer);
          controller.signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        controller.signal.addEventListener('abort', done, { once: true });
      }),
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * A command stopped before it had a result (`metrics`, `qa`): `message` on stderr and, under --json,
 * `{ "errors": [ E_CANCELLED ] }` on stdout, as a thrown error prints; the exit status is the signal's.
 */
export function reportStopped(out: Output, stop: SignalStop, message: string, path: string | null, setExitCode: (code: number) => void): void {
  const error = new LowdoseError('E_CANCELLED', message);
  out.info(`lowdose: ${message} [E_CANCELLED]`);
  out.result({ errors: [{ ...error.toJSON(), path }] });
  setExitCode(SIGNAL_EXIT[stop.received ?? 'SIGINT']);
}

/**
 * `start` (a connection that a peer may take and never answer: Redis at openQueue) stopped by
 * `stop`'s signal: its value, or, once the signal stopped it, null with `message(why)` reported as
 * reportStopped reports it (path null, exit 130 / 143). An error without the signal is thrown.
 */
export async function startUnlessStopped<T>(
  stop: SignalStop,
  out: Output,
  setExitCode: (code: number) => void,
  start: (signal: AbortSignal) => Promise<T>,
  message: (why: string) => string,
): Promise<T | null> {
  try {
    return await start(stop.signal);
  } catch (error) {
    if (!stop.received) throw error;
    reportStopped(out, stop, message(toLowdoseError(error).message), null, setExitCode);
    return null;
  }
}

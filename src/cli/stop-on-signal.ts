/**
 * SIGINT / SIGTERM as an AbortSignal for a run that can stop cleanly (`denoise` over several PACS
 * studies): the first one aborts the signal (E_CANCELLED naming it), so the run stops what it is
 * doing, cleans up and reports; a second one ends the process at once.
 */
import { LowdoseError } from '../errors.js';

/** The shell's exit status of a process ended by the signal (128 + its number). */
export const SIGNAL_EXIT: Readonly<Record<'SIGINT' | 'SIGTERM', number>> = { SIGINT: 130, SIGTERM: 143 };

export interface SignalStop {
  readonly signal: AbortSignal;
  /** The signal received, or null. */
  readonly received: 'SIGINT' | 'SIGTERM' | null;
  dispose(): void;
}

/** `what`: what the first signal stops, for the line it logs ("stopping <what> (SIGINT) ..."). */
export function stopOnSignal(what: string, log: (message: string) => void): SignalStop {
  const controller = new AbortController();
  let received: 'SIGINT' | 'SIGTERM' | null = null;
  const onSignal = (name: 'SIGINT' | 'SIGTERM') => {
    if (received !== null) process.exit(SIGNAL_EXIT[name]);
    received = name;
    log(`stopping ${what} (${name}): what is in progress stops and is cleaned up, then the report is written; ${name} again ends the process at once`);
    controller.abort(new LowdoseError('E_CANCELLED', `interrupted by ${name}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

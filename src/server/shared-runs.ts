/**
 * One computation per key, shared by every caller that asks while it runs, and stopped once
 * nobody waits for it (./comparison-metrics.ts: a series' metrics, a slice's, a series' value
 * range). Each caller brings its interest as an AbortSignal (an HTTP request's, aborted when its
 * client goes: ./client-gone.ts); once every caller that asked has aborted, the computation's own
 * signal aborts, and it stops at its next check. A caller without a signal keeps it running. A
 * computation that succeeds stays as the key's answer (its result is cached) unless `forgetSettled`
 * (a PACS pull: the next open retrieves what changed); one that fails is forgotten, so the next
 * caller starts afresh.
 */
interface Run<T> {
  readonly promise: Promise<T>;
  readonly controller: AbortController;
  waiting: number;
  settled: boolean;
}

export class SharedRuns<T> {
  private readonly runs = new Map<string, Run<T>>();

  /** `forgetSettled`: a run that succeeded is forgotten too, so only callers that ask while it runs share it. */
  constructor(private readonly options: { readonly forgetSettled?: boolean } = {}) {}

  /** The answer for `key`: the computation under way or done, else a new one (`start`). */
  join(key: string, start: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    let run = this.runs.get(key);
    // A run every caller gave up on is not joined: it may fail for having been given up.
    if (!run || (!run.settled && run.controller.signal.aborted)) run = this.start(key, start);
    run.waiting++;
    if (signal) this.watch(run, signal);
    return run.promise;
  }

  private start(key: string, start: (signal: AbortSignal) => Promise<T>): Run<T> {
    const controller = new AbortController();
    const run: Run<T> = { promise: start(controller.signal), controller, waiting: 0, settled: false };
    this.runs.set(key, run);
    run.promise.then(
      () => {
        run.settled = true;
        if (this.options.forgetSettled && this.runs.get(key) === run) this.runs.delete(key);
      },
      () => {
        run.settled = true;
        if (this.runs.get(key) === run) this.runs.delete(key);
      },
    );
    return run;
  }

  /** Counts `signal`'s caller out of `run` when it aborts; the last one out stops the run. */
  private watch(run: Run<T>, signal: AbortSignal): void {
    const release = () => {
      run.waiting--;
      if (run.waiting === 0 && !run.settled) run.controller.abort();
    };
    if (signal.aborted) {
      release();
      return;
    }
    signal.addEventListener('abort', release, { once: true });
    const forget = () => signal.removeEventListener('abort', release);
    run.promise.then(forget, forget);
  }
}

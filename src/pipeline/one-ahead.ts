/**
 * Runs tasks in order with the next one started ahead: each task has a first part (a PACS study's
 * listing and pull) and a second part behind a gate (its denoising and store). Task i's gate opens
 * once task i-1 has ended, so the second parts run one after another as before; task i+1 starts
 * once task i has passed its gate (or has ended, and task i-1 too). So while one task is in its
 * second part, at most the next one is in its first: a several-study run pulls one study ahead,
 * and holds at most two studies' pull folders (./pacs-studies.ts).
 *
 * `stopped()` is asked before each start: once it is true no task starts, and the tasks not
 * started resolve to null. A task's own failure is its result's business (`start` should not
 * throw); a rejection counts as the task's end and is passed on by its slot.
 */

interface Slot<T> {
  readonly promise: Promise<T | null>;
  readonly resolve: (value: T | null) => void;
  readonly reject: (error: unknown) => void;
}

function slot<T>(): Slot<T> {
  let resolve!: (value: T | null) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T | null>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Settles when `promise` does, either way. */
const ended = (promise: Promise<unknown>): Promise<void> => promise.then(
  () => undefined,
  () => undefined,
);

/**
 * Starts task 0 and returns one promise per task, in order: its result, or null when it was not
 * started because `stopped()` was true by then. Every promise settles once each started task has
 * ended, so awaiting all of them leaves nothing running.
 */
export function runOneAhead<T>(count: number, start: (index: number, gate: () => Promise<void>) => Promise<T>, stopped: () => boolean): Array<Promise<T | null>> {
  const slots = Array.from({ length: count }, () => slot<T>());
  const launch = (index: number): void => {
    if (index >= count) return;
    if (stopped()) {
      for (const s of slots.slice(index)) s.resolve(null);
      return;
    }
    const previous = index === 0 ? Promise.resolve() : ended(slots[index - 1]!.promise);
    let passed!: () => void;
    const atGate = new Promise<void>((resolve) => (passed = resolve));
    const run = Promise.resolve().then(() =>
      start(index, async () => {
        await previous;
        passed();
      }),
    );
    run.then(slots[index]!.resolve, slots[index]!.reject);
    // The next task: once this one is past its gate, or it has ended and so has the one before it.
    void Promise.race([atGate, ended(run).then(() => previous)]).then(() => launch(index + 1));
  };
  launch(0);
  return slots.map((s) => s.promise);
}

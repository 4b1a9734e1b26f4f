/**
 * Runs the tasks given one `key` one after another, in the order they came, within this process: for
 * a resource only one may hold at a time (a TCP port a listener binds). Tasks of other keys run
 * alongside. A task that fails does not stop the next.
 */
const tails = new Map<string, Promise<unknown>>();

export function oneAtATime<T>(key: string, task: () => Promise<T>): Promise<T> {
  const before = tails.get(key) ?? Promise.resolve();
  const run = before.then(task, task);
  const tail = run.then(
    () => {},
    () => {},
  );
  tails.set(key, tail);
  // The last task of a key leaves no entry behind.
  void tail.then(() => {
    if (tails.get(key) === tail) tails.delete(key);
  });
  return run;
}

/** Worker-thread entry of `ServerWorker` (./worker-pool.ts): runs tasks off the server's event loop. */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { toLowdoseError } from '../errors.js';
import { runTask, type TaskName, type WorkerTasks } from './worker-tasks.js';

// The metrics thread runs at the lowest priority (Linux nices threads one by one): on a busy
// machine the series means may wait, the slices someone is scrolling through may not.
if ((workerData as { lowPriority?: boolean } | null)?.lowPriority) {
  try {
    setPriority(19);
  } catch {
    // not permitted here: run at normal priority
  }
}

// One task at a time, in order: a long one (a hostile upload) delays the next, never overlaps it.
let queue: Promise<void> = Promise.resolve();
parentPort!.on('message', (request: { id: number; task: TaskName; input: WorkerTasks[TaskName]['input'] }) => {
  queue = queue.then(async () => {
    try {
      parentPort!.postMessage({ id: request.id, output: await runTask(request.task, request.input) });
    } catch (error) {
      const e = toLowdoseError(error);
      parentPort!.postMessage({ id: request.id, error: { code: e.code, message: e.message } });
    }
  });
});

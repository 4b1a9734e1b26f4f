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
      const output = await runTask(request.task, request.input);
      parentPort!.postMessage({ id: request.id, output }, ownBytes(output));
    } catch (error) {
      const e = toLowdoseError(error);
      parentPort!.postMessage({ id: request.id, error: { code: e.code, message: e.message } });
    }
  });
});

/**
 * A task's bytes that own their whole buffer (a figure's PNG) are moved to the server's thread, not
 * copied: receiving a copy of 100 MB would hold its event loop for a few hundred ms.
 */
function ownBytes(output: unknown): ArrayBuffer[] {
  if (!(output instanceof Uint8Array) || !(output.buffer instanceof ArrayBuffer)) return [];
  return output.byteOffset === 0 && output.byteLength === output.buffer.byteLength ? [output.buffer] : [];
}

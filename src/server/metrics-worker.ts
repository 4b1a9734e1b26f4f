/** Worker-thread entry of `MetricsWorker`: scores slices off the server's event loop. */
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { toLowdoseError } from '../errors.js';
import { scoreSlice, type SliceScoreInput } from './slice-scores.js';

// Lowest priority for this thread alone (Linux nices threads one by one): on a busy machine the
// series means may wait, the slices someone is scrolling through may not.
try {
  setPriority(19);
} catch {
  // not permitted here: run at normal priority
}

parentPort!.on('message', (request: { id: number; input: SliceScoreInput }) => {
  try {
    parentPort!.postMessage({ id: request.id, output: scoreSlice(request.input) });
  } catch (error) {
    const e = toLowdoseError(error);
    parentPort!.postMessage({ id: request.id, error: { code: e.code, message: e.message } });
  }
});

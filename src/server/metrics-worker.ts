/** Worker-thread entry of `MetricsWorker`: scores slices off the server's event loop. */
import { parentPort } from 'node:worker_threads';
import { toLowdoseError } from '../errors.js';
import { scoreSlice, type SliceScoreInput } from './slice-scores.js';

parentPort!.on('message', (request: { id: number; input: SliceScoreInput }) => {
  try {
    parentPort!.postMessage({ id: request.id, output: scoreSlice(request.input) });
  } catch (error) {
    const e = toLowdoseError(error);
    parentPort!.postMessage({ id: request.id, error: { code: e.code, message: e.message } });
  }
});

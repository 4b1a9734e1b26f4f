/** Worker-thread entry of `SimulationPool`: runs slice jobs and sends results back. */
import { parentPort } from 'node:worker_threads';
import { toLowdoseError } from '../errors.js';
import { runSliceJob, type SliceInput, type SliceJob } from './slice-job.js';

interface Request {
  readonly id: number;
  readonly job: SliceJob;
  readonly input: SliceInput;
}

parentPort!.on('message', (request: Request) => {
  try {
    const output = runSliceJob(request.job, request.input);
    const transfer = [output.lowDose.buffer, ...(output.fullDose && output.fullDose !== output.lowDose ? [output.fullDose.buffer] : [])];
    parentPort!.postMessage({ id: request.id, output }, transfer as ArrayBuffer[]);
  } catch (error) {
    const e = toLowdoseError(error);
    parentPort!.postMessage({ id: request.id, error: { code: e.code, message: e.message } });
  }
});

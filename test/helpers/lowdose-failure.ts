/** The LowdoseError a promise rejects with, as { code, message }; any other outcome fails the test. */
import { isLowdoseError } from '../../src/errors.js';

export async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (!isLowdoseError(error)) throw error;
    return { code: error.code, message: error.message };
  }
  throw new Error('expected a LowdoseError');
}

/**
 * The free space the server keeps on its work folder's disk (ServerConfig.limits.diskReserveBytes):
 * uploads (./routes/uploads.ts) and job outputs (./jobs/output-room.ts, with the outputs promised to
 * the jobs queued or running) are refused (507 E_IO) when they would take the disk below it.
 */
import { statfs } from 'node:fs/promises';
import { LowdoseError } from '../errors.js';
import { formatBytes } from '../util/bytes.js';
import { withHttpStatus } from './http-errors.js';

/** Bytes free to an unprivileged writer on the disk that holds `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}

/**
 * 507 E_IO: `free` bytes on the disk, `reserve` kept free, `promised` of the free bytes to the
 * outputs of that many jobs queued or running; `what` does not fit ("the upload").
 */
export function diskFullError(free: number, reserve: number, what: string, promised?: { bytes: number; jobs: number }): LowdoseError {
  const promise = promised ? `, and ${formatBytes(promised.bytes)} of it is promised to the output of ${promised.jobs} queued or running job(s)` : '';
  return withHttpStatus(new LowdoseError('E_IO', `the server's disk has ${formatBytes(free)} free and keeps ${formatBytes(reserve)} free${promise}; ${what} does not fit`), 507);
}

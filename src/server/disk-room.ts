/**
 * The free space the server keeps on its work folder's disk (ServerConfig.limits.diskReserveBytes):
 * uploads (./routes/uploads.ts) and job outputs (./jobs/output-estimate.ts, ./plugins/jobs.ts) are
 * refused (507 E_IO) when they would take the disk below it.
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

/** 507 E_IO: `free` bytes on the disk, `reserve` kept free; `what` does not fit ("the upload"). */
export function diskFullError(free: number, reserve: number, what: string): LowdoseError {
  return withHttpStatus(new LowdoseError('E_IO', `the server's disk has ${formatBytes(free)} free and keeps ${formatBytes(reserve)} free; ${what} does not fit`), 507);
}

/** Refuses (diskFullError) `incoming` more bytes under `dir` when they would leave less than `reserve` free. */
export async function checkDiskRoom(dir: string, reserve: number, incoming: number, what: string): Promise<void> {
  const free = await freeBytes(dir);
  if (free - incoming < reserve) throw diskFullError(free, reserve, what);
}

/** Processes for tests of the owner checks (src/util/owner-tag.ts). */
import { spawn } from 'node:child_process';

/** The id of a process that has run and ended. */
export async function endedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

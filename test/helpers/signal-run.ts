/** The CLI (src through tsx) in a child process that a test signals at a known point of its run. */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { spawnCli } from './cli-process.js';

export interface SignalledRun {
  /** The exit status, or the signal that ended the process. */
  readonly code: number | string | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `lowdose <args>` and sends `signal` once `when` holds: a test on the stderr so far (checked as
 * stderr comes; if it ever holds), or a promise that resolves (a request held at a proxy); null never
 * sends. `signalled` is called once the run has logged that it took the signal; `printed` with the
 * stdout so far as it comes.
 */
export function runUntil(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  when: ((stderr: string) => boolean) | Promise<void> | null,
  signal: NodeJS.Signals = 'SIGINT',
  signalled: () => void = () => {},
  printed: (stdout: string) => void = () => {},
): Promise<SignalledRun> {
  let sent = false;
  let printedSoFar = '';
  const send = () => {
    if (sent) return;
    sent = true;
    run.child.kill(signal);
  };
  const run = spawnCli(args, {
    env,
    onOutput: (stdout, stderr) => {
      if (stdout !== printedSoFar) {
        printedSoFar = stdout;
        printed(stdout);
      }
      if (typeof when === 'function' && when(stderr)) send();
      if (stderr.includes(`(${signal}): `)) signalled();
    },
  });
  if (when instanceof Promise) void when.then(send);
  return run.done.then(({ code, signal: killedBy, stdout, stderr }) => ({ code: code ?? killedBy, stdout, stderr }));
}

/** Every file and folder under `dir`, relative, hidden ones too. */
export function listAll(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

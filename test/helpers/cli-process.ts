/**
 * The CLI in its own process, as a user runs it (src through tsx, from the repository root): for
 * tests that signal it, run two at once, or need a process of its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const REPO = path.resolve(import.meta.dirname, '../..');

const MAIN = "const { main } = await import('./src/cli/main.ts'); process.exitCode = await main(['node', 'lowdose', ...process.argv.slice(1)]);";

/** Node's arguments that run `lowdose <args>` from the sources (cwd: REPO), for spawn / spawnSync. */
export function cliArgv(args: readonly string[]): string[] {
  return ['--import', 'tsx', '--input-type=module', '-e', MAIN, ...args];
}

export interface CliProcess {
  readonly child: ChildProcess;
  /** Once the process has ended: its exit status, the signal that ended it (else null), all it printed. */
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  readonly stdout: () => string;
  readonly stderr: () => string;
}

/**
 * `lowdose <args>` started in a child process, `env` over this process's environment; `onOutput`
 * is called with the stdout and stderr so far each time either grows.
 */
export function spawnCli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; onOutput?: (stdout: string, stderr: string) => void } = {}): CliProcess {
  const child = spawn(process.execPath, cliArgv(args), { cwd: REPO, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    options.onOutput?.(stdout, stderr);
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
    options.onOutput?.(stdout, stderr);
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done, stdout: () => stdout, stderr: () => stderr };
}

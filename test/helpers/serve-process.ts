/** `lowdose serve` as a user starts it: a child process from the source, `--port 0 --json`. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const REPO = path.resolve(import.meta.dirname, '../..');
const SCRIPT = "const { main } = await import('./src/cli/main.ts'); process.exitCode = await main(['node', 'lowdose', ...process.argv.slice(1)]);";

export interface ServeProcess {
  readonly child: ChildProcess;
  /** The URL it printed as JSON once listening. */
  readonly url: string;
  /** Its stderr so far (the log). */
  readonly log: { readonly stderr: string };
  /** Its exit code once it has exited. */
  readonly exited: Promise<number | null>;
}

/** Starts `lowdose serve --port 0 --json ...args` and resolves once it prints its URL (rejects if it exits first). */
export async function startServe(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT, 'serve', '--port', '0', '--json', ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let stdout = '';
  const log = { stderr: '' };
  child.stderr!.on('data', (chunk: Buffer) => (log.stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const { url } = await new Promise<{ url: string }>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      try {
        resolve(JSON.parse(stdout) as { url: string });
      } catch {
        // not all of it yet
      }
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code}: ${log.stderr}`)));
  });
  return { child, url, log, exited };
}

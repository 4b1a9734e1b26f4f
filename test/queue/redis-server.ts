/**
 * A throw-away redis-server for tests: loopback, a free port, a temporary folder. Without
 * persistence by default; `persistent` runs it with the append-only file docs/scale-out.md asks
 * for, so `crash()` then `restart()` (same port, same folder) finds the queue again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnCli } from '../helpers/cli-process.js';
import { ExitedBeforeReady, withFreshPorts, type PortChooser } from '../helpers/ports.js';

export const REDIS_SERVER = '/usr/bin/redis-server';
export const hasRedis = existsSync(REDIS_SERVER);

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** Kills the server with SIGKILL (no shutdown save): what a crash or an OOM kill does. */
  crash(): Promise<void>;
  /** Starts the server again on the same port and folder; resolves once it accepts connections. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface TestRedisOptions {
  /** appendonly yes, appendfsync everysec (docs/scale-out.md's setting); default: no persistence. */
  readonly persistent?: boolean;
  /** requirepass: clients must give this password. */
  readonly password?: string;
  /** Where the port comes from (default freePort); tests of the retry inject a taken one. */
  readonly choosePort?: PortChooser;
}

interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

async function launch(port: number, dir: string, persistent: boolean, password?: string): Promise<Running> {
  const persistence = persistent ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no'];
  const auth = password !== undefined ? ['--requirepass', password] : [];
  const child: ChildProcess = spawn(
    REDIS_SERVER,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--maxmemory-policy', 'noeviction', '--dir', dir, ...auth],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new ExitedBeforeReady(`redis-server exited (${code}) on port ${port} before it was ready:\n${output}`)));
  });
  return { child, exited };
}

/**
 * Starts redis-server on a fresh port; when it exits before it is ready (another process took the
 * port between freePort and its bind), again on a fresh port, four times in all (withFreshPorts).
 * `restart()` keeps the port: the clients hold its URL.
 */
export async function startRedis(options: TestRedisOptions = {}): Promise<TestRedis> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lowdose-redis-'));
  const persistent = options.persistent ?? false;
  let port = 0;
  let running: Running | null;
  try {
    running = await withFreshPorts(
      'redis-server',
      1,
      async ([chosen]) => {
        port = chosen!;
        return launch(port, dir, persistent, options.password);
      },
      { choosePort: options.choosePort },
    );
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const end = async (signal: NodeJS.Signals) => {
    if (!running) return;
    running.child.kill(signal);
    await running.exited;
    running = null;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    crash: () => end('SIGKILL'),
    restart: async () => {
      await end('SIGTERM');
      running = await launch(port, dir, persistent, options.password);
    },
    stop: async () => {
      await end('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Resolves once the worker has connected and takes jobs; rejects if it exits first. */
  readonly ready: Promise<void>;
  events(): Array<{ event: string; job: string }>;
  stderr(): string;
}

/** A `lowdose worker --json --threads 1` child process (run from the sources with tsx). */
export function spawnWorker(url: string, ...extra: string[]): WorkerProcess {
  let isReady = () => {};
  const { child, done, stdout, stderr } = spawnCli(['worker', '--redis', url, '--json', '--threads', '1', ...extra], {
    onOutput: (_, err) => {
      if (err.includes('worker ready on')) isReady();
    },
  });
  const ready = new Promise<void>((resolve, reject) => {
    isReady = resolve;
    void done.then(({ code }) => reject(new Error(`worker exited (${code}) before it was ready:\n${stderr()}`)));
  });
  // A test that never awaits `ready` must not see an unhandled rejection when the worker ends.
  ready.catch(() => {});
  const worker: WorkerProcess = {
    child,
    done,
    ready,
    events: () =>
      stdout()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { event: string; job: string }),
    stderr,
  };
  return worker;
}

/** Ends a worker with SIGTERM: it finishes its job, exits 0. */
export async function stopWorker(worker: WorkerProcess): Promise<{ code: number | null; stderr: string }> {
  if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGTERM');
  return worker.done;
}


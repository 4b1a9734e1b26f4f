/**
 * Worker processes for the fuzzer, each running CLI commands in-process (./worker.ts). Per
 * command the parent measures wall time, CPU time and peak RSS: it resets the worker's peak
 * (`/proc/<pid>/clear_refs`, "5") before the command and reads VmHWM after, and it samples VmRSS
 * meanwhile so that a runaway command is killed at a hard limit before it takes the machine.
 * Time limits are on CPU time (user + system, /proc/<pid>/stat), which a shared, loaded machine
 * does not inflate the way it inflates wall time; a command that waits without using the CPU is
 * killed at a wall-clock limit. A killed or crashed worker is replaced.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WorkerReply } from './worker.js';

export interface CommandOutcome {
  readonly argv: string[];
  /** Exit code; null when the command did not finish (killed or crashed). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  /** CPU time (user + system) of the worker during the command. */
  readonly cpuMs: number;
  /** Peak resident set size during the command, MiB (the worker's, baseline included). */
  readonly peakRssMb: number;
  /** timeout: over the CPU time limit; stalled: over the wall-clock limit without using that much CPU. */
  readonly killed?: 'timeout' | 'stalled' | 'memory';
  readonly crash?: string;
}

export interface PoolLimits {
  /** A command that has used this much CPU time is killed. */
  readonly timeoutMs: number;
  /** A command still running after this long (wall clock) is killed. */
  readonly wallTimeoutMs: number;
  /** A worker whose RSS passes this is killed at once (protects the machine). */
  readonly killRssMb: number;
}

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const SAMPLE_MS = 25;
/** Commands a worker runs before it is replaced, so state cannot drift over a long pass. */
const RECYCLE_AFTER = 400;
/**
 * A worker whose resting RSS (after gc) has grown past this is replaced: memory freed by a large
 * case often stays mapped (malloc keeps it), and every later command's peak would include it.
 */
const RECYCLE_RSS_KB = 400 * 1024;
const START_ATTEMPTS = 3;

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** User + system CPU time of a process, ms. */
function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

function resetPeak(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // Not Linux, or not allowed: the peak then includes earlier commands (an overestimate).
  }
}

export class FuzzWorker {
  private child: ChildProcess | null = null;
  private commands = 0;
  private nextId = 1;

  constructor(private readonly limits: PoolLimits) {}

  /** Starts a worker; a start that fails (the machine is short of memory, files are being replaced) is retried. */
  private async start(): Promise<void> {
    let last: Error | null = null;
    for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 2000 * attempt));
      try {
        await this.startOnce();
        return;
      } catch (error) {
        last = error as Error;
      }
    }
    throw new Error(`a fuzz worker could not be started (${START_ATTEMPTS} attempts): ${last?.message}`);
  }

  private startOnce(): Promise<void> {
    const child = fork(WORKER, [], {
      execArgv: ['--import', 'tsx', '--expose-gc'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, LOWDOSE_DEBUG: '' },
    });
    // Outside a command a worker writes nothing that matters (tsx warnings); the tail is kept for
    // the error when it cannot start, and reading it keeps the pipe from filling.
    let stderrTail = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString()).slice(-2000);
    });
    this.child = child;
    this.commands = 0;
    return new Promise((resolve, reject) => {
      const onMessage = (message: WorkerReply) => {
        if (message.id !== -1) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve();
      };
      const onExit = (code: number | null) => {
        this.child = null;
        reject(new Error(`worker exited (${code}) before it was ready: ${stderrTail.trim().split('\n').slice(-3).join(' | ')}`));
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  }

  async run(argv: string[]): Promise<CommandOutcome> {
    const resting = this.child?.pid ? statusKb(this.child.pid, 'VmRSS') : 0;
    if (!this.child || this.child.exitCode !== null || this.commands >= RECYCLE_AFTER || resting > RECYCLE_RSS_KB) {
      this.stop();
      await this.start();
    }
    const child = this.child!;
    const pid = child.pid!;
    const id = this.nextId++;
    this.commands++;
    resetPeak(pid);
    const started = performance.now();
    const cpuStart = cpuMsOf(pid);
    let cpuNow = cpuStart;
    let sampledKb = 0;
    return new Promise<CommandOutcome>((resolve) => {
      let killed: CommandOutcome['killed'];
      const finish = (outcome: Omit<CommandOutcome, 'argv' | 'ms' | 'cpuMs' | 'peakRssMb'>) => {
        clearInterval(sampler);
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        const ms = performance.now() - started;
        const cpuMs = Math.max(cpuNow, cpuMsOf(pid)) - cpuStart;
        const peakKb = Math.max(sampledKb, statusKb(pid, 'VmHWM'));
        resolve({ argv, ms, cpuMs, peakRssMb: Math.round(peakKb / 102.4) / 10, ...outcome });
      };
      const onMessage = (reply: WorkerReply) => {
        if (reply.id !== id && reply.id !== -1) return;
        if (reply.crash !== undefined) {
          finish({ code: null, stdout: '', stderr: '', crash: reply.crash });
          return;
        }
        finish({ code: reply.code ?? null, stdout: reply.stdout ?? '', stderr: reply.stderr ?? '' });
      };
      const onExit = (code: number | null, signal: string | null) => {
        this.child = null;
        finish({
          code: null,
          stdout: '',
          stderr: '',
          ...(killed ? { killed } : { crash: `worker exited (code ${code}, signal ${signal}) during the command` }),
        });
      };
      const kill = (why: 'timeout' | 'stalled' | 'memory') => {
        killed = why;
        child.kill('SIGKILL');
      };
      const sampler = setInterval(() => {
        const kb = statusKb(pid, 'VmRSS');
        sampledKb = Math.max(sampledKb, kb);
        if (kb > this.limits.killRssMb * 1024) kill('memory');
        cpuNow = Math.max(cpuNow, cpuMsOf(pid));
        if (cpuNow - cpuStart > this.limits.timeoutMs) kill('timeout');
      }, SAMPLE_MS);
      const timer = setTimeout(() => kill('stalled'), this.limits.wallTimeoutMs);
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ type: 'run', id, argv });
    });
  }

  stop(): void {
    if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
    this.child = null;
  }
}

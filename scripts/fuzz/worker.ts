/**
 * A fuzz pool worker: a child process (node --import tsx --expose-gc) that runs lowdose CLI
 * commands in-process, one at a time, as the parent sends them over IPC, and answers with the
 * exit code and what the command wrote on stdout and stderr. An exception that escapes the CLI
 * (uncaught or an unhandled rejection) is reported as a crash and ends the worker; the parent
 * starts a new one. Memory is measured by the parent (/proc/<pid>/status), not here.
 */
import { main } from '../../src/cli/main.js';

interface RunMessage {
  readonly type: 'run';
  readonly id: number;
  readonly argv: string[];
}

export interface WorkerReply {
  readonly id: number;
  readonly code?: number;
  readonly stdout?: string;
  readonly stderr?: string;
  /** An exception that escaped main(): the fuzzer's "crash". */
  readonly crash?: string;
}

let current: number | null = null;
let stdout = '';
let stderr = '';
const realStdout = process.stdout.write.bind(process.stdout);
const realStderr = process.stderr.write.bind(process.stderr);
// Bound the capture: a runaway writer must not take the worker's memory with it.
const CAPTURE_LIMIT = 1 << 20;
process.stdout.write = ((chunk: string | Uint8Array) => {
  if (current === null) return realStdout(chunk);
  if (stdout.length < CAPTURE_LIMIT) stdout += String(chunk);
  return true;
});
process.stderr.write = ((chunk: string | Uint8Array) => {
  if (current === null) return realStderr(chunk);
  if (stderr.length < CAPTURE_LIMIT) stderr += String(chunk);
  return true;
});

function crash(error: unknown): void {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.send?.({ id: current ?? -1, crash: text } satisfies WorkerReply, () => process.exit(70));
}
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);
// The parent is gone (killed, crashed): nobody will read the results.
process.on('disconnect', () => process.exit(0));

process.on('message', (message: RunMessage) => {
  if (message.type !== 'run') return;
  current = message.id;
  stdout = '';
  stderr = '';
  void main(['node', 'lowdose', ...message.argv]).then((code) => {
    const reply: WorkerReply = { id: message.id, code, stdout, stderr };
    current = null;
    // Back to the baseline before the parent resets the peak for the next command.
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.(reply);
  }, crash);
});

process.send?.({ id: -1, code: 0 } satisfies WorkerReply);

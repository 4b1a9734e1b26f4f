/** Runs a built lowdose CLI (`bin`) in a child process: its exit code, wall time in ms, stdout and stderr. */
import { spawn } from 'node:child_process';

export function runTimed(bin: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; ms: number; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += String(c)));
    child.stderr.on('data', (c) => (stderr += String(c)));
    child.on('exit', (code) => resolve({ code, ms: performance.now() - started, stderr, stdout }));
  });
}

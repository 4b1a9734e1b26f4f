/**
 * Runs a built lowdose CLI (`bin`) in a child process: its exit code, wall time in ms, stdout and
 * stderr, and, where GNU time is installed (/usr/bin/time), the process's peak resident memory in
 * KiB (its maximum RSS, worker threads included; null without it).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const GNU_TIME = '/usr/bin/time';

export async function runTimed(
  bin: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; ms: number; stderr: string; stdout: string; peakRssKib: number | null }> {
  const scratch = existsSync(GNU_TIME) ? await mkdtemp(path.join(os.tmpdir(), 'lowdose-timed-')) : null;
  const rssFile = scratch ? path.join(scratch, 'rss') : null;
  const [command, ...rest] = rssFile ? [GNU_TIME, '-f', '%M', '-o', rssFile, process.execPath, bin, ...args] : [process.execPath, bin, ...args];
  const result = await new Promise<{ code: number | null; ms: number; stderr: string; stdout: string }>((resolve) => {
    const started = performance.now();
    const child = spawn(command!, rest, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += String(c)));
    child.stderr.on('data', (c) => (stderr += String(c)));
    child.on('exit', (code) => resolve({ code, ms: performance.now() - started, stderr, stdout }));
  });
  let peakRssKib: number | null = null;
  if (rssFile && scratch) {
    const text = await readFile(rssFile, 'utf8').catch(() => '');
    const kib = Number(text.trim().split('\n').pop());
    peakRssKib = Number.isFinite(kib) && kib > 0 ? kib : null;
    await rm(scratch, { recursive: true, force: true });
  }
  return { ...result, peakRssKib };
}

/** `lowdose serve` as a user runs it: loopback by default, --json prints the URL, SIGTERM stops it. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asWord } from '../helpers/as-word.js';
import { writeFixtureStudy } from './fixture-study.js';

const REPO = path.resolve(import.meta.dirname, '../..');
let root: string;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-serve-cli-'));
  await writeFixtureStudy(path.join(root, 'data'), { size: 32, slices: 2, denoised: 'none' });
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('lowdose serve', () => {
  it('listens on 127.0.0.1, prints its URL as JSON, serves the data and stops on SIGTERM', async () => {
    const script = "const { main } = await import('./src/cli/main.ts'); process.exitCode = await main(['node', 'lowdose', ...process.argv.slice(1)]);";
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script, 'serve', '--port', '0', '--json', '--data', path.join(root, 'data'), '--work', path.join(root, 'work')],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const { url } = await new Promise<{ url: string }>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        try {
          resolve(JSON.parse(stdout) as { url: string });
        } catch {
          // not all of it yet
        }
      });
      void exited.then((code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const health = (await (await fetch(`${url}/api/health`)).json()) as { status: string; studies: number };
      expect(health).toMatchObject({ status: 'ok', studies: 1 });
      // fetch may not set Host; a DNS-rebinding page would arrive with its own name there.
      const foreign = await new Promise<number>((resolve, reject) =>
        http.get(`${url}/api/studies`, { headers: { host: 'attacker.example' } }, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject),
      );
      expect(foreign).toBe(400);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toContain(`lowdose viewer at ${url}`);
    expect(stderr).not.toMatch(asWord('DOE'));
    expect(stderr).not.toContain(root);
  });
});

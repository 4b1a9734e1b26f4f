/** `lowdose serve` as a user runs it: loopback by default, --json prints the URL, SIGTERM / SIGINT stop it (exit 143 / 130). */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asWord } from '../helpers/as-word.js';
import { runCli } from '../helpers/cli.js';
import { startServe as startServeProcess } from '../helpers/serve-process.js';
import { writeFixtureStudy } from './fixture-study.js';

let root: string;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-serve-cli-'));
  await writeFixtureStudy(path.join(root, 'data'), { size: 32, slices: 2, denoised: 'none' });
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** `lowdose serve` over the fixture study with its work folder `work` and `extra` arguments. */
const startServe = (work: string, ...extra: string[]) => startServeProcess(['--data', path.join(root, 'data'), '--work', path.join(root, work), ...extra]);

/** The status of one request to `url` with exactly these headers (fetch would set Host and Origin itself). */
function statusOf(url: string, method: string, headers: Record<string, string>): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const request = http.request(url, { method, headers }, (res) => (res.resume(), resolve(res.statusCode ?? 0)));
    request.on('error', reject);
    request.end();
  });
}

describe('lowdose serve', () => {
  it('listens on 127.0.0.1, prints its URL as JSON, serves the data and stops on SIGTERM with exit 143', async () => {
    const { child, url, log, exited } = await startServe('work');
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const health = (await (await fetch(`${url}/api/health`)).json()) as { status: string; studies: number };
      expect(health).toMatchObject({ status: 'ok', studies: 1 });
      // fetch may not set Host; a DNS-rebinding page would arrive with its own name there.
      expect(await statusOf(`${url}/api/studies`, 'GET', { host: 'attacker.example' })).toBe(400);
    } finally {
      child.kill('SIGTERM');
    }
    // The shell's status for SIGTERM, as every other command stopped by it (docs/contract.md, "Stopping a run").
    expect(await exited).toBe(143);
    expect(log.stderr).toContain('stopping the server (SIGTERM)');
    expect(log.stderr).toContain(`lowdose viewer at ${url}`);
    expect(log.stderr).not.toMatch(asWord('DOE'));
    expect(log.stderr).not.toContain(root);
  });

  it('behind an https reverse proxy named by --trust-proxy and --allow-host, takes writes from the origin the proxy serves', async () => {
    const { child, url, exited } = await startServe('work-proxy', '--trust-proxy', '127.0.0.1', '--allow-host', 'Viewer.Example.org');
    const refresh = `${url}/api/studies/refresh`;
    // What an nginx in front (proxy_set_header Host $host; X-Forwarded-Proto $scheme) passes on.
    const proxied = { host: 'viewer.example.org', origin: 'https://viewer.example.org', 'x-forwarded-proto': 'https', 'x-forwarded-for': '192.0.2.7' };
    try {
      expect(await statusOf(`${url}/api/studies`, 'GET', { host: 'viewer.example.org' })).toBe(200);
      expect(await statusOf(refresh, 'POST', proxied)).toBe(200);
      // The same write without the proxy's scheme: the browser's https origin is not this http server's.
      const { 'x-forwarded-proto': _, ...withoutScheme } = proxied;
      expect(await statusOf(refresh, 'POST', withoutScheme)).toBe(400);
      // Names beyond the allowed ones stay refused, forwarded headers or not.
      expect(await statusOf(`${url}/api/studies`, 'GET', { host: 'attacker.example', 'x-forwarded-host': 'viewer.example.org' })).toBe(400);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(143);

    // Without --trust-proxy the forwarded scheme is not believed.
    const plain = await startServe('work-plain', '--allow-host', 'viewer.example.org');
    try {
      expect(await statusOf(`${plain.url}/api/studies/refresh`, 'POST', proxied)).toBe(400);
    } finally {
      plain.child.kill('SIGINT');
    }
    // Ctrl-C: 130.
    expect(await plain.exited).toBe(130);
    expect(plain.log.stderr).toContain('stopping the server (SIGINT)');
  });

  it('refuses a --trust-proxy or --allow-host it cannot read with exit 2', async () => {
    for (const args of [
      ['--trust-proxy', 'proxy.example'],
      ['--trust-proxy', '10.0.0.0/33'],
      ['--allow-host', 'https://viewer.example.org'],
      ['--allow-host', 'viewer.example.org:443'],
    ]) {
      const run = await runCli('serve', '--port', '0', ...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toContain(args[0]);
    }
  });
});

/**
 * A Redis that takes the connection and never answers (test/helpers/stalled-tcp.ts): SIGINT /
 * SIGTERM while `batch`, `batch status`, `worker` or `serve --redis` waits for its first answer
 * stops the wait (src/queue/connection.ts, whenReachable) and the command ends as every stopped
 * command does: E_CANCELLED on stderr and under --json, the signal's exit status (130 / 143), the
 * connection dropped, nothing queued or served. The CLI runs in its own process, signalled once its
 * first command has reached the stub; before, the signal killed it with no word and no --json.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runPhantom } from '../../src/pipeline/phantom.js';
import { runUntil } from '../helpers/signal-run.js';
import { startStalledTcp, type StalledTcp } from '../helpers/stalled-tcp.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-stalled-redis-'));
const input = path.join(root, 'in');
let redis: StalledTcp;
let url: string;

beforeAll(async () => {
  await runPhantom('water', { outDir: input, size: 32, slices: 1, uidSeed: 'stalled-redis' });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeEach(async () => {
  redis = await startStalledTcp();
  url = `redis://127.0.0.1:${redis.port}`;
});
afterEach(async () => {
  await redis.close();
});

/** The one E_CANCELLED error of a stopped command's --json. */
function stoppedError(stdout: string): { code: string; message: string; path: string | null } {
  const { errors } = JSON.parse(stdout) as { errors: Array<{ code: string; message: string; path: string | null }> };
  expect(errors).toHaveLength(1);
  return errors[0]!;
}

describe('a Redis that never answers', () => {
  it('batch: SIGINT while it waits for Redis ends it with exit 130, E_CANCELLED "the batch was not submitted", no -o made', async () => {
    const out = path.join(root, 'batch-out');
    const run = await runUntil(['batch', input, '-o', out, '--redis', url, '--json'], {}, redis.asked, 'SIGINT');
    expect(run.code, run.stderr).toBe(130);
    expect(stoppedError(run.stdout)).toEqual({
      code: 'E_CANCELLED',
      path: null,
      message: `the batch was not submitted: the connection to Redis at ${url} was stopped before Redis answered (interrupted by SIGINT); nothing was queued`,
    });
    expect(run.stderr).toContain('stopping the batch submission (SIGINT)');
    await redis.dropped;
    expect(existsSync(out)).toBe(false);
  });

  it('batch status: SIGTERM while it waits for Redis ends it with exit 143 and E_CANCELLED "nothing was read"', async () => {
    const run = await runUntil(['batch', 'status', '20261207000000-abcdef', '--redis', url, '--json'], {}, redis.asked, 'SIGTERM');
    expect(run.code, run.stderr).toBe(143);
    expect(stoppedError(run.stdout)).toEqual({
      code: 'E_CANCELLED',
      path: null,
      message: `batch status was stopped: the connection to Redis at ${url} was stopped before Redis answered (interrupted by SIGTERM); nothing was read`,
    });
    await redis.dropped;
  });

  it('worker: SIGINT while it waits for Redis ends the start with exit 130 and E_CANCELLED "no job was taken"', async () => {
    const run = await runUntil(['worker', '--redis', url], {}, redis.asked, 'SIGINT');
    expect(run.code, run.stderr).toBe(130);
    expect(run.stderr).toContain(`lowdose: the worker did not start: the connection to Redis at ${url} was stopped before Redis answered (interrupted by SIGINT); no job was taken [E_CANCELLED]`);
    expect(run.stderr).not.toContain('worker ready');
    await redis.dropped;
  });

  it('serve --redis: SIGTERM while it waits for Redis ends it with exit 143 before it listens', async () => {
    const run = await runUntil(['serve', '--port', '0', '--data', input, '--work', path.join(root, 'work'), '--redis', url, '--json'], {}, redis.asked, 'SIGTERM');
    expect(run.code, run.stderr).toBe(143);
    expect(stoppedError(run.stdout)).toEqual({
      code: 'E_CANCELLED',
      path: null,
      message: `the server did not start: the connection to Redis at ${url} was stopped before Redis answered (interrupted by SIGTERM); nothing was served`,
    });
    expect(run.stderr).not.toContain('lowdose viewer at');
    await redis.dropped;
  });
});

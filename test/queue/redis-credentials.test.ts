/**
 * A Redis that answers but refuses the credentials of `--redis` (wrong password, or none given to a
 * server with requirepass): `batch` and `worker` exit 2 at once with E_USAGE saying so, not after
 * 10 s as E_QUEUE_UNAVAILABLE "no answer from Redis", and not with an uncaught ReplyError from
 * BullMQ's connection as they close. Real processes (the uncaught error ended the process), a real
 * Redis with requirepass.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPhantom } from '../../src/pipeline/phantom.js';
import { spawnCli } from '../helpers/cli-process.js';
import { hasRedis, spawnWorker, startRedis, type TestRedis } from './redis-server.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-redis-auth-'));

/** `lowdose <args>` in its own process, as a user runs it. */
const runProcess = (...args: string[]) => spawnCli(args).done;

describe.skipIf(!hasRedis)('Redis refusing the credentials of --redis', () => {
  let redis: TestRedis;
  const input = path.join(root, 'in');

  beforeAll(async () => {
    redis = await startRedis({ password: 'queue-secret' });
    await runPhantom('water', { outDir: input, size: 32, slices: 1, uidSeed: 'redis-auth' });
  }, 60_000);

  afterAll(async () => {
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it.each([
    ['a wrong password', ':wrong@', /WRONGPASS/],
    ['no password', '', /NOAUTH/],
  ])('batch with %s: exit 2, E_USAGE "refused the credentials", no stack trace', async (_what, credentials, reply) => {
    const url = `redis://${credentials}127.0.0.1:${redis.port}`;
    const run = await runProcess('batch', input, '-o', path.join(root, 'out'), '--redis', url, '--json');
    expect(run.code, run.stderr).toBe(2);
    const { errors } = JSON.parse(run.stdout) as { errors: Array<{ code: string; message: string }> };
    expect(errors).toEqual([{ path: null, code: 'E_USAGE', message: expect.stringMatching(/^Redis at redis:\/\/127\.0\.0\.1:\d+ refused the credentials of --redis: /) }]);
    expect(errors[0]!.message).toMatch(reply);
    expect(run.stderr).not.toMatch(/ReplyError|at parseError/);
  });

  it('worker with a wrong password: exit 2, E_USAGE, no stack trace', async () => {
    const worker = spawnWorker(`redis://:wrong@127.0.0.1:${redis.port}`);
    const { code, stderr } = await worker.done;
    expect(code, stderr).toBe(2);
    expect(stderr).toMatch(/refused the credentials of --redis: WRONGPASS.*\[E_USAGE\]/);
    expect(stderr).not.toMatch(/ReplyError|at parseError/);
  });
});

/**
 * `--redis <url>` to BullMQ connection options: redis://[user:password@]host[:port][/db], or
 * rediss:// for TLS. Commands fail with E_QUEUE_UNAVAILABLE (exit 2, nothing done) when the
 * server does not answer, instead of ioredis's default of retrying for ever.
 */
import { EventEmitter } from 'node:events';
import type { ConnectionOptions } from 'bullmq';
import { LowdoseError } from '../errors.js';
import { abortReason } from '../util/abort-reason.js';

export interface RedisTarget {
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
  readonly db?: number;
  readonly tls: boolean;
}

/** The largest database number Redis takes (SELECT reads a C int). */
const REDIS_MAX_DB = 2 ** 31 - 1;

export function parseRedisUrl(text: string): RedisTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new LowdoseError('E_USAGE', `--redis must be a URL like redis://host:6379, got "${text}"`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new LowdoseError('E_USAGE', `--redis must start with redis:// or rediss:// (TLS), got "${text}"`);
  }
  const db = url.pathname.replace(/^\//, '');
  // Redis numbers its databases with a C int; a longer one would be read as another number here.
  if (db !== '' && !(/^\d+$/.test(db) && Number(db) <= REDIS_MAX_DB)) throw new LowdoseError('E_USAGE', `--redis database must be a number from 0 to ${REDIS_MAX_DB}, got "${db}"`);
  // The URL parser takes port 0, which no Redis listens on.
  if (url.port === '0') throw new LowdoseError('E_USAGE', `--redis port must be 1 to 65535, got 0 in "${text}"`);
  return {
    host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: url.port ? Number(url.port) : 6379,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(db !== '' ? { db: Number(db) } : {}),
    tls: url.protocol === 'rediss:',
  };
}

/** The target without its password, for messages. */
export function describeTarget(target: RedisTarget): string {
  return `${target.tls ? 'rediss' : 'redis'}://${target.username ? `${target.username}@` : ''}${target.host}:${target.port}${target.db !== undefined ? `/${target.db}` : ''}`;
}

/**
 * Options for BullMQ. `maxRetriesPerRequest: null` is what BullMQ workers require (blocking
 * commands must survive a reconnect); a worker keeps reconnecting while Redis restarts.
 */
export function connectionOptions(target: RedisTarget): ConnectionOptions {
  return {
    host: target.host,
    port: target.port,
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
    ...(target.db !== undefined ? { db: target.db } : {}),
    ...(target.tls ? { tls: { servername: target.host } } : {}),
    maxRetriesPerRequest: null,
    connectTimeout: 5000,
    // A closed connection waits this long for Redis to close its side before dropping it (ioredis's
    // default is 2 s): a Redis that took the connection and never answers (a command stopped by
    // SIGINT while it waited for it) does not close it, and would hold the process that long.
    disconnectTimeout: 200,
    // Reconnect with a growing pause, capped at 2 s: a restarted Redis is found again quickly.
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
  };
}

/**
 * Redis's answers to a wrong or missing password or user (ioredis passes them on as 'error'
 * events while it keeps retrying): WRONGPASS, NOAUTH, and Redis's "ERR AUTH <password> called
 * without any password configured" for a password given to a server that has none.
 */
const CREDENTIALS_REFUSED = /^(WRONGPASS|NOAUTH)\b|^ERR AUTH\b|^ERR invalid password/;

/** What emits the connection's errors: a BullMQ queue or worker. */
export interface ErrorSource {
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * Waits for `ready` (a BullMQ queue or worker) or fails with E_QUEUE_UNAVAILABLE after `ms`. A
 * Redis that answers but refuses the credentials of `--redis` (seen on `errors`) fails at once
 * with E_USAGE saying so, not after `ms` as if it had not answered. `signal` (SIGINT / SIGTERM)
 * ends the wait at once with E_CANCELLED: a Redis that takes the connection and never answers
 * does not hold a stopped command for `ms`.
 */
export async function whenReachable(
  ready: Promise<unknown>,
  target: RedisTarget,
  errors?: ErrorSource,
  options: { readonly ms?: number; readonly signal?: AbortSignal } = {},
): Promise<void> {
  const ms = options.ms ?? 10_000;
  const signal = options.signal;
  let timer: NodeJS.Timeout | undefined;
  let onAbort = (): void => {};
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new LowdoseError('E_QUEUE_UNAVAILABLE', `no answer from Redis at ${describeTarget(target)} within ${ms / 1000} s`)),
      ms,
    );
    errors?.on('error', (error) => {
      if (!CREDENTIALS_REFUSED.test(error.message)) return;
      reject(new LowdoseError('E_USAGE', `Redis at ${describeTarget(target)} refused the credentials of --redis: ${error.message}`, { cause: error }));
    });
    onAbort = () => reject(new LowdoseError('E_CANCELLED', `the connection to Redis at ${describeTarget(target)} was stopped before Redis answered (${abortReason(signal)})`));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([ready, timeout]);
  } catch (error) {
    if (error instanceof LowdoseError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new LowdoseError('E_QUEUE_UNAVAILABLE', `Redis at ${describeTarget(target)}: ${message}`, { cause: error });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Closes a BullMQ queue or worker whose connection never became ready. A connection's close()
 * drops its listeners, and the connection then re-emits its failed start-up (a refused AUTH) as
 * an 'error' with no listener left: an uncaught exception that ends the process with a stack trace
 * instead of our message. So each connection is closed here first, then given a no-op listener
 * (its close() drops the others synchronously while it has not connected), and then the queue or
 * worker, whose own close() finds them closed. The connections are BullMQ's non-public
 * `connection` and (a worker's) `blockingConnection`; the wrong-password test fails if they move.
 */
export async function closeUnready(closable: { close(force?: boolean): Promise<void> }, force = false): Promise<void> {
  const ignore = (): void => {};
  for (const name of ['blockingConnection', 'connection']) {
    const connection = (closable as unknown as Record<string, unknown>)[name];
    if (!(connection instanceof EventEmitter) || !('close' in connection) || typeof connection.close !== 'function') continue;
    const closing = (connection.close as (force: boolean) => Promise<void>).call(connection, force);
    connection.on('error', ignore);
    await closing.catch(ignore);
  }
  await closable.close(force).catch(ignore);
}

/**
 * `--redis <url>` to BullMQ connection options: redis://[user:password@]host[:port][/db], or
 * rediss:// for TLS. Commands fail with E_QUEUE_UNAVAILABLE (exit 2, nothing done) when the
 * server does not answer, instead of ioredis's default of retrying for ever.
 */
import type { ConnectionOptions } from 'bullmq';
import { LowdoseError } from '../errors.js';

export interface RedisTarget {
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
  readonly db?: number;
  readonly tls: boolean;
}

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
  if (db !== '' && !/^\d+$/.test(db)) throw new LowdoseError('E_USAGE', `--redis database must be a number, got "${db}"`);
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
    // Reconnect with a growing pause, capped at 2 s: a restarted Redis is found again quickly.
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
  };
}

/** Waits for `ready` (a BullMQ queue or worker) or fails with E_QUEUE_UNAVAILABLE after `ms`. */
export async function whenReachable(ready: Promise<unknown>, target: RedisTarget, ms = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new LowdoseError('E_QUEUE_UNAVAILABLE', `no answer from Redis at ${describeTarget(target)} within ${ms / 1000} s`)),
      ms,
    );
  });
  try {
    await Promise.race([ready, timeout]);
  } catch (error) {
    if (error instanceof LowdoseError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new LowdoseError('E_QUEUE_UNAVAILABLE', `Redis at ${describeTarget(target)}: ${message}`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Server settings, resolved once from `buildApp` options (and `lowdose serve` flags) with safe
 * defaults: loopback only, data read from the demo output and the fixtures, uploads and job
 * outputs in a work folder of their own.
 */
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { LowdoseError } from '../errors.js';
import { DEFAULT_MAX_JOB_PASSES } from '../pipeline/compute-budget.js';
import { resolveMemoryBudget, type MemoryBudget } from '../pipeline/memory-budget.js';
import { readByteSize } from '../util/bytes.js';
import { packagePath } from '../util/package-root.js';
import { ownerTag } from '../util/owner-tag.js';
import { privateTempDir } from '../util/private-temp.js';

/**
 * What one request may ask of the server; past a limit it is refused before the work starts
 * (docs/viewer.md, "Limits").
 */
export interface UploadLimits {
  /** Largest single file, bytes. */
  readonly fileBytes: number;
  /** Most files in one upload. */
  readonly files: number;
  /** Largest upload in total, bytes. */
  readonly totalBytes: number;
  /** Free space an upload or a job's expected output leaves on the work folder's disk, bytes; one that would take it below is refused with 507 (a queued job fails with E_IO when it starts). */
  readonly diskReserveBytes: number;
  /** Most jobs waiting to run (all devices together); one more is refused with 429. */
  readonly queuedJobs: number;
  /**
   * Most job event streams (`GET /api/jobs/:id/events`) open at once, all clients together; one
   * more is refused with 429 until one closes.
   */
  readonly eventStreams: number;
  /**
   * Most job event streams open at once from one client address (the socket's peer: behind a
   * reverse proxy, the proxy's), so one client cannot take every stream; one more is refused with 429.
   */
  readonly eventStreamsPerClient: number;
  /**
   * Most pixels in a figure (`/api/figure.png`, width x height) and in the slices one measurement
   * table reads (`POST /api/measurements.csv`); a bigger one is refused with 413 before any slice is read.
   */
  readonly imagePixels: number;
}

export interface ServerConfig {
  /** Folders indexed for studies (read only). */
  readonly dataDirs: string[];
  /** Uploads (`uploads/`) and job outputs (`jobs/`) go here; it is indexed too. */
  readonly workDir: string;
  readonly uploadDir: string;
  readonly jobsDir: string;
  /** Where every server on this work folder pulls PACS series to (`pacs/`), one folder per server session. */
  readonly pullRoot: string;
  /**
   * This server's own pull folder (`pacs/<host>-<pid>-<start>-<random>/`): a cache for one server session,
   * removed when the server closes, or by the next server to start once its process has ended
   * (./pull-sessions.ts, docs/pacs.md).
   */
  readonly pullDir: string;
  /**
   * The PACS series pulled by this and earlier server sessions (`pacs-cache/`, ./pacs-source-cache.ts):
   * an open retrieves only the instances it lacks. Kept across sessions, at most pacsCacheBytes
   * (0: the server keeps no cache, and pulls each series it opens anew).
   */
  readonly pacsCacheDir: string;
  readonly pacsCacheBytes: number;
  /** Folders of installed model cards a job may name (by card name), before the shipped models. */
  readonly modelDirs: string[];
  /** The built viewer (index.html and assets), or null when it is not built. */
  readonly viewerDir: string | null;
  readonly limits: UploadLimits;
  /** Decoded slices kept in memory, bytes. */
  readonly sliceCacheBytes: number;
  /** What one denoise job may use (src/pipeline/memory-budget.ts); bigger jobs are refused with 400. */
  readonly memoryBudget: MemoryBudget;
  /** Network passes one denoise job may ask for (src/pipeline/compute-budget.ts); bigger jobs are refused with 400. */
  readonly maxJobPasses: number;
}

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8080;

export const DEFAULT_LIMITS: UploadLimits = {
  fileBytes: 256 * 1024 * 1024,
  files: 4000,
  totalBytes: 4 * 1024 * 1024 * 1024,
  diskReserveBytes: 1024 * 1024 * 1024,
  queuedJobs: 64,
  eventStreams: 128,
  eventStreamsPerClient: 32,
  imagePixels: 64 * 1024 * 1024,
};

/** `demo-output/` in the working directory when present, and the package's `fixtures/`. */
export function defaultDataDirs(cwd = process.cwd()): string[] {
  const dirs = [path.join(cwd, 'demo-output'), packagePath('fixtures')];
  return dirs.filter((dir, i) => i > 0 || existsSync(dir));
}

/** The default work folder's name under the OS temp folder, one per user. */
function defaultWorkDirName(): string {
  try {
    return `lowdose-serve-${os.userInfo().username.replace(/[^A-Za-z0-9_-]/g, '') || 'user'}`;
  } catch {
    return 'lowdose-serve-user';
  }
}

/** The PACS cache's default bound (ServerConfig.pacsCacheBytes, `serve --pacs-cache-size`): 4 GiB. */
export const PACS_CACHE_BYTES = 4 * 1024 * 1024 * 1024;

/**
 * `serve --pacs-cache-size`: a size as --memory-budget takes it ("20G", "512M", "1.5GiB" or whole
 * bytes), from 0 (no cache: each series opened is pulled anew) to 2^53 - 1 bytes.
 */
export function parsePacsCacheSize(text: string): number {
  const bytes = readByteSize(text);
  if (bytes === null || bytes > Number.MAX_SAFE_INTEGER) {
    throw new LowdoseError('E_USAGE', `--pacs-cache-size must be 0 (no cache) or a size below 8192T (2^53 bytes) such as 20G, 512M, 1.5GiB or a whole number of bytes, got "${text}"`);
  }
  return bytes;
}

/** The default work folder's path (for `--help`; `resolveConfig` creates it as a private folder). */
export function defaultWorkDir(): string {
  return path.join(os.tmpdir(), defaultWorkDirName());
}

export interface ConfigInput {
  readonly data?: readonly string[];
  readonly workDir?: string;
  readonly modelDirs?: readonly string[];
  readonly viewerDir?: string | null;
  readonly limits?: Partial<UploadLimits>;
  readonly sliceCacheBytes?: number;
  /** The PACS cache's bound, bytes (default PACS_CACHE_BYTES); 0: no cache. */
  readonly pacsCacheBytes?: number;
  /** Bytes a denoise job may use; default LOWDOSE_MEMORY_BUDGET, else half the machine's memory. */
  readonly memoryBudget?: number;
  /** Network passes a denoise job may ask for; default DEFAULT_MAX_JOB_PASSES. */
  readonly maxJobPasses?: number;
}

/**
 * A count or size of the server's settings: a whole number in [lo, 2^53 - 1]. NaN would switch a
 * bound off (every comparison with it is false), a fraction or a negative number mean nothing, and
 * beyond 2^53 - 1 a whole number is no longer exact: each is E_USAGE, naming the setting.
 */
function checkWhole(name: string, value: number, lo: number): number {
  if (!Number.isSafeInteger(value) || value < lo) {
    throw new LowdoseError('E_USAGE', `server setting ${name} must be a whole number from ${lo} to ${Number.MAX_SAFE_INTEGER}, got ${value}`);
  }
  return value;
}

/** Each upload limit: the disk reserve may be 0 (no room kept free), every other at least 1. */
function checkLimits(limits: UploadLimits): UploadLimits {
  for (const [name, value] of Object.entries(limits) as Array<[keyof UploadLimits, number]>) checkWhole(`limits.${name}`, value, name === 'diskReserveBytes' ? 0 : 1);
  return limits;
}

export function resolveConfig(input: ConfigInput = {}): ServerConfig {
  const workDir = input.workDir === undefined ? privateTempDir(defaultWorkDirName()) : path.resolve(input.workDir);
  const builtViewer = packagePath('viewer', 'dist');
  const viewerDir =
    input.viewerDir === null ? null : path.resolve(input.viewerDir ?? builtViewer);
  return {
    dataDirs: (input.data && input.data.length > 0 ? input.data : defaultDataDirs()).map((d) => path.resolve(d)),
    workDir,
    uploadDir: path.join(workDir, 'uploads'),
    jobsDir: path.join(workDir, 'jobs'),
    pullRoot: path.join(workDir, 'pacs'),
    pullDir: path.join(workDir, 'pacs', ownerTag()),
    pacsCacheDir: path.join(workDir, 'pacs-cache'),
    pacsCacheBytes: checkWhole('pacsCacheBytes', input.pacsCacheBytes ?? PACS_CACHE_BYTES, 0),
    modelDirs: (input.modelDirs ?? []).map((d) => path.resolve(d)),
    viewerDir: viewerDir && existsSync(path.join(viewerDir, 'index.html')) ? viewerDir : null,
    limits: checkLimits({ ...DEFAULT_LIMITS, ...input.limits }),
    sliceCacheBytes: checkWhole('sliceCacheBytes', input.sliceCacheBytes ?? 512 * 1024 * 1024, 0),
    memoryBudget: resolveMemoryBudget(input.memoryBudget),
    maxJobPasses: checkWhole('maxJobPasses', input.maxJobPasses ?? DEFAULT_MAX_JOB_PASSES, 1),
  };
}

/** proxy-addr's names for address ranges (`serve --trust-proxy loopback`). */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * One `serve --trust-proxy` value as fastify's trustProxy takes it: an IPv4 / IPv6 address, a CIDR
 * range (`10.0.0.0/8`, `fd00::/8`) or one of proxy-addr's range names; anything else is refused
 * here, at start, rather than by the first request.
 */
export function parseTrustedProxy(text: string): string {
  const value = text.trim();
  if (PROXY_RANGE_NAMES.includes(value.toLowerCase())) return value.toLowerCase();
  const [address, prefix, ...rest] = value.split('/');
  const family = isIP(address ?? '');
  const bits = family === 4 ? 32 : 128;
  if (family !== 0 && rest.length === 0 && (prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits))) return value;
  throw new LowdoseError('E_USAGE', `--trust-proxy "${text}" is not an IP address, a CIDR range (10.0.0.0/8) or one of ${PROXY_RANGE_NAMES.join(', ')}`);
}

/** One `serve --allow-host` value: a host name or address as the Host header carries it, without scheme or port. */
export function parseAllowedHost(text: string): string {
  const value = text.trim().toLowerCase();
  const bracketed = /^\[[0-9a-f:.]+\]$/.test(value) && isIP(value.slice(1, -1)) === 6;
  if (bracketed || isIP(value) === 4 || /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(value)) return value;
  throw new LowdoseError('E_USAGE', `--allow-host "${text}" is not a host name (give it without scheme or port, e.g. viewer.example.org; an IPv6 address in brackets)`);
}

/**
 * The lowdose web server as a function: `buildApp(options)` returns a ready fastify instance that
 * is not listening (tests call `app.inject`; `lowdose serve` calls `listen`). Shared services are
 * decorators (./plugins), routes are encapsulated plugins (./routes), and one error handler maps
 * error codes to HTTP statuses.
 */
import { constants as zlibConstants } from 'node:zlib';
import compress from '@fastify/compress';
import Fastify, { type FastifyInstance } from 'fastify';
import { LowdoseError } from '../errors.js';
import type { JobOptions } from './api-types.js';
import { resolveConfig, type ConfigInput } from './config.js';
import { defaultModelsDir } from '../models/index.js';
import { installErrorHandlers, serverPathRedactor } from './http-errors.js';
import type { DicomwebClientOptions } from '../dicomweb/client.js';
import type { DimsePeer } from '../dimse/url.js';
import type { DimseServeOptions } from './pacs-dimse.js';
import type { DenoiseRunner } from './jobs/queue.js';
import { loggerOptions, type LoggerSettings } from './logger.js';
import configPlugin from './plugins/config.js';
import dataPlugin from './plugins/data.js';
import jobsPlugin from './plugins/jobs.js';
import pacsPlugin from './plugins/pacs.js';
import { clearEndedPullSessions } from './pull-sessions.js';
import { acquireFolderLock } from '../util/folder-lock.js';
import comparisonRoutes from './routes/comparisons.js';
import exportRoutes from './routes/exports.js';
import healthRoutes from './routes/health.js';
import jobRoutes from './routes/jobs.js';
import modelRoutes from './routes/models.js';
import pacsRoutes from './routes/pacs.js';
import seriesRoutes from './routes/series.js';
import studyRoutes from './routes/studies.js';
import uploadRoutes from './routes/uploads.js';
import viewerRoutes from './routes/viewer.js';

export interface BuildAppOptions extends ConfigInput {
  /** false (default) for silence, true for info on stdout, or a level and stream. */
  readonly logger?: boolean | LoggerSettings;
  /** The denoise pipeline; default `denoisePaths` of src/pipeline/denoise.ts. */
  readonly denoise?: DenoiseRunner;
  /** Which device queue a job joins (default: by --device and what is installed). */
  readonly queueDevice?: (options: JobOptions) => string;
  /** Bytes free on the disk of a folder, for the disk reserve (default: statfs, ./disk-room.ts; tests stand in a disk). */
  readonly freeBytes?: (dir: string) => Promise<number>;
  /**
   * Host names (without port) requests may address; others are refused, which stops DNS-rebinding
   * pages from reaching a server on 127.0.0.1. Default: localhost, 127.0.0.1 and [::1]. null: any.
   */
  readonly allowedHosts?: readonly string[] | null;
  /**
   * Reverse proxies (addresses, CIDR ranges, or `loopback` / `linklocal` / `uniquelocal`) whose
   * X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Host headers the server believes: the client
   * address of the per-client limits, and the scheme and host a write's Origin must match. Default:
   * none (the connection's peer is the client, its Host header and the socket's scheme the origin).
   */
  readonly trustProxy?: readonly string[];
  /**
   * `serve --dicomweb`: the DICOMweb server the viewer browses, opens series from and stores job
   * results to; its credentials (`client.auth`) stay inside the server's client.
   */
  readonly dicomweb?: { readonly base: string; readonly client?: DicomwebClientOptions };
  /**
   * `serve --dimse`: the DIMSE PACS the viewer browses (C-FIND), opens series from (C-GET, or C-MOVE
   * with `options.movePort`) and stores job results to (C-STORE). One PACS per server: not with `dicomweb`.
   */
  readonly dimse?: { readonly peer: DimsePeer; readonly options: DimseServeOptions };
}

/** Compression levels for responses (docs/viewer.md has the bytes and milliseconds they cost). */
export const BROTLI_QUALITY = 4;
export const GZIP_LEVEL = 6;

export const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]', '::1'];

/** The real pipeline, loaded on first use so the server starts fast. */
const pipelineRunner: DenoiseRunner = async (paths, options) => {
  const { denoisePaths } = await import('../pipeline/denoise.js');
  return denoisePaths(paths, options);
};

export async function buildApp(options: BuildAppOptions = {}): Promise<FastifyInstance> {
  if (options.dicomweb && options.dimse) throw new LowdoseError('E_USAGE', 'a server browses one PACS: give dicomweb or dimse, not both');
  const config = resolveConfig(options);
  const app = Fastify({
    logger: loggerOptions(options.logger),
    // Ids are 12 characters; nothing legitimate is long.
    routerOptions: { maxParamLength: 64 },
    // JSON bodies are small (job requests); uploads are multipart and limited on their own.
    bodyLimit: 64 * 1024,
    // Unknown fields are errors, not silently dropped: a mistyped job option must not be ignored.
    ajv: { customOptions: { removeAdditional: false } },
    // The data plugin indexes every data folder before the server is ready; a folder of many
    // studies (or a loaded machine) takes longer than fastify's default 10 s plugin limit, and the
    // server must start anyway rather than fail with "Plugin did not start in time".
    pluginTimeout: 0,
    // Forwarded headers only from the proxies named (`serve --trust-proxy`): from anyone else a
    // client could pick its own address and so escape the per-client limits.
    trustProxy: options.trustProxy && options.trustProxy.length > 0 ? [...options.trustProxy] : false,
  });

  const redact = serverPathRedactor(config, defaultModelsDir());
  installErrorHandlers(app, redact);
  installRequestGuards(app, options.allowedHosts === undefined ? LOOPBACK_HOSTS : options.allowedHosts);

  // Slices (application/octet-stream), JSON and the viewer's assets go brotli- or gzip-compressed
  // to a client that accepts it, so a reader on a remote link waits for half the bytes
  // (docs/viewer.md: measured per 512 x 512 slice). Levels: BROTLI_QUALITY, GZIP_LEVEL.
  // Server-sent events stay uncompressed (the plugin leaves text/event-stream alone).
  await app.register(compress, {
    encodings: ['br', 'gzip'],
    brotliOptions: { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY } },
    zlibOptions: { level: GZIP_LEVEL },
  });
  await app.register(configPlugin, { config });
  // Before the index reads the work folder: series pulled from a PACS by servers that have ended
  // go; those of servers still running on this work folder stay (./pull-sessions.ts).
  const cleared = await clearEndedPullSessions(config.pullRoot);
  if (cleared > 0) app.log.info(`removed the PACS pull folders of ${cleared} server session(s) that have ended (<work>/pacs/)`);
  // This session's folder is locked while the server runs: the lock's heartbeat tells servers on
  // other hosts sharing the work folder that it lives. Released when the server closes.
  const session = await acquireFolderLock(config.pullDir, { log: (message) => app.log.warn(message) });
  app.addHook('onClose', async () => session.release());
  await app.register(dataPlugin);
  await app.register(pacsPlugin, { dicomweb: options.dicomweb, dimse: options.dimse });
  await app.register(jobsPlugin, { runner: options.denoise ?? pipelineRunner, ...(options.freeBytes ? { freeBytes: options.freeBytes } : {}) });

  await app.register(healthRoutes);
  await app.register(studyRoutes);
  await app.register(seriesRoutes);
  await app.register(comparisonRoutes);
  await app.register(exportRoutes);
  await app.register(uploadRoutes);
  await app.register(modelRoutes);
  await app.register(pacsRoutes);
  await app.register(jobRoutes, { ...(options.queueDevice ? { queueDevice: options.queueDevice } : {}) });
  await app.register(viewerRoutes);
  await app.ready();
  return app;
}

/**
 * A write's Origin, when the browser sent one, must be this server's own: same scheme, host and
 * port (a page on another port of localhost is another origin). "null" (sandboxed frames, file:
 * pages) is refused too. Requests without Origin are not from a browser page (curl, scripts).
 */
export function sameOrigin(origin: string | undefined, protocol: string, host: string): boolean {
  if (origin === undefined) return true;
  try {
    return new URL(origin).origin === new URL(`${protocol}://${host}`).origin;
  } catch {
    return false;
  }
}

/** Host allow-list, same-origin writes, and headers that keep the viewer's page to itself. */
function installRequestGuards(app: FastifyInstance, allowedHosts: readonly string[] | null): void {
  const allowed = allowedHosts && new Set(allowedHosts.map((h) => h.toLowerCase()));
  const hostOf = (value: string): string => {
    const trimmed = value.trim().toLowerCase();
    if (trimmed.startsWith('[')) return trimmed.slice(0, trimmed.indexOf(']') + 1);
    return trimmed.split(':')[0]!;
  };
  app.addHook('onRequest', async (request) => {
    const host = hostOf(request.headers.host ?? '');
    if (allowed && !allowed.has(host)) {
      throw new LowdoseError('E_USAGE', `requests for host "${host}" are refused (start lowdose serve with --host to allow it)`);
    }
    // Also when any host name is allowed (--host): a page elsewhere must not write here. The origin
    // is the one the browser used: behind a trusted reverse proxy (`trustProxy`) its forwarded
    // scheme and host (an https proxy in front of this http server), else this request's own. The
    // allow-list above stays on the Host header itself, which a page cannot forge.
    if (request.method !== 'GET' && request.method !== 'HEAD' && !sameOrigin(request.headers.origin, request.protocol, request.host)) {
      throw new LowdoseError('E_USAGE', 'cross-origin requests that change data are refused');
    }
  });
  app.addHook('onSend', async (_request, reply) => {
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
    reply.header('X-Frame-Options', 'DENY');
    reply.header(
      'Content-Security-Policy',
      "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    );
  });
}

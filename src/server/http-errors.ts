/**
 * One place that turns anything thrown in a route into an HTTP status and a JSON body
 * `{ code, message }`, with the toolkit's stable error codes. Server paths in messages are
 * replaced by labels so responses do not reveal the server's folder layout.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { isLowdoseError, type ErrorCode } from '../errors.js';
import type { ApiError } from './api-types.js';
import { withoutQueries, withoutQuery } from '../util/url-query.js';

const STATUS: Record<ErrorCode, number> = {
  E_NOT_DICOM: 415,
  E_DICOMDIR: 415,
  E_NOT_IMAGE: 415,
  E_UNSUPPORTED_TRANSFER_SYNTAX: 415,
  E_UNSUPPORTED_PIXELS: 415,
  E_NO_PIXEL_DATA: 415,
  E_FILE_TOO_LARGE: 413,
  E_TRUNCATED: 422,
  E_MALFORMED: 422,
  E_DECODE: 422,
  E_INCONSISTENT_SERIES: 422,
  E_SUV_UNAVAILABLE: 422,
  E_SHARP_KERNEL: 422,
  E_PIXEL_SPACING: 422,
  E_FILTER_WIDTH: 422,
  E_MODEL_BELOW_INPUT: 422,
  E_LESION_BIAS: 422,
  W_VALUE_REPAIRED: 422,
  W_VALUE_DROPPED: 422,
  W_GEOMETRY_INVALID: 422,
  W_SUV_PARTIAL_SERIES: 422,
  W_SUV_INJECTION_DATE_ASSUMED: 422,
  W_SIMULATION_INCOMPLETE: 422,
  W_KERNEL_MISMATCH: 422,
  W_THICKNESS_MISMATCH: 422,
  W_TEST_IS_REFERENCE: 422,
  W_GATE_AGAINST_UNGATED: 422,
  E_GEOMETRY_LOST: 422,
  E_DECAY_CORRECTION_UNKNOWN: 422,
  E_PET_GATES_UNKNOWN: 422,
  E_PET_TIME_POINTS_UNKNOWN: 422,
  E_DOSE_UNKNOWN: 422,
  E_TEXTURE_NOT_FULL_DOSE: 422,
  E_USAGE: 400,
  E_MEMORY_BUDGET: 400,
  E_COMPUTE_BUDGET: 400,
  E_MODEL: 400,
  E_MODEL_MISMATCH: 400,
  E_NOT_FOUND: 404,
  E_EXISTS: 409,
  E_LOCKED: 409,
  E_OUTPUT_INCOMPLETE: 409,
  E_CANCELLED: 409,
  E_DEVICE_UNAVAILABLE: 503,
  E_QUEUE_UNAVAILABLE: 503,
  E_IO: 500,
  E_INTERNAL: 500,
};

export function statusFor(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

/** Replaces each root folder by its label: "<data 1>/CT_x/IM0001.dcm" instead of an absolute path. */
export type PathRedactor = (text: string) => string;

/** The server's folders (data, work, model folders and the shipped models) as labels. */
export function serverPathRedactor(config: { dataDirs: readonly string[]; workDir: string; modelDirs: readonly string[] }, shippedModels: string): PathRedactor {
  return pathRedactor([
    ...config.dataDirs.map((dir, i) => ({ path: dir, label: `data ${i + 1}` })),
    { path: config.workDir, label: 'work' },
    ...config.modelDirs.map((dir, i) => ({ path: dir, label: `models ${i + 1}` })),
    { path: shippedModels, label: 'models' },
  ]);
}

export function pathRedactor(roots: ReadonlyArray<{ path: string; label: string }>): PathRedactor {
  // Longest first, so a root inside another root gets its own label.
  const ordered = [...roots].sort((a, b) => b.path.length - a.path.length);
  return (text) => ordered.reduce((out, root) => out.split(root.path).join(`<${root.label}>`), text);
}

/**
 * For logs: no path survives at all beyond its last component (folder names may be patient names),
 * no URL keeps its query string (a QIDO-RS search's PatientID=...).
 */
export function redactForLog(text: string): string {
  return withoutQueries(text).replace(/(?:[A-Za-z]:)?[\\/](?:[^\\/\s:'"<>]+[\\/])+([^\\/\s:'"<>]*)/g, '…/$1');
}

/**
 * Marks an error whose message quotes what the client sent (upload file names, which can be
 * patient names): the client gets the message, the log gets `logMessage` instead.
 */
export function withLogMessage<E extends Error>(error: E, logMessage: string): E {
  Object.defineProperty(error, 'logMessage', { value: logMessage, enumerable: false });
  return error;
}

/** Marks an error with the HTTP status it should have instead of its code's (a PACS that failed: 502). */
export function withHttpStatus<E extends Error>(error: E, status: number): E {
  Object.defineProperty(error, 'httpStatus', { value: status, enumerable: false });
  return error;
}

function httpStatusOf(error: unknown): number | undefined {
  const value = (error as { httpStatus?: unknown } | null)?.httpStatus;
  return typeof value === 'number' ? value : undefined;
}

export function logMessageOf(error: unknown): string | undefined {
  const value = (error as { logMessage?: unknown } | null)?.logMessage;
  return typeof value === 'string' ? value : undefined;
}

export function installErrorHandlers(app: FastifyInstance, redact: PathRedactor): void {
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    const { status, body } = toHttpError(error, redact);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: body.code, statusCode: status, reason: logMessageOf(error) ?? redactForLog(body.message) }, 'request refused');
    void reply.status(status).type('application/json; charset=utf-8').send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ code: 'E_NOT_FOUND', message: `no route ${request.method} ${withoutQuery(request.url)}` });
  });
}

export function toHttpError(error: unknown, redact: PathRedactor): { status: number; body: ApiError } {
  if (isLowdoseError(error)) return { status: httpStatusOf(error) ?? statusFor(error.code), body: { code: error.code, message: redact(error.message) } };
  const e = error as Partial<FastifyError> & { message?: string };
  if (e.validation) return { status: 400, body: { code: 'E_USAGE', message: e.message ?? 'invalid request' } };
  if (e.code === 'FST_REQ_FILE_TOO_LARGE' || e.code === 'FST_FILES_LIMIT' || e.code === 'FST_PARTS_LIMIT' || e.statusCode === 413) {
    return { status: 413, body: { code: 'E_USAGE', message: e.message ?? 'request too large' } };
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, body: { code: e.statusCode === 404 ? 'E_NOT_FOUND' : 'E_USAGE', message: e.message ?? 'bad request' } };
  }
  // Not one of ours: its words are a library's or the engine's ("Cannot read properties of
  // undefined"), which tell a client nothing and show the server's insides. The log has them.
  return { status: 500, body: { code: 'E_INTERNAL', message: 'internal error: the request failed in a way the server did not expect (the server log has the details)' } };
}

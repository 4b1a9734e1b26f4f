/**
 * Fastify's logger, configured so that no patient name or ID can reach the log: requests are
 * logged by method, URL (ids and UIDs only, never paths or query strings) and status; error messages and stacks lose every
 * folder of every path they mention (folder names are often patient names). Nothing in the server
 * logs DICOM attributes.
 */
import type { FastifyServerOptions } from 'fastify';
import { withoutUndefined } from '../util/defined.js';
import { logMessageOf, redactForLog } from './http-errors.js';
import { withoutQuery } from '../util/url-query.js';

export interface LoggerSettings {
  readonly level?: string;
  /** Where to write (tests capture it); default stdout. */
  readonly stream?: { write(line: string): void };
}

interface SerializableError {
  name?: string;
  code?: string;
  statusCode?: number;
  message?: string;
  stack?: string;
}

export function loggerOptions(settings: LoggerSettings | boolean | undefined): NonNullable<FastifyServerOptions['logger']> {
  if (settings === false || settings === undefined) return false;
  const { level = 'info', stream } = settings === true ? {} : settings;
  return {
    level,
    ...(stream ? { stream } : {}),
    serializers: {
      req: (req: { method?: string | undefined; url?: string | undefined; id?: string | undefined }) =>
        // Without the query string: a PACS search's carries a patient ID (GET /api/pacs/studies?patientId=).
        withoutUndefined({ id: req.id, method: req.method, url: req.url === undefined ? undefined : withoutQuery(req.url) }),
      res: (res: { statusCode?: number | undefined }) => withoutUndefined({ statusCode: res.statusCode }),
      err: (err: SerializableError) => {
        // An error that quotes client input says so (withLogMessage): its message and the stack's
        // first line (the message again) stay out of the log.
        const logMessage = logMessageOf(err);
        const stack = err.stack ?? '';
        return {
          type: err.name ?? 'Error',
          code: err.code,
          statusCode: err.statusCode,
          message: logMessage ?? redactForLog(String(err.message ?? '')),
          stack: redactForLog(logMessage === undefined ? stack : stack.split('\n').filter((line) => /^\s+at /.test(line)).join('\n')),
        };
      },
    },
  };
}

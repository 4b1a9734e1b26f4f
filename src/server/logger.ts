/**
 * Fastify's logger, configured so that no patient name or ID can reach the log: requests are
 * logged by method, URL (ids only, never paths) and status; error messages and stacks lose every
 * folder of every path they mention (folder names are often patient names). Nothing in the server
 * logs DICOM attributes.
 */
import type { FastifyServerOptions } from 'fastify';
import { redactForLog } from './http-errors.js';

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

export function loggerOptions(settings: LoggerSettings | boolean | undefined): FastifyServerOptions['logger'] {
  if (settings === false || settings === undefined) return false;
  const { level = 'info', stream } = settings === true ? {} : settings;
  return {
    level,
    ...(stream ? { stream } : {}),
    serializers: {
      req: (req: { method?: string; url?: string; id?: string }) => ({ id: req.id, method: req.method, url: req.url }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      err: (err: SerializableError) => ({
        type: err.name ?? 'Error',
        code: err.code,
        statusCode: err.statusCode,
        message: redactForLog(String(err.message ?? '')),
        stack: err.stack ? redactForLog(err.stack) : '',
      }),
    },
  };
}

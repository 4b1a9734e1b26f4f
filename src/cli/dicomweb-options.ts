/** The DICOMweb client options that `denoise` and `info` share (docs/pacs.md). */
import type { Command } from 'commander';
import { DICOMWEB_AUTH_ENV, type DicomwebClientOptions } from '../dicomweb/client.js';
import { parseIntOption, parseNumberOption } from './output.js';

export interface DicomwebCliOptions {
  dicomwebAuth?: string;
  dicomwebCa?: string;
  dicomwebTimeout?: number;
  dicomwebRetries?: number;
}

/** Every option addDicomwebOptions adds: they act on DICOMweb URLs only (src/cli/pacs-option-scope.ts). */
export const DICOMWEB_OPTION_FLAGS = ['--dicomweb-auth', '--dicomweb-ca', '--dicomweb-timeout', '--dicomweb-retries'] as const;

export function addDicomwebOptions(command: Command): Command {
  return command
    .option('--dicomweb-auth <auth>', `for DICOMweb URLs: basic:<user>:<password> or bearer:<token> (default: $${DICOMWEB_AUTH_ENV}, which keeps it out of the process list)`)
    .option('--dicomweb-ca <pem>', 'for https DICOMweb URLs: PEM file of CA certificates to trust besides the system store')
    .option('--dicomweb-timeout <seconds>', 'per DICOMweb request', parseNumberOption('--dicomweb-timeout', 0.1, 3600), 60)
    .option('--dicomweb-retries <n>', 'retries of a failed DICOMweb request (network error, timeout, 5xx), with back-off 0.5 s, 1 s, 2 s, ...', parseIntOption('--dicomweb-retries', 0, 20), 3);
}

export function dicomwebClientOptions(opts: DicomwebCliOptions, log: (message: string) => void): DicomwebClientOptions {
  return {
    ...(opts.dicomwebAuth !== undefined ? { auth: opts.dicomwebAuth } : {}),
    ...(opts.dicomwebCa !== undefined ? { caFile: opts.dicomwebCa } : {}),
    timeoutMs: (opts.dicomwebTimeout ?? 60) * 1000,
    retries: opts.dicomwebRetries ?? 3,
    log,
  };
}

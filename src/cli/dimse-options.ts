/** The DIMSE options that `denoise` and `info` share (docs/pacs.md, "DIMSE"). */
import type { Command } from 'commander';
import type { DimseClientOptions } from '../dimse/association.js';
import { checkAeTitle } from '../dimse/url.js';
import { parseNumberOption } from './output.js';

/** Our AE title when --calling-aet is not given: what the PACS administrator registers. */
export const DEFAULT_CALLING_AET = 'LOWDOSE';

export interface DimseCliOptions {
  callingAet?: string;
  dimseTimeout?: number;
}

/** Every option addDimseOptions adds: they act on dimse:// addresses only (src/cli/pacs-option-scope.ts). */
export const DIMSE_OPTION_FLAGS = ['--calling-aet', '--dimse-timeout'] as const;

export function addDimseOptions(command: Command): Command {
  return command
    .option('--calling-aet <aet>', `for dimse:// addresses: our AE title, as the PACS knows this machine (default ${DEFAULT_CALLING_AET})`)
    .option('--dimse-timeout <seconds>', 'for dimse:// addresses: connect, association and per-message timeout', parseNumberOption('--dimse-timeout', 0.1, 3600), 60);
}

export function dimseClientOptions(opts: DimseCliOptions): DimseClientOptions {
  return {
    callingAet: checkAeTitle(opts.callingAet ?? DEFAULT_CALLING_AET, '--calling-aet'),
    timeoutMs: (opts.dimseTimeout ?? 60) * 1000,
  };
}

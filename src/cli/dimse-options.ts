/** The DIMSE options that `denoise` and `info` share (docs/pacs.md, "DIMSE"). */
import type { Command } from 'commander';
import type { DimseClientOptions } from '../dimse/association.js';
import { loadDimseTls } from '../dimse/tls.js';
import { checkAeTitle } from '../dimse/url.js';
import { withoutUndefined } from '../util/defined.js';
import { parseNumberOption, usageError } from './output.js';

/** Our AE title when --calling-aet is not given: what the PACS administrator registers. */
export const DEFAULT_CALLING_AET = 'LOWDOSE';

export interface DimseCliOptions {
  callingAet?: string;
  dimseTimeout?: number;
  dimseTls?: boolean;
  dimseCa?: string;
  dimseCert?: string;
  dimseKey?: string;
}

/** Every option addDimseOptions adds: they act on dimse:// addresses only (src/cli/pacs-option-scope.ts). */
export const DIMSE_OPTION_FLAGS = ['--calling-aet', '--dimse-timeout', '--dimse-tls', '--dimse-ca', '--dimse-cert', '--dimse-key'] as const;

export function addDimseOptions(command: Command): Command {
  return command
    .option('--calling-aet <aet>', `for dimse:// addresses: our AE title, as the PACS knows this machine (default ${DEFAULT_CALLING_AET})`)
    .option('--dimse-timeout <seconds>', 'for dimse:// addresses: connect, association and per-message timeout', parseNumberOption('--dimse-timeout', 0.1, 3600), 60)
    .option('--dimse-tls', "for dimse:// addresses (and --store): DICOM TLS on every association; the PACS's certificate is verified against the system CA store and --dimse-ca, and must name the address's host")
    .option('--dimse-ca <pem>', "with --dimse-tls: PEM file of CA certificates to trust besides the system store (the PACS's or hospital's CA)")
    .option('--dimse-cert <pem>', 'with --dimse-tls: PEM file of our client certificate, for a PACS that requires one (mutual TLS), and the server certificate of the C-MOVE storage SCP (--move-port), which then requires it; needs --dimse-key')
    .option('--dimse-key <pem>', 'with --dimse-tls: PEM file of the private key of --dimse-cert (unencrypted)');
}

export function dimseClientOptions(opts: DimseCliOptions): DimseClientOptions {
  const given = Object.entries({ '--dimse-ca': opts.dimseCa, '--dimse-cert': opts.dimseCert, '--dimse-key': opts.dimseKey }).filter(([, v]) => v !== undefined).map(([flag]) => flag);
  // Without --dimse-tls the association would be plain and these ignored: TLS is chosen explicitly.
  if (given.length > 0 && !opts.dimseTls) throw usageError(`${given.join(', ')} ${given.length > 1 ? 'need' : 'needs'} --dimse-tls: without it the associations are not encrypted`);
  return {
    callingAet: checkAeTitle(opts.callingAet ?? DEFAULT_CALLING_AET, '--calling-aet'),
    timeoutMs: (opts.dimseTimeout ?? 60) * 1000,
    ...(opts.dimseTls ? { tls: loadDimseTls(withoutUndefined({ caFile: opts.dimseCa, certFile: opts.dimseCert, keyFile: opts.dimseKey })) } : {}),
  };
}

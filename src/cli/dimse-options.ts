/** The DIMSE options that `denoise`, `info`, `batch`, `worker` and `serve` share, and the C-MOVE ones of `denoise`, `worker` and `serve` (docs/pacs.md, "DIMSE"). */
import type { Command } from 'commander';
import type { DimseClientOptions } from '../dimse/association.js';
import { DIMSE_KEY_PASSPHRASE_ENV, loadDimseTls } from '../dimse/tls.js';
import { checkAeTitle } from '../dimse/url.js';
import { withoutUndefined } from '../util/defined.js';
import { parseIntOption, parseNumberOption, usageError } from './output.js';
import { collect } from './repeatable-options.js';

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
    .option('--dimse-key <pem>', `with --dimse-tls: PEM file of the private key of --dimse-cert; an encrypted key is decrypted with the passphrase in $${DIMSE_KEY_PASSPHRASE_ENV} (never on the command line, which the process list shows)`);
}

export function dimseClientOptions(opts: DimseCliOptions): DimseClientOptions {
  const given = Object.entries({ '--dimse-ca': opts.dimseCa, '--dimse-cert': opts.dimseCert, '--dimse-key': opts.dimseKey }).filter(([, v]) => v !== undefined).map(([flag]) => flag);
  // Without --dimse-tls the association would be plain and these ignored: TLS is chosen explicitly.
  if (given.length > 0 && !opts.dimseTls) throw usageError(`${given.join(', ')} ${given.length > 1 ? 'need' : 'needs'} --dimse-tls: without it the associations are not encrypted`);
  return {
    callingAet: checkAeTitle(opts.callingAet ?? DEFAULT_CALLING_AET, '--calling-aet'),
    timeoutMs: (opts.dimseTimeout ?? 60) * 1000,
    ...(opts.dimseTls ? { tls: loadDimseTls(withoutUndefined({ caFile: opts.dimseCa, certFile: opts.dimseCert, keyFile: opts.dimseKey, keyPassphrase: process.env[DIMSE_KEY_PASSPHRASE_ENV] || undefined })) } : {}),
  };
}

export interface MoveCliOptions {
  movePort?: number;
  moveFrom?: string[];
  moveRequireCert?: boolean;
}

/** Every option addMoveOptions adds. */
export const MOVE_OPTION_FLAGS = ['--move-port', '--move-from', '--move-require-cert'] as const;

/**
 * The C-MOVE options, wherever a dimse:// pull happens (`denoise`, `worker`, `serve --dimse`); `scope`
 * begins their help ("with a dimse:// input", "for dimse:// jobs", "with --dimse").
 */
export function addMoveOptions(command: Command, scope: string): Command {
  return command
    .option('--move-port <port>', `${scope}: fetch with C-MOVE to a storage SCP lowdose opens on this port, instead of C-GET (the PACS must know --calling-aet at this machine and port)`, parseIntOption('--move-port', 1, 65535))
    .option('--move-from <host>', "with --move-port: a host (name or address) the PACS sends the C-MOVE's instances from, when that is not the host of its dimse:// address (behind NAT, in a container, another interface); repeatable (default: only the dimse:// host's addresses may call our storage SCP)", collect)
    .option(
      '--move-require-cert',
      "with --move-port and --dimse-tls: our TLS storage SCP refuses a PACS that presents no client certificate (default: one is asked for and verified when presented, and a PACS presenting none is taken, its address checked, as PS3.15 B.1 leaves client authentication to the site's policy)",
    );
}

/** The C-MOVE options checked: usage errors (exit 2) before anything is sent. */
export function moveOptions(opts: MoveCliOptions & DimseCliOptions): { movePort?: number; moveFrom?: string[]; moveRequireCert?: true } {
  // With --dimse-tls our storage SCP is a TLS server too, and a TLS server needs a certificate.
  if (opts.movePort !== undefined && opts.dimseTls && opts.dimseCert === undefined) throw usageError('--move-port with --dimse-tls needs --dimse-cert and --dimse-key: our storage SCP is then a TLS server, and the PACS connects to it only with our certificate');
  if (opts.moveFrom !== undefined && opts.movePort === undefined) throw usageError('--move-from needs --move-port: only a C-MOVE receives instances from the PACS');
  if (opts.moveRequireCert && (opts.movePort === undefined || !opts.dimseTls)) throw usageError('--move-require-cert needs --move-port and --dimse-tls: only our TLS storage SCP asks the PACS for a client certificate');
  return withoutUndefined({ movePort: opts.movePort, moveFrom: opts.moveFrom, moveRequireCert: opts.moveRequireCert ? (true as const) : undefined });
}

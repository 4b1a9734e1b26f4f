/**
 * DICOM TLS (PS3.15 B.1, the "Basic TLS Secure Transport Connection Profile") for our DIMSE
 * associations: the PEM files a run is given, read and checked before the first connection, and the
 * Node TLS options dcmjs-dimse opens the connection with. The server's certificate is always
 * verified (CA chain and host name); there is no option to skip that.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, type TLSSocket } from 'node:tls';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { LowdoseError } from '../errors.js';
import { withDefaultCas } from '../util/trusted-cas.js';

/** What `--dimse-tls` with `--dimse-ca` / `--dimse-cert` / `--dimse-key` amount to (PEM contents). */
export interface DimseTls {
  /** CA certificates to trust besides the system store (a hospital's own CA). */
  readonly ca?: string;
  /** Our certificate and its private key, for a PACS that requires client certificates (mutual TLS). */
  readonly cert?: string;
  readonly key?: string;
}

export interface DimseTlsFiles {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  /** The passphrase of an encrypted `keyFile` ($LOWDOSE_DIMSE_KEY_PASSPHRASE: never a command-line argument, which `ps` shows). */
  readonly keyPassphrase?: string;
}

/** The environment variable that holds the passphrase of an encrypted --dimse-key. */
export const DIMSE_KEY_PASSPHRASE_ENV = 'LOWDOSE_DIMSE_KEY_PASSPHRASE';

function readPem(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new LowdoseError('E_USAGE', `${flag} ${file}: ${(error as Error).message}`);
  }
}

function checkCertificates(pem: string, file: string, flag: string): void {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new LowdoseError('E_USAGE', `${flag} ${file}: no PEM certificate in it (-----BEGIN CERTIFICATE-----)`);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (error) {
      throw new LowdoseError('E_USAGE', `${flag} ${file}: not a readable certificate (${(error as Error).message})`);
    }
  }
}

/** An encrypted PEM private key: PKCS#8 (`openssl pkcs8 -topk8 -v2 ...`, `openssl genpkey -aes256`) or OpenSSL's traditional form (`Proc-Type: 4,ENCRYPTED`). */
const ENCRYPTED_KEY = /-----BEGIN ENCRYPTED PRIVATE KEY-----|^Proc-Type:\s*4,ENCRYPTED\s*$/m;

/**
 * The private key as an unencrypted PEM: `pem` itself when it is not encrypted (or not a key at all:
 * the pairing check with the certificate names that), else decrypted with `passphrase` (held in
 * memory only, as Node would hold it). An encrypted key without its passphrase, or with a wrong
 * one, is E_USAGE naming the file and $LOWDOSE_DIMSE_KEY_PASSPHRASE.
 */
function unlockKey(pem: string, file: string, passphrase: string | undefined): string {
  if (!ENCRYPTED_KEY.test(pem)) return pem;
  if (passphrase === undefined) {
    throw new LowdoseError('E_USAGE', `--dimse-key ${file} is encrypted: give its passphrase in $${DIMSE_KEY_PASSPHRASE_ENV} (an environment variable, which the process list does not show)`);
  }
  try {
    return createPrivateKey({ key: pem, passphrase }).export({ type: 'pkcs8', format: 'pem' }) as string;
  } catch (error) {
    throw new LowdoseError('E_USAGE', `--dimse-key ${file}: $${DIMSE_KEY_PASSPHRASE_ENV} does not decrypt it (${(error as Error).message})`);
  }
}

/** Reads and checks the PEM files: each certificate parses, an encrypted key is decrypted, and a client certificate comes with its own key. */
export function loadDimseTls(files: DimseTlsFiles): DimseTls {
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    throw new LowdoseError('E_USAGE', '--dimse-cert and --dimse-key go together: a client certificate needs its private key, and a key its certificate');
  }
  const ca = files.caFile === undefined ? undefined : readPem(files.caFile, '--dimse-ca');
  if (ca !== undefined) checkCertificates(ca, files.caFile!, '--dimse-ca');
  const cert = files.certFile === undefined ? undefined : readPem(files.certFile, '--dimse-cert');
  const key = files.keyFile === undefined ? undefined : unlockKey(readPem(files.keyFile, '--dimse-key'), files.keyFile, files.keyPassphrase);
  if (cert !== undefined && key !== undefined) {
    checkCertificates(cert, files.certFile!, '--dimse-cert');
    try {
      createSecureContext({ cert, key });
    } catch (error) {
      throw new LowdoseError('E_USAGE', `--dimse-cert ${files.certFile} with --dimse-key ${files.keyFile}: ${(error as Error).message}`);
    }
  }
  return { ...(ca !== undefined ? { ca } : {}), ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) };
}

/** dcmjs-dimse's `securityOptions`: verification on, the given CA added to the system store. */
export function securityOptions(tls: DimseTls): { ca?: string[]; cert?: string; key?: string; rejectUnauthorized: true; minVersion: 'TLSv1.2' } {
  return {
    ...(tls.ca !== undefined ? { ca: withDefaultCas(tls.ca) } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
    ...(tls.key !== undefined ? { key: tls.key } : {}),
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  };
}

/**
 * dcmjs-dimse's Server `securityOptions` for our C-MOVE storage SCP (`--move-port` with
 * `--dimse-tls`): our certificate and key (a TLS server needs one, so they are required), the
 * PACS's client certificate asked for and, when it presents one, checked against the system store
 * plus the given CA by the SCP itself (untrustedClient), which also refuses a PACS presenting none
 * under --move-require-cert, naming why (Node's own refusal would leave only a failed handshake).
 */
export function serverSecurityOptions(tls: DimseTls): { ca?: string[]; cert: string; key: string; requestCert: true; rejectUnauthorized: false; minVersion: 'TLSv1.2' } {
  if (tls.cert === undefined || tls.key === undefined) {
    throw new LowdoseError('E_USAGE', '--move-port with --dimse-tls needs --dimse-cert and --dimse-key: our storage SCP is then a TLS server, and the PACS connects to it only with our certificate');
  }
  return {
    ...(tls.ca !== undefined ? { ca: withDefaultCas(tls.ca) } : {}),
    cert: tls.cert,
    key: tls.key,
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
  };
}

/**
 * Why our storage SCP refuses a TLS caller, or null to take it: a client certificate that does not
 * chain to the system store or --dimse-ca is refused; a caller without one is refused when
 * `requireCertificate` (--move-require-cert), else taken (its address is checked as on a plain port).
 */
export function untrustedClient(socket: TLSSocket, requireCertificate = false): string | null {
  const presented = Object.keys(socket.getPeerCertificate()).length > 0;
  if (!presented) return requireCertificate ? 'TLS client certificate required (--move-require-cert): the caller presented none' : null;
  if (socket.authorized) return null;
  return `TLS client certificate not trusted (${String(socket.authorizationError)})`;
}

/** Node's codes for a server certificate that does not chain to a trusted CA. */
const UNTRUSTED = /^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE)$/;

/**
 * A TLS failure as the toolkit's error, or null for another error. A certificate we do not trust or
 * that does not name the host is a configuration matter (E_USAGE, exit 2), as for --dicomweb-ca.
 */
export function tlsFailure(url: string, host: string, error: Error & { code?: string }): LowdoseError | null {
  const code = error.code ?? '';
  if (UNTRUSTED.test(code)) {
    return new LowdoseError('E_USAGE', `${url}: TLS certificate not trusted (${code}: ${error.message}); pass the PACS's CA with --dimse-ca <pem>`, { path: url, cause: error });
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new LowdoseError('E_USAGE', `${url}: the PACS's TLS certificate does not name ${host} (${error.message}); use the host name the certificate was issued for`, { path: url, cause: error });
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return new LowdoseError('E_IO', `${url}: the PACS's TLS certificate is not valid now (${code}: ${error.message})`, { path: url, cause: error });
  }
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED') {
    return new LowdoseError('E_USAGE', `${url}: the PACS requires a client certificate (TLS alert "certificate required"); pass ours with --dimse-cert <pem> --dimse-key <pem>`, { path: url, cause: error });
  }
  if (/^ERR_SSL_(SSLV3|TLSV1)_ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|ACCESS_DENIED)$/.test(code)) {
    return new LowdoseError('E_USAGE', `${url}: the PACS did not accept our client certificate (TLS alert "${handshakeReason(error)}"); it must trust the CA of --dimse-cert`, { path: url, cause: error });
  }
  if (/^ERR_SSL_|^ERR_TLS_/.test(code) || /\bSSL routines\b/.test(error.message)) {
    return new LowdoseError('E_IO', `${url}: TLS handshake failed (${handshakeReason(error)}); does this port speak DICOM TLS?`, { path: url, cause: error });
  }
  return null;
}

/** OpenSSL's reason ("tlsv13 alert certificate required") out of its long message, else Node's code or message. */
function handshakeReason(error: Error & { code?: string }): string {
  return /SSL routines:[^:]*:([^:]+)/.exec(error.message)?.[1] ?? error.code ?? error.message;
}

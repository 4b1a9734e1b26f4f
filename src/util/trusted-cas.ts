/**
 * The CAs a TLS connection trusts when the user adds one (`--dicomweb-ca`, `--dimse-ca`). Node's
 * `ca` option replaces the CAs it trusts by default instead of adding to them, so given alone a
 * hospital CA would make every publicly signed server (a cloud PACS, a proxy in front of one)
 * untrusted on the same run: the default CAs are passed along with it.
 */
import { rootCertificates } from 'node:tls';

export function withDefaultCas(pem: string): string[] {
  return [...rootCertificates, pem];
}

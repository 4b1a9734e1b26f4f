/**
 * A CA the user gives (--dicomweb-ca, --dimse-ca) is trusted besides Node's default CAs, not
 * instead of them: Node's `ca` option alone replaces the defaults.
 */
import { rootCertificates } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { securityOptions } from '../../src/dimse/tls.js';
import { withDefaultCas } from '../../src/util/trusted-cas.js';

const HOSPITAL_CA = '-----BEGIN CERTIFICATE-----\nnot parsed here\n-----END CERTIFICATE-----\n';

describe('trusted CAs', () => {
  it('are the default CAs and the given one', () => {
    const cas = withDefaultCas(HOSPITAL_CA);
    expect(rootCertificates.length).toBeGreaterThan(50);
    expect(cas).toEqual([...rootCertificates, HOSPITAL_CA]);
  });

  it('DIMSE TLS trusts the given CA besides the defaults', () => {
    expect(securityOptions({ ca: HOSPITAL_CA }).ca).toEqual([...rootCertificates, HOSPITAL_CA]);
  });
});

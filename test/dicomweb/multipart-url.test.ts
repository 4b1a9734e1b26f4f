import { describe, expect, it } from 'vitest';
import { boundaryOf, buildMultipart, parseMultipart } from '../../src/dicomweb/multipart.js';
import { parseAuth } from '../../src/dicomweb/client.js';
import { parseDicomwebBase, parseDicomwebUrl } from '../../src/dicomweb/url.js';

describe('multipart/related bodies', () => {
  it('round-trips parts whose bytes contain the boundary text and CRLFs', () => {
    const parts = [Buffer.from('DICM\r\n--not-the-boundary\r\n\r\n'), Buffer.alloc(1000, 7), Buffer.alloc(0)];
    const { body, contentType } = buildMultipart(parts);
    const parsed = parseMultipart(body, boundaryOf(contentType));
    expect(parsed.map((p) => Buffer.compare(p.body, parts[parsed.indexOf(p)]!))).toEqual([0, 0, 0]);
    expect(parsed[0]!.headers['content-type']).toBe('application/dicom');
  });

  it('reads parts without Content-Length and a quoted boundary, and refuses a body cut short', () => {
    const body = Buffer.from('preamble\r\n--b1\r\nContent-Type: application/dicom\r\n\r\nAAA\r\n--b1\r\n\r\nBB\r\n--b1--\r\n');
    expect(parseMultipart(body, boundaryOf('multipart/related; type="application/dicom"; boundary="b1"')).map((p) => p.body.toString())).toEqual(['AAA', 'BB']);
    expect(() => parseMultipart(body.subarray(0, 60), 'b1')).toThrow(/ends inside a part/);
    expect(() => boundaryOf('multipart/related')).toThrow(/without a boundary/);
  });
});

describe('DICOMweb URLs and credentials', () => {
  it('splits a study or series URL into the service base and the UIDs', () => {
    expect(parseDicomwebUrl('https://pacs:8443/dcm4chee-arc/aets/DCM4CHEE/rs/studies/1.2.3/series/1.2.3.4/')).toEqual({
      base: 'https://pacs:8443/dcm4chee-arc/aets/DCM4CHEE/rs',
      studyInstanceUid: '1.2.3',
      seriesInstanceUid: '1.2.3.4',
    });
    expect(parseDicomwebUrl('http://h/studies/1.2').base).toBe('http://h');
    expect(parseDicomwebBase('http://h:8042/dicom-web/')).toBe('http://h:8042/dicom-web');
  });

  it('refuses URLs that are not a study, UIDs that are not UIDs and passwords inside the URL', () => {
    expect(() => parseDicomwebUrl('http://h/dicom-web/series/1.2')).toThrow(/not a DICOMweb study or series URL/);
    expect(() => parseDicomwebUrl('http://h/studies/abc')).toThrow(/not a DICOM UID/);
    expect(() => parseDicomwebUrl('http://u:p@h/studies/1.2')).toThrow(/credentials in the URL/);
  });

  it('turns basic and bearer credentials into Authorization headers, and refuses anything else', () => {
    expect(parseAuth('basic:alice:pa:ss')).toBe(`Basic ${Buffer.from('alice:pa:ss').toString('base64')}`);
    expect(parseAuth('bearer:tok')).toBe('Bearer tok');
    expect(parseAuth(undefined)).toBeNull();
    expect(() => parseAuth('alice:secret')).toThrow(/basic:<user>:<password> or bearer:<token>/);
    expect(() => parseAuth('basic:nopassword')).toThrow(/basic:<user>/);
  });
});

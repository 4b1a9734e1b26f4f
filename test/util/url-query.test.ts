import { describe, expect, it } from 'vitest';
import { redactForLog } from '../../src/server/http-errors.js';
import { withoutQueries } from '../../src/util/url-query.js';

describe('withoutQueries: PACS addresses in messages and logs lose their query string', () => {
  it('cuts the query (a patient ID) off every URL in a message and keeps the rest', () => {
    expect(withoutQueries('GET http://pacs:8042/dicom-web/studies?PatientID=123&limit=100: HTTP 500 Internal Server Error')).toBe(
      'GET http://pacs:8042/dicom-web/studies?…: HTTP 500 Internal Server Error',
    );
    expect(withoutQueries('http://pacs/dicom-web/studies/1.2/series: ECONNREFUSED')).toBe('http://pacs/dicom-web/studies/1.2/series: ECONNREFUSED');
  });

  it('a dimse:// address and a quoted URL in the same sentence: each query goes, the study UID in the path stays', () => {
    expect(withoutQueries('C-FIND of dimse://PACS@host:104/1.2.3?patient-id=SECRET123, then "https://pacs/studies/1.2.3/series?PatientName=DOE^JANE"')).toBe(
      'C-FIND of dimse://PACS@host:104/1.2.3?…, then "https://pacs/studies/1.2.3/series?…"',
    );
  });

  it("the server's log redaction drops the query along with the folders", () => {
    const logged = redactForLog('study query on http://pacs/dicom-web/studies?PatientID=SECRET123&limit=101 failed');
    expect(logged).not.toContain('SECRET123');
    expect(logged).toContain('studies?… failed');
  });
});

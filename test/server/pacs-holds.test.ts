/** Which series may be stored back: only files in the PACS pull folder, reached by its path or its real path. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PacsService, withoutQueries } from '../../src/server/pacs.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-pacs-holds-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('PacsService.holds', () => {
  it('accepts files under the pull folder by either path, and refuses files elsewhere or none', async () => {
    const real = path.join(root, 'real-work');
    mkdirSync(path.join(real, 'pacs', 'abc'), { recursive: true });
    symlinkSync(real, path.join(root, 'link-work'));
    const pacs = new PacsService({ base: 'http://127.0.0.1:1/dicom-web', pullDir: path.join(root, 'link-work', 'pacs') });
    try {
      expect(pacs.holds([path.join(root, 'link-work', 'pacs', 'abc', '1.dcm')])).toBe(true);
      expect(pacs.holds([path.join(real, 'pacs', 'abc', '1.dcm')])).toBe(true);
      expect(pacs.holds([path.join(real, 'pacs', 'abc', '1.dcm'), path.join(real, 'uploads', '2.dcm')])).toBe(false);
      expect(pacs.holds([path.join(real, 'pacs-other', '1.dcm')])).toBe(false);
      expect(pacs.holds([])).toBe(false);
    } finally {
      await pacs.close();
    }
  });
});

describe('withoutQueries', () => {
  it('cuts the query (a patient ID) off every URL in a message and keeps the rest', () => {
    expect(withoutQueries('GET http://pacs:8042/dicom-web/studies?PatientID=123&limit=100: HTTP 500 Internal Server Error')).toBe(
      'GET http://pacs:8042/dicom-web/studies?…: HTTP 500 Internal Server Error',
    );
    expect(withoutQueries('http://pacs/dicom-web/studies/1.2/series: ECONNREFUSED')).toBe('http://pacs/dicom-web/studies/1.2/series: ECONNREFUSED');
  });
});

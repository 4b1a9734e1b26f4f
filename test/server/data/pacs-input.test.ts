/** A PACS run's `input.url` as `serve` reads it: which PACS and series it names, and whether this server's PACS can open it. */
import { describe, expect, it } from 'vitest';
import { pacsInputSource, parsePacsInputUrl } from '../../../src/server/data/pacs-input.js';

const WEB = 'http://pacs.example:8042/dicom-web/studies/1.2.3/series/1.2.3.4';
const DIMSE = 'dimse://ORTHANC@127.0.0.1:4242/1.2.3/1.2.3.4';

describe('the low-dose source a PACS run names', () => {
  it('a DICOMweb series URL and a dimse:// series address name their PACS, study and series; a study or a folder names none', () => {
    expect(parsePacsInputUrl(WEB)).toEqual({ protocol: 'dicomweb', base: 'http://pacs.example:8042/dicom-web', studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.3.4' });
    expect(parsePacsInputUrl(DIMSE)).toEqual({ protocol: 'dimse', base: 'dimse://ORTHANC@127.0.0.1:4242', studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.3.4' });
    expect(parsePacsInputUrl('http://pacs.example:8042/dicom-web/studies/1.2.3')).toBeNull();
    expect(parsePacsInputUrl('dimse://ORTHANC@127.0.0.1:4242/1.2.3')).toBeNull();
    expect(parsePacsInputUrl('/data/ct')).toBeNull();
  });

  it('is openable only through the same PACS over the same protocol; otherwise the reason names the option to start serve with', () => {
    expect(pacsInputSource(DIMSE, { protocol: 'dimse', base: 'dimse://ORTHANC@127.0.0.1:4242' })).toEqual({ url: DIMSE, studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.3.4', openable: true, reason: null });
    expect(pacsInputSource(WEB, { protocol: 'dicomweb', base: 'http://pacs.example:8042/dicom-web/' })?.openable).toBe(true);
    expect(pacsInputSource(DIMSE, null)?.reason).toBe(
      `the low-dose series was pulled from ${DIMSE} and the run removed its copy; this server has no PACS to open it from: start lowdose serve with --dimse dimse://ORTHANC@127.0.0.1:4242`,
    );
    expect(pacsInputSource(DIMSE, { protocol: 'dimse', base: 'dimse://OTHER@127.0.0.1:4242' })?.reason).toMatch(/this server's PACS is dimse:\/\/OTHER@127\.0\.0\.1:4242, not dimse:\/\/ORTHANC@127\.0\.0\.1:4242: start lowdose serve with --dimse dimse:\/\/ORTHANC@127\.0\.0\.1:4242$/);
    expect(pacsInputSource(WEB, { protocol: 'dimse', base: 'dimse://ORTHANC@127.0.0.1:4242' })?.openable).toBe(false);
    expect(pacsInputSource('/data/ct', null)).toBeNull();
  });
});

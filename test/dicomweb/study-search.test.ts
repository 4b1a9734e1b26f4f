/** The QIDO-RS study search URL: patient ID, an inclusive StudyDate range open at either end, the fields the viewer lists. */
import { describe, expect, it } from 'vitest';
import { studySearchUrl } from '../../src/dicomweb/study.js';

const BASE = 'https://pacs.example.org/dicom-web';
const query = (url: string) => new URL(url).searchParams;

describe('studySearchUrl', () => {
  it('asks for the description, modalities and counts of every study, 100 at most by default', () => {
    const params = query(studySearchUrl(BASE, {}));
    expect(studySearchUrl(BASE, {}).startsWith(`${BASE}/studies?`)).toBe(true);
    expect(params.getAll('includefield')).toEqual(['00081030', '00080061', '00201206', '00201208']);
    expect(params.get('limit')).toBe('100');
    expect(params.has('PatientID')).toBe(false);
    expect(params.has('StudyDate')).toBe(false);
  });

  it('matches a patient ID as given, wildcards included, and encodes it', () => {
    expect(query(studySearchUrl(BASE, { patientId: 'AB&C*' })).get('PatientID')).toBe('AB&C*');
    expect(studySearchUrl(BASE, { patientId: 'AB&C*' })).toContain('PatientID=AB%26C*');
  });

  it('writes a date range as DICOM range matching, open at either end, one day as a single date', () => {
    expect(query(studySearchUrl(BASE, { from: '20200101', to: '20201231' })).get('StudyDate')).toBe('20200101-20201231');
    expect(query(studySearchUrl(BASE, { from: '20200101' })).get('StudyDate')).toBe('20200101-');
    expect(query(studySearchUrl(BASE, { to: '20201231' })).get('StudyDate')).toBe('-20201231');
    expect(query(studySearchUrl(BASE, { from: '20200101', to: '20200101' })).get('StudyDate')).toBe('20200101');
  });

  it('refuses dates that are not YYYYMMDD and an empty range', () => {
    expect(() => studySearchUrl(BASE, { from: '2020-01-01' })).toThrow(/YYYYMMDD/);
    expect(() => studySearchUrl(BASE, { from: '20200102', to: '20200101' })).toThrow(/range is empty/);
  });
});

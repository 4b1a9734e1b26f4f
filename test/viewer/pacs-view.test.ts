/** The PACS browser's pure parts: names, dates and the search form as the API's query; a store-back job's message. */
import { describe, expect, it } from 'vitest';
import type { JobView } from '../../src/server/api-types.js';
import { displayDate, displayName, storedMessage, studyQuery } from '../../viewer/src/pacs-view.js';

describe('PACS browser text', () => {
  it('shows a DICOM person name as "Family, Given Middle" and a DA as YYYY-MM-DD', () => {
    expect(displayName('Doe^Jane^Q^Dr')).toBe('Doe, Jane Q');
    expect(displayName('JANCT000')).toBe('JANCT000');
    expect(displayName('Yamada^Tarou=山田^太郎')).toBe('Yamada, Tarou');
    expect(displayName('')).toBe('');
    expect(displayDate('20030417')).toBe('2003-04-17');
    expect(displayDate('')).toBe('');
  });

  it('turns the search form into the API query: trimmed patient ID, dates as DA, empty fields left out', () => {
    expect(studyQuery('  99000 ', '2000-01-01', '2010-12-31')).toEqual({ patientId: '99000', from: '20000101', to: '20101231' });
    expect(studyQuery('', '', '2010-12-31')).toEqual({ to: '20101231' });
    expect(studyQuery(' ', '', '')).toEqual({});
  });

  it('counts the series and images a store-back job stored', () => {
    const job = { result: { stored: [{ instances: 3 }, { instances: 3 }] } } as unknown as JobView;
    expect(storedMessage(job)).toBe('stored 2 series (6 images) in the PACS');
    expect(storedMessage({ result: { stored: [{ instances: 1 }] } } as unknown as JobView)).toBe('stored 1 series (1 image) in the PACS');
  });
});

/** The PACS browser's pure parts: names, dates and the search form as the API's query; a store-back job's message. */
import { describe, expect, it } from 'vitest';
import type { JobView } from '../../src/server/api-types.js';
import { displayDate, displayName, incompleteRefusalText, incompleteResultText, resultErrorsText, storedMessage, studiesMessage, studyQuery } from '../../viewer/src/pacs-view.js';

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

  it('says when the study list is not every match, with the server\'s reason, and not when it is', () => {
    const more = 'more than 2 studies match: these are 2 of them, newest first, not necessarily the newest 2 on the server; narrow the search';
    expect(studiesMessage(2, more)).toBe(`2 studies; not every match is listed: ${more}. Click one for its series.`);
    // Exactly `limit` studies and no more: all of them, nothing to narrow.
    expect(studiesMessage(2, null)).toBe('2 studies. Click one for its series.');
    expect(studiesMessage(1, null)).toBe('1 study. Click one for its series.');
    expect(studiesMessage(0, null)).toBe('No study matches.');
  });

  it('counts the series and images a store-back job stored', () => {
    const job = { result: { stored: [{ instances: 3 }, { instances: 3 }] } } as unknown as JobView;
    expect(storedMessage(job)).toBe('stored 2 series (6 images) in the PACS');
    expect(storedMessage({ result: { stored: [{ instances: 1 }] } } as unknown as JobView)).toBe('stored 1 series (1 image) in the PACS');
  });

  it('says why a job on a series the PACS gave short of its instances was refused and how to denoise it all the same, and what a job allowed to denoise it made', () => {
    expect(incompleteRefusalText({ expected: 120, received: 100 })).toBe(
      'the PACS sent 100 of the 120 images of this series, so the denoised series would lack 20; nothing was denoised. ' +
        'Tick "Denoise the incomplete series as it came" in the Denoise dialog to denoise the 100 that came',
    );
    const partial = { result: { incomplete: [{ series: 'a', seriesInstanceUid: '1.2', expected: 120, received: 100 }] } } as unknown as JobView;
    expect(incompleteResultText(partial)).toBe('; incomplete input: 100 of the 120 images, the denoised series lacks 20');
    const pet = { result: { incomplete: [{ series: 'a', seriesInstanceUid: '1.2', expected: 6, received: 2, suvNote: 'SUVbw is decayed to ...' }] } } as unknown as JobView;
    expect(incompleteResultText(pet)).toBe('; incomplete input: 2 of the 6 images, the denoised series lacks 4 (SUVbw is decayed to ...)');
    expect(incompleteResultText({ result: { comparisons: [], errors: [] } } as unknown as JobView)).toBe('');
    expect(incompleteResultText({ result: null } as unknown as JobView)).toBe('');
  });

  it("says what a finished job left out (its result's errors), naming a reference's as the reference's", () => {
    const unreadable = { code: 'E_TRUNCATED', message: 'instance 1.2.3 of series 1.2: PixelData is cut short' };
    const one = { result: { comparisons: ['c'], errors: [unreadable] } } as unknown as JobView;
    expect(resultErrorsText(one)).toBe('; one problem: instance 1.2.3 of series 1.2: PixelData is cut short [E_TRUNCATED]');
    const several = { result: { comparisons: ['c'], errors: [{ ...unreadable, role: 'reference' }, unreadable, unreadable] } } as unknown as JobView;
    expect(resultErrorsText(several)).toBe("; 3 problems: reference: instance 1.2.3 of series 1.2: PixelData is cut short [E_TRUNCATED] (and 2 more: the job's result lists them)");
    expect(resultErrorsText({ result: { comparisons: ['c'], errors: [] } } as unknown as JobView)).toBe('');
    expect(resultErrorsText({ result: null } as unknown as JobView)).toBe('');
  });
});

/**
 * Which series of a study `denoise <DICOMweb URL>` and `denoise dimse://...` pull (the one rule of
 * src/pipeline/remote-denoise.ts both use): CT and PET only, no series lowdose derived unless the
 * URL names it, and a clear E_NOT_FOUND before anything is retrieved when none is left.
 */
import { describe, expect, it } from 'vitest';
import { seriesToDenoise } from '../../src/pipeline/remote-denoise.js';

const study = [
  { seriesInstanceUid: '1.1', modality: 'CT' },
  { seriesInstanceUid: '1.2', modality: 'SR' },
  { seriesInstanceUid: '1.3', modality: 'CT' },
  { seriesInstanceUid: '1.4', modality: 'PT' },
];

describe('seriesToDenoise', () => {
  it('keeps CT and PET, leaves out other modalities and what lowdose derived, and logs each left out', async () => {
    const log: string[] = [];
    const asked: string[] = [];
    const wanted = await seriesToDenoise(study, 'http://pacs/dicom-web/studies/1', {
      named: false,
      derived: async (s) => {
        asked.push(s.seriesInstanceUid);
        return s.seriesInstanceUid === '1.3';
      },
      log: (m) => log.push(m),
    });
    expect(wanted.map((s) => s.seriesInstanceUid)).toEqual(['1.1', '1.4']);
    // The derived check (a QIDO or C-FIND request) is made only for CT and PET series.
    expect(asked).toEqual(['1.1', '1.3', '1.4']);
    expect(log).toEqual(['skipping SR series 1.2: only CT and PET are denoised', 'skipping series 1.3: lowdose derived it']);
  });

  it('denoises a series the URL names even when lowdose derived it, without asking', async () => {
    const wanted = await seriesToDenoise([study[2]!], 'dimse://PACS@host:104/1/1.3', {
      named: true,
      derived: () => Promise.reject(new Error('not asked for a named series')),
      log: () => {},
    });
    expect(wanted).toEqual([study[2]]);
  });

  it('refuses a study with nothing to denoise with E_NOT_FOUND naming the source', async () => {
    const only = seriesToDenoise([study[1]!], 'http://pacs/dicom-web/studies/1/series/1.2', { named: true, derived: async () => false, log: () => {} });
    await expect(only).rejects.toMatchObject({ code: 'E_NOT_FOUND', message: 'no CT or PET series in http://pacs/dicom-web/studies/1/series/1.2' });
    await expect(seriesToDenoise([], 'dimse://PACS@host:104/1', { named: false, derived: async () => false, log: () => {} })).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
  });
});

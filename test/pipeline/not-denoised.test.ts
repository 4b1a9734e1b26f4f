import { describe, expect, it } from 'vitest';
import { scanPaths } from '../../src/dicom/index.js';
import { notDenoisedMessage } from '../../src/pipeline/not-denoised.js';
import { corpusPath } from '../dicom/helpers/corpus.js';

describe('notDenoisedMessage: the line for a series a run skips', () => {
  it('names the modality and the series, and reads without either', () => {
    expect(notDenoisedMessage({ modality: 'MR', seriesInstanceUid: '1.2.3' })).toBe('skipping MR series 1.2.3: only CT and PET are denoised');
    expect(notDenoisedMessage({ modality: '', seriesInstanceUid: '' })).toBe('skipping series without a Modality (no SeriesInstanceUID): only CT and PET are denoised');
  });

  it('names each part of a UID split into several series by its key, not the same UID over and over', async () => {
    // pydicom's dicomdirtests MR700: one SeriesInstanceUID, slices of several orientations.
    const { series } = await scanPaths([corpusPath('pydicom__pydicom/src/pydicom/data/test_files/dicomdirtests/98892003/MR700')]);
    expect(series.length).toBeGreaterThan(1);
    expect(new Set(series.map((s) => s.seriesInstanceUid)).size).toBe(1);
    const lines = series.map((s) => notDenoisedMessage(s));
    expect(new Set(lines).size).toBe(series.length);
    expect(lines[0]).toBe(`skipping MR series ${series[0]!.key}: only CT and PET are denoised`);
    expect(notDenoisedMessage({ modality: 'MR', seriesInstanceUid: '1.2.3', key: '1.2.3' })).toBe('skipping MR series 1.2.3: only CT and PET are denoised');
  });
});

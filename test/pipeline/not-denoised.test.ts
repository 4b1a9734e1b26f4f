import { describe, expect, it } from 'vitest';
import { notDenoisedMessage } from '../../src/pipeline/not-denoised.js';

describe('notDenoisedMessage: the line for a series a run skips', () => {
  it('names the modality and the series, and reads without either', () => {
    expect(notDenoisedMessage({ modality: 'MR', seriesInstanceUid: '1.2.3' })).toBe('skipping MR series 1.2.3: only CT and PET are denoised');
    expect(notDenoisedMessage({ modality: '', seriesInstanceUid: '' })).toBe('skipping series without a Modality (no SeriesInstanceUID): only CT and PET are denoised');
  });
});

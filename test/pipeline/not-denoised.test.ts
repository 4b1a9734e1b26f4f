import { describe, expect, it } from 'vitest';
import { scanPaths } from '../../src/dicom/index.js';
import type { Series } from '../../src/dicom/index.js';
import { notDenoisedMessage, seriesToDenoiseIn } from '../../src/pipeline/not-denoised.js';
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

describe('seriesToDenoiseIn: the series a folder run denoises', () => {
  const series = (uid: string, modality: string, seriesDescription: string, derivationDescription = '') =>
    ({ key: uid, seriesInstanceUid: uid, modality, seriesDescription, derivationDescription }) as Series;
  const scanned = [
    series('1', 'CT', 'Abdomen 1.0 B30f'),
    series('2', 'CT', 'Abdomen lowdose denoised', 'lowdose diffusion model lowdose-ct'),
    series('3', 'PT', 'PET simulated 25% dose', 'lowdose simulate: 25% dose'),
    series('4', 'CT', 'Thorax lowdose nlm uncertainty'),
    series('5', 'MR', 'T1'),
  ];

  it('leaves out lowdose-derived series (DerivationDescription, else the description suffix) and other modalities, each with a line', () => {
    const lines: string[] = [];
    const { wanted, skipped } = seriesToDenoiseIn(scanned, { log: (line) => lines.push(line) });
    expect(wanted.map((s) => s.key)).toEqual(['1', '3']);
    expect(skipped.map((s) => [s.key, s.reason])).toEqual([['2', 'derived'], ['4', 'derived'], ['5', 'modality']]);
    expect(lines).toEqual(skipped.map((s) => s.message));
    expect(lines[0]).toBe('skipping CT series 2 ("Abdomen lowdose denoised"): lowdose derived it; --include-derived denoises it again');
  });

  it('keeps the derived series with includeDerived', () => {
    const { wanted, skipped } = seriesToDenoiseIn(scanned, { includeDerived: true, log: () => {} });
    expect(wanted.map((s) => s.key)).toEqual(['1', '2', '3', '4']);
    expect(skipped.map((s) => s.key)).toEqual(['5']);
  });
});

/**
 * Which series of a study `denoise <DICOMweb URL>` and `denoise dimse://...` pull (the one rule of
 * src/pipeline/remote-denoise.ts both use): CT and PET only, no series lowdose derived unless the
 * URL names it, and a clear E_NOT_FOUND before anything is retrieved when none is left.
 */
import { describe, expect, it } from 'vitest';
import { LowdoseError } from '../../src/errors.js';
import { seriesToDenoise } from '../../src/pipeline/remote-denoise.js';
import { isDenoiseOutput, withInstanceListCheck, type RemoteSeries } from '../../src/util/remote-series.js';

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

// DerivationDescriptions as lowdose writes them (a PET diffusion run with its default consistency,
// 366 characters, and a `simulate` run), copied from real output files.
const PET_DIFFUSION =
  'lowdose diffusion model lowdose-pet, sampler ddim, steps 1, seed 0, samples 1, guidance 1, consistency 1 (4.5 mm, 0.85 sd; below dose 0.16: region mean 7 mm x 5, interior 4 mm; large regions (dose unknown): region mean 7 mm x 5, interior 4 mm, weight the detection smoothed 3 mm above 0; estimate smoothed first: bilateral 5 mm, range 6 x its noise SD), dose unknown';
const SIMULATED = 'lowdose simulate: CT noise insertion, dose 0.25, seed 1, mode insert';

describe('isDenoiseOutput', () => {
  it('recognises a denoised or uncertainty series by a DerivationDescription naming lowdose', () => {
    expect(PET_DIFFUSION.length).toBeGreaterThan(256);
    expect(isDenoiseOutput({ description: 'PET lowdose denoised' }, PET_DIFFUSION)).toBe(true);
    expect(isDenoiseOutput({ description: '' }, 'per-pixel standard deviation over 4 samples; lowdose diffusion model lowdose-ct')).toBe(true);
    expect(isDenoiseOutput({ description: 'Abdomen lowdose denoised' }, 'Lossy compression with JPEG baseline, IRP 10:1')).toBe(false);
  });

  it('denoises a simulated reduced-dose series: lowdose simulate made it as an input, not as an output', () => {
    expect(isDenoiseOutput({ description: 'Abdomen simulated 25% dose' }, SIMULATED)).toBe(false);
  });

  it('without a DerivationDescription in the answer (Orthanc leaves out values over 256 characters), the SeriesDescription suffix lowdose writes decides', () => {
    expect(isDenoiseOutput({ description: 'PET  7S 6IT 6 POST lowdose denoised' }, '')).toBe(true);
    expect(isDenoiseOutput({ description: 'lowdose gaussian' }, '')).toBe(true);
    expect(isDenoiseOutput({ description: 'Thorax lowdose nlm uncertainty' }, '')).toBe(true);
    // A site's own low-dose protocol names are originals.
    expect(isDenoiseOutput({ description: 'Thorax lowdose 1.0 B30f' }, '')).toBe(false);
    expect(isDenoiseOutput({ description: 'LUNG LOWDOSE DENOISED' }, '')).toBe(false);
    expect(isDenoiseOutput({ description: '' }, '')).toBe(false);
    expect(isDenoiseOutput({ description: 'simulated 25% dose' }, '')).toBe(false);
  });
});

describe('withInstanceListCheck (info <URL>)', () => {
  const series = (uid: string, instances: number | null): RemoteSeries => ({ studyInstanceUid: '1', seriesInstanceUid: uid, modality: 'CT', description: '', seriesNumber: null, instances, url: `u/${uid}` });
  const listings: Record<string, { received: number; capped: boolean } | Error> = {
    whole: { received: 3, capped: false },
    short: { received: 2, capped: false },
    cappedShort: { received: 2, capped: true },
    cappedWhole: { received: 3, capped: true },
    cappedNoCount: { received: 2, capped: true },
    noCount: { received: 2, capped: false },
    failing: new Error('C-FIND failed with status 0xc000'),
  };
  const list = async (s: RemoteSeries) => {
    const listing = listings[s.seriesInstanceUid]!;
    if (listing instanceof Error) throw listing;
    return listing;
  };

  it('adds incomplete { expected, received, capped } only to a series whose list is short of its count, or capped with no count', async () => {
    const log: string[] = [];
    const checked = await withInstanceListCheck(
      [series('whole', 3), series('short', 3), series('cappedShort', 3), series('cappedWhole', 3), series('cappedNoCount', null), series('noCount', null), series('failing', 3)],
      list,
      (m) => log.push(m),
    );
    expect(checked.map((s) => [s.seriesInstanceUid, s.incomplete ?? null])).toEqual([
      ['whole', null],
      ['short', { expected: 3, received: 2, capped: false }],
      ['cappedShort', { expected: 3, received: 2, capped: true }],
      ['cappedWhole', null],
      ['cappedNoCount', { expected: null, received: 2, capped: true }],
      ['noCount', null],
      ['failing', null],
    ]);
    // A listing that fails keeps the series, unchecked, and says so.
    expect(log).toEqual(['series failing: its instances could not be listed, so its count is not checked: C-FIND failed with status 0xc000']);
  });

  it('records a failed listing as the series\' instanceListError { path, code, message }, so --json tells "not checked" from "checked, whole"', async () => {
    const checked = await withInstanceListCheck(
      [series('whole', 3), series('short', 3), series('failing', 3), series('refused', 3)],
      async (s) => {
        if (s.seriesInstanceUid === 'refused') throw new LowdoseError('E_NOT_FOUND', 'HTTP 404 Not Found', { path: 'http://pacs/instances' });
        return list(s);
      },
      () => {},
    );
    expect(checked.map((s) => [s.seriesInstanceUid, s.instanceListError ?? null])).toEqual([
      ['whole', null],
      ['short', null],
      // A plain failure is E_IO; one with a toolkit code keeps it. `path` is the series' address.
      ['failing', { path: 'u/failing', code: 'E_IO', message: 'C-FIND failed with status 0xc000' }],
      ['refused', { path: 'u/refused', code: 'E_NOT_FOUND', message: 'HTTP 404 Not Found' }],
    ]);
    expect(checked.find((s) => s.seriesInstanceUid === 'failing')!.incomplete).toBeUndefined();
    // The JSON info --json prints carries it.
    expect(JSON.parse(JSON.stringify(checked[2]))).toMatchObject({ seriesInstanceUid: 'failing', instanceListError: { code: 'E_IO' } });
  });
});

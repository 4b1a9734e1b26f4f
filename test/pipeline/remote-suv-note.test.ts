/**
 * `denoise <url> --allow-incomplete` on a PET series whose SUVbw depends on which of its files
 * came (SeriesTime later than the acquisitions): the report's `pulled[].incomplete` gains `suvNote`
 * and the run says it on its log (stderr).
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { denoiseRemote, withSuvNotes } from '../../src/pipeline/remote-denoise.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import type { PulledSeries } from '../../src/util/remote-series.js';
import { writeBedSeries } from '../dicom/helpers/pet-beds.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-suv-note-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

type Report = Pick<DenoiseReport, 'series' | 'errors'> & { pulled: PulledSeries[] };

/** A run whose pull brings `count` of the six-slice bed series (the last ones), the server saying it holds 6. */
async function runOnPart(count: number, name: string): Promise<{ report: Report; log: string[] }> {
  const beds = writeBedSeries(6);
  try {
    const pullDir = path.join(root, `pull-${name}`);
    const dir = path.join(pullDir, 'series');
    const log: string[] = [];
    const pulled: PulledSeries[] = [];
    const report = await denoiseRemote<Report>(
      { outDir: path.join(root, `out-${name}`), method: 'gaussian', log: (m) => log.push(m) },
      {
        source: 'http://pacs/dicom-web/studies/1',
        pullDir,
        pull: async () => {
          for (const file of beds.files.slice(6 - count)) cpSync(file, path.join(dir, path.basename(file)));
          const seriesInstanceUid = '1.3.6.1.4.1.14519.5.2.1.7009.2401.156320467167446933671661793694';
          pulled.push({
            seriesInstanceUid,
            url: `http://pacs/dicom-web/studies/1/series/${seriesInstanceUid}`,
            modality: 'PT',
            instances: count,
            retrieved: count,
            dir,
            ...(count < 6 ? { incomplete: { expected: 6, received: count } } : {}),
          });
          return pulled;
        },
        report: (series, errors) => ({ series, ...errors, pulled: withSuvNotes(pulled, series) }),
      },
    );
    return { report, log };
  } finally {
    beds.remove();
  }
}

describe('a PET series pulled short of its instances', () => {
  it('records in pulled[].incomplete.suvNote and logs that its SUVbw is decayed to the earliest AcquisitionTime of the files that came', async () => {
    const { report, log } = await runOnPart(4, 'part');
    expect(report.errors).toEqual([]);
    const incomplete = report.pulled[0]!.incomplete!;
    expect(incomplete).toMatchObject({ expected: 6, received: 4 });
    expect(incomplete.suvNote).toMatch(/^SUVbw is decayed to the earliest AcquisitionTime of the 4 file\(s\) read \(19600614 150516\.921000\)/);
    expect(log.some((m) => m.includes('came short of its instances') && m.includes(incomplete.suvNote!))).toBe(true);
  });

  it('adds no note to a series that came whole', async () => {
    const { report, log } = await runOnPart(6, 'whole');
    expect(report.pulled[0]!.incomplete).toBeUndefined();
    expect(report.series[0]!.warnings.map((w) => w.code)).not.toContain('W_SUV_PARTIAL_SERIES');
    expect(log.some((m) => m.includes('SUVbw'))).toBe(false);
  });
});

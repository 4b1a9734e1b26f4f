/**
 * A derived series is numbered SeriesNumber + 1000 of its source (docs/dicom-writing.md), so that
 * a viewer lists it next to its source and two derived series of one study do not share a number.
 * SeriesNumber is not a copied attribute, so it has to be read from the source file itself: before,
 * every derived series was numbered 1000. Read back with dicom-parser, not our reader.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clearSliceCache, readSlice, scanPaths, type Series } from '../../src/dicom/index.js';
import { createDerivedSeriesWriter } from '../../src/dicom/write-derived.js';
import { corpus, parse, temporaryDirectory } from './helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function seriesNumbersWritten(path: string, seriesNumber?: number): Promise<{ source: string[]; derived: string[] }> {
  const { series } = await scanPaths([path]);
  expect(series).toHaveLength(1);
  const source: Series = series[0]!;
  const outDir = temporaryDirectory('series-number');
  dirs.push(outDir);
  const writer = createDerivedSeriesWriter(source, {
    outDir,
    derivationDescription: 'lowdose test',
    ...(seriesNumber === undefined ? {} : { seriesNumber }),
  });
  for (let k = 0; k < source.slices.length; k++) await writer.writeSlice(k, await readSlice(source.slices[k]!));
  clearSliceCache();
  const files = readdirSync(writer.dir).filter((f) => f.endsWith('.dcm'));
  return {
    source: source.slices.map((s) => parse(s.file).string('x00200011') ?? ''),
    derived: files.map((f) => parse(join(writer.dir, f)).string('x00200011') ?? ''),
  };
}

describe('SeriesNumber of a derived series', () => {
  it('is the source SeriesNumber + 1000 (ct-3slice: 2 -> 1002)', async () => {
    const { source, derived } = await seriesNumbersWritten(corpus('QIICR__dcmqi/data/segmentations/ct-3slice'));
    expect(source).toEqual(['2', '2', '2']);
    expect(derived).toEqual(['1002', '1002', '1002']);
  });

  it('is 1000 when the source SeriesNumber is empty (rt-utils oriented_data)', async () => {
    const { source, derived } = await seriesNumbersWritten(corpus('qurit__rt-utils/tests/oriented_data'));
    expect(source.every((s) => s.trim() === '')).toBe(true);
    expect(derived).toEqual(['1000', '1000', '1000']);
  });

  it('is the caller’s when it names one', async () => {
    const { derived } = await seriesNumbersWritten(corpus('QIICR__dcmqi/data/segmentations/ct-3slice'), 7);
    expect(derived).toEqual(['7', '7', '7']);
  });
});

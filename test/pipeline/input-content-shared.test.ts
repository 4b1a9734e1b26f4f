/**
 * What a rerun's input check keeps per slice (src/pipeline/input-content.ts): the slices of one
 * series share their attribute names, equal digests, and, when all their attributes are equal, one
 * record, so that a multi-frame file of thousands of like frames does not keep a Map of 47 sha256
 * Buffers per frame; and the series' digests are the ones the recipe defines (a Map of Buffers per
 * slice, as an older lowdose computed them), so its completion markers still match.
 */
import { createHash, createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { derivedHeaderValues, readSliceSource, scanPaths, type Series } from '../../src/dicom/index.js';
import { inputContentOf, sliceReading, type SliceReading } from '../../src/pipeline/input-content.js';

const MULTI_FRAME_CT = fileURLToPath(new URL('../../../shared/dicom/pydicom__pydicom-data/data_store/data/eCT_Supplemental.dcm', import.meta.url));
const CLASSIC_CT = fileURLToPath(new URL('../../../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice', import.meta.url));

async function read(dir: string): Promise<{ series: Series; readings: SliceReading[] }> {
  const scan = await scanPaths([dir]);
  const series = scan.series[0]!;
  const readings: SliceReading[] = [];
  for (let i = 0; i < series.slices.length; i++) readings.push(sliceReading(series, i, await readSliceSource(series, i)));
  return { series, readings };
}

/** The recipe as written out (INPUT_HEADER_RECIPE): per slice a Map of sha256 Buffers, per attribute an HMAC over the slices. */
async function headerByRecipe(series: Series): Promise<{ slices: string[]; keyId: string; attributes: Record<string, string> }> {
  const perSlice: Map<string, Buffer>[] = [];
  const keyHash = createHash('sha256').update('lowdose input header key\n');
  for (let i = 0; i < series.slices.length; i++) {
    const { parsed, stored } = await readSliceSource(series, i);
    const attributes = new Map<string, Buffer>();
    for (const [name, value] of derivedHeaderValues(parsed, series.slices[i]!.frame)) attributes.set(name, createHash('sha256').update(value).digest());
    perSlice.push(attributes);
    keyHash.update(createHash('sha256').update(Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength)).digest());
  }
  const slices = perSlice.map((attributes) => {
    const header = createHash('sha256');
    for (const name of [...attributes.keys()].sort()) header.update(`${name}=${attributes.get(name)!.toString('hex')}\n`);
    return header.digest('hex');
  });
  const key = keyHash.digest();
  const attributes: Record<string, string> = {};
  for (const name of [...new Set(perSlice.flatMap((a) => [...a.keys()]))].sort()) {
    const mac = createHmac('sha256', key).update(`${name}\n`);
    for (const [i, a] of perSlice.entries()) mac.update(`${i}:${a.get(name)?.toString('hex') ?? '-'}\n`);
    attributes[name] = mac.digest('hex');
  }
  return { slices, keyId: createHash('sha256').update('lowdose input header key id\n').update(key).digest('hex'), attributes };
}

describe("a rerun's input digests", () => {
  it('keep one record for the frames of a multi-frame file whose attributes are all equal', async () => {
    const { series, readings } = await read(MULTI_FRAME_CT);
    expect(series.slices.length).toBe(2);
    expect(readings[0]!.header).toBe(readings[1]!.header);
    expect(readings[1]!.attributes).toBe(readings[0]!.attributes);
  });

  it('share attribute names and equal digests between slices whose attributes differ', async () => {
    const { series, readings } = await read(CLASSIC_CT);
    expect(series.slices.length).toBe(3);
    const [a, b] = readings as [SliceReading, SliceReading];
    expect(a.header).not.toBe(b.header);
    expect(b.attributes.names).toBe(a.attributes.names);
    const same = a.attributes.digests.filter((digest, i) => digest === b.attributes.digests[i]);
    expect(same.length).toBeGreaterThan(0);
  });

  it.each([
    ['a multi-frame CT', MULTI_FRAME_CT],
    ['a classic CT series', CLASSIC_CT],
  ])('are the recipe\'s for %s, as a marker an older lowdose wrote records them', async (_, dir) => {
    const { series, readings } = await read(dir);
    const content = inputContentOf(series, readings)!;
    const expected = await headerByRecipe(series);
    expect(content.slices.map((s) => s.header)).toEqual(expected.slices);
    expect(content.header!.keyId).toBe(expected.keyId);
    expect(content.header!.attributes).toEqual(expected.attributes);
  });
});

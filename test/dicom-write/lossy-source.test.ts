/**
 * A derived file of a source stored in a lossy transfer syntax says LossyImageCompression 01
 * (PS3.3 C.7.6.1.1.5), also when the source itself does not: the derived files are uncompressed
 * and would otherwise read as never lossy compressed. The corpus' JPEG baseline CT slice carries
 * the attribute; a copy with it removed (as many exports are) is the case that lost it. A source
 * that says 00 keeps 00, and a lossless source gets nothing. Read back with dicom-parser.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clearSliceCache, readSlice, scanPaths } from '../../src/dicom/index.js';
import { createDerivedSeriesWriter } from '../../src/dicom/write-derived.js';
import { corpus, parse, temporaryDirectories } from './helpers.js';

const TEST_IMAGES = 'cornerstonejs__cornerstone3D/packages/dicomImageLoader/testImages/';
const JPEG_BASELINE = corpus(`${TEST_IMAGES}CTImage.dcm_JPEGProcess1TransferSyntax_1.2.840.10008.1.2.4.50.dcm`);
const JPEG_LS_LOSSLESS = corpus(`${TEST_IMAGES}CTImage.dcm_JPEGLSLosslessTransferSyntax_1.2.840.10008.1.2.4.80.dcm`);
const LOSSY_IMAGE_COMPRESSION = 'x00282110';
const LOSSY_METHOD = 'x00282114';

const tmp = temporaryDirectories();

/** A copy of `file` without its top-level short-VR elements `tags` (explicit VR little endian data set). */
function copyWithout(file: string, tags: string[]): string {
  const bytes = readFileSync(file);
  const ds = parse(file);
  const cuts = tags
    .map((tag) => ds.elements[tag])
    .filter((e) => e !== undefined)
    .map((e) => [e.dataOffset - 8, e.dataOffset + e.length] as const)
    .sort((a, b) => b[0] - a[0]);
  let out = Buffer.from(bytes);
  for (const [start, end] of cuts) out = Buffer.concat([out.subarray(0, start), out.subarray(end)]);
  const path = join(tmp('lossy-source-in'), 'IM0001.dcm');
  writeFileSync(path, out);
  return path;
}

/** Writes the source's values again as a derived series; the derived file's lossy attributes. */
async function derivedLossy(file: string): Promise<{ flag: string | undefined; method: string | undefined }> {
  const { series, errors } = await scanPaths([file]);
  expect(errors).toEqual([]);
  const source = series[0]!;
  const writer = createDerivedSeriesWriter(source, { outDir: tmp('lossy-source-out'), derivationDescription: 'lowdose test' });
  const written = await writer.writeSlice(0, await readSlice(source.slices[0]!));
  clearSliceCache();
  const out = parse(written);
  return { flag: out.string(LOSSY_IMAGE_COMPRESSION), method: out.string(LOSSY_METHOD) };
}

describe('LossyImageCompression of a derived series', () => {
  it('is 01 with method ISO_10918_1 for a JPEG baseline source that does not say so', async () => {
    const source = copyWithout(JPEG_BASELINE, [LOSSY_IMAGE_COMPRESSION, LOSSY_METHOD, 'x00282112']);
    expect(parse(source).string(LOSSY_IMAGE_COMPRESSION)).toBeUndefined();
    expect(await derivedLossy(source)).toEqual({ flag: '01', method: 'ISO_10918_1' });
  });

  it('keeps what a source says (the corpus file: 01 and its own method)', async () => {
    const ds = parse(JPEG_BASELINE);
    expect(await derivedLossy(JPEG_BASELINE)).toEqual({ flag: ds.string(LOSSY_IMAGE_COMPRESSION), method: ds.string(LOSSY_METHOD) });
  });

  it('adds nothing for a lossless source', async () => {
    expect(await derivedLossy(JPEG_LS_LOSSLESS)).toEqual({ flag: parse(JPEG_LS_LOSSLESS).string(LOSSY_IMAGE_COMPRESSION), method: undefined });
  });
});

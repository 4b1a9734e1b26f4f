/**
 * The pixel module done right, on synthetic files that isolate one rule each: bits stored and
 * high bit, sign extension, padding, MONOCHROME1, offset tables, HTJ2K, unsupported syntaxes,
 * and files that declare far more than they hold.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isLowdoseError, type ErrorCode } from '../../src/errors.js';
import {
  clearSliceCache,
  decodeFrameStoredValues,
  parseDicomBytes,
  readInstanceHeader,
  readSlicePixels,
  scanPaths,
} from '../../src/dicom/index.js';
import { buildDicom, imageElements, uint16Bytes } from './helpers/synthetic-dicom.js';

const dir = mkdtempSync(join(tmpdir(), 'lowdose-dicom-'));
let fileCounter = 0;
function writeTemp(bytes: Uint8Array): string {
  const path = join(dir, `synthetic-${fileCounter++}.dcm`);
  writeFileSync(path, bytes);
  return path;
}
afterAll(() => clearSliceCache());

async function codeOf(promise: Promise<unknown>): Promise<ErrorCode | 'ok'> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    if (!isLowdoseError(error)) throw error;
    return error.code;
  }
}

const EXPLICIT_LE = '1.2.840.10008.1.2.1';

describe('stored values', () => {
  it('sign-extends 12 bits stored and ignores whatever sits above the high bit', async () => {
    const values = [-5, 2047, -2048, 0];
    const garbage = [0xa000, 0x5000, 0xf000, 0x1000];
    const words = values.map((v, i) => (v & 0xfff) | garbage[i]!);
    const bytes = buildDicom({
      transferSyntax: EXPLICIT_LE,
      elements: imageElements({ rows: 2, columns: 2, bitsStored: 12, highBit: 11, pixelRepresentation: 1 }),
      pixelData: { native: uint16Bytes(words) },
    });
    expect(Array.from((await decodeFrameStoredValues(bytes)).values)).toEqual(values);
  });

  it('shifts values whose high bit is not bits stored - 1', async () => {
    const values = [0, 1, 4095, 1234];
    const words = values.map((v) => (v << 4) | 0x3);
    const bytes = buildDicom({
      transferSyntax: EXPLICIT_LE,
      elements: imageElements({ rows: 2, columns: 2, bitsStored: 12, highBit: 15 }),
      pixelData: { native: uint16Bytes(words) },
    });
    expect(Array.from((await decodeFrameStoredValues(bytes)).values)).toEqual(values);
  });

  it('reads signed 8 and 32-bit data', async () => {
    const eight = buildDicom({
      transferSyntax: EXPLICIT_LE,
      elements: imageElements({ rows: 1, columns: 4, bitsAllocated: 8, pixelRepresentation: 1 }),
      pixelData: { native: new Uint8Array([0x00, 0x7f, 0x80, 0xff]), vr: 'OB' },
    });
    expect(Array.from((await decodeFrameStoredValues(eight)).values)).toEqual([0, 127, -128, -1]);
    const int32 = new Int32Array([-70000, 70000]);
    const thirtyTwo = buildDicom({
      transferSyntax: EXPLICIT_LE,
      elements: imageElements({ rows: 1, columns: 2, bitsAllocated: 32, pixelRepresentation: 1 }),
      pixelData: { native: new Uint8Array(int32.buffer) },
    });
    expect(Array.from((await decodeFrameStoredValues(thirtyTwo)).values)).toEqual([-70000, 70000]);
  });
});

describe('padding, MONOCHROME1 and the modality LUT', () => {
  it('marks PixelPaddingValue pixels and applies slope and intercept to the rest', async () => {
    const stored = [-2000, 0, 1024, 2000];
    const path = writeTemp(
      buildDicom({
        transferSyntax: EXPLICIT_LE,
        elements: imageElements({
          rows: 2,
          columns: 2,
          pixelRepresentation: 1,
          slope: 1,
          intercept: -1024,
          extra: [{ tag: 0x00280120, vr: 'SS', value: -2000 }],
        }),
        pixelData: { native: uint16Bytes(stored) },
      }),
    );
    const { series } = await scanPaths([path]);
    const pixels = await readSlicePixels(series[0]!.slices[0]!);
    expect(Array.from(pixels.padding!)).toEqual([1, 0, 0, 0]);
    expect(Array.from(pixels.data)).toEqual([-3024, -1024, 0, 976]);
  });

  it('treats a PixelPaddingRangeLimit as a range of padding values', async () => {
    const path = writeTemp(
      buildDicom({
        transferSyntax: EXPLICIT_LE,
        elements: imageElements({
          rows: 1,
          columns: 4,
          extra: [
            { tag: 0x00280120, vr: 'US', value: 0 },
            { tag: 0x00280121, vr: 'US', value: 10 },
          ],
        }),
        pixelData: { native: uint16Bytes([0, 5, 10, 11]) },
      }),
    );
    const { series } = await scanPaths([path]);
    expect(Array.from((await readSlicePixels(series[0]!.slices[0]!)).padding!)).toEqual([1, 1, 1, 0]);
  });

  it('keeps MONOCHROME1 values as modality values and records the interpretation', async () => {
    const path = writeTemp(
      buildDicom({
        transferSyntax: EXPLICIT_LE,
        sopClassUid: '1.2.840.10008.5.1.4.1.1.1',
        elements: imageElements({ rows: 1, columns: 3, modality: 'CR', photometric: 'MONOCHROME1', slope: 2, intercept: 1 }),
        pixelData: { native: uint16Bytes([0, 100, 4095]) },
      }),
    );
    const { series } = await scanPaths([path]);
    expect(series[0]!.photometricInterpretation).toBe('MONOCHROME1');
    expect(Array.from((await readSlicePixels(series[0]!.slices[0]!)).data)).toEqual([1, 201, 8191]);
  });
});

describe('encapsulated frames and syntaxes', () => {
  const ENCAPSULATED_UNCOMPRESSED = '1.2.840.10008.1.2.1.98';
  const frame0 = uint16Bytes([1, 2, 3, 4]);
  const frame1 = uint16Bytes([5, 6, 7, 8]);
  const halves = [frame0.subarray(0, 4), frame0.subarray(4), frame1.subarray(0, 4), frame1.subarray(4)];

  it('assembles frames that span several fragments from the basic offset table', async () => {
    // Each fragment is an 8-byte item header plus 4 bytes: frame 1 starts 24 bytes in.
    const bytes = buildDicom({
      transferSyntax: ENCAPSULATED_UNCOMPRESSED,
      elements: imageElements({ rows: 2, columns: 2, frames: 2 }),
      pixelData: { fragments: halves, basicOffsetTable: [0, 24] },
    });
    expect(Array.from((await decodeFrameStoredValues(bytes, 0)).values)).toEqual([1, 2, 3, 4]);
    expect(Array.from((await decodeFrameStoredValues(bytes, 1)).values)).toEqual([5, 6, 7, 8]);
  });

  it('refuses to guess frame boundaries in raw fragments without an offset table', async () => {
    const bytes = buildDicom({
      transferSyntax: ENCAPSULATED_UNCOMPRESSED,
      elements: imageElements({ rows: 2, columns: 2, frames: 2 }),
      pixelData: { fragments: halves },
    });
    expect(await codeOf(decodeFrameStoredValues(bytes, 1))).toBe('E_MALFORMED');
  });

  it('decodes HTJ2K (.201) written by OpenJPH exactly', async () => {
    const require = createRequire(import.meta.url);
    const factory = require('@cornerstonejs/codec-openjph/wasmjs') as (o?: object) => Promise<{
      HTJ2KEncoder: new () => {
        getDecodedBuffer(info: object): Uint8Array;
        encode(): void;
        getEncodedBuffer(): Uint8Array;
      };
    }>;
    const codec = await factory({});
    const width = 40;
    const height = 24;
    const image = new Int16Array(width * height).map((_, i) => ((i * 37) % 2000) - 1000);
    const encoder = new codec.HTJ2KEncoder();
    encoder
      .getDecodedBuffer({ width, height, bitsPerSample: 16, componentCount: 1, isSigned: true, isUsingColorTransform: false })
      .set(new Uint8Array(image.buffer));
    encoder.encode();
    const codestream = encoder.getEncodedBuffer().slice();
    const bytes = buildDicom({
      transferSyntax: '1.2.840.10008.1.2.4.201',
      elements: imageElements({ rows: height, columns: width, pixelRepresentation: 1 }),
      pixelData: { fragments: [codestream] },
    });
    const { values } = await decodeFrameStoredValues(bytes);
    expect(Array.from(values)).toEqual(Array.from(image));
  });

  it('names the UID of a syntax it cannot decode (JPEG XL)', async () => {
    const path = writeTemp(
      buildDicom({
        transferSyntax: '1.2.840.10008.1.2.4.110',
        elements: imageElements({ rows: 2, columns: 2 }),
        pixelData: { fragments: [new Uint8Array([0xff, 0x0a, 1, 2])] },
      }),
    );
    const { errors, series } = await scanPaths([path]);
    expect(series).toEqual([]);
    expect(errors.map((e) => e.code)).toEqual(['E_UNSUPPORTED_TRANSFER_SYNTAX']);
    expect(errors[0]!.message).toContain('1.2.840.10008.1.2.4.110');
    expect(await codeOf(decodeFrameStoredValues(path))).toBe('E_UNSUPPORTED_TRANSFER_SYNTAX');
  });
});

describe('files that declare more than they hold', () => {
  it('answers E_TRUNCATED for gigabytes of declared pixel data without allocating them', async () => {
    const bytes = buildDicom({
      transferSyntax: EXPLICIT_LE,
      elements: imageElements({ rows: 40000, columns: 40000, frames: 1 }),
      pixelData: { native: new Uint8Array(100), declaredLength: 0xfffffff0 },
    });
    const before = process.memoryUsage().arrayBuffers;
    expect(await codeOf(decodeFrameStoredValues(bytes))).toBe('E_TRUNCATED');
    expect(await codeOf(readInstanceHeader(writeTemp(bytes)))).toBe('E_TRUNCATED');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('refuses a tiny codestream for a frame of 8000 x 8000 pixels before any codec runs', async () => {
    const bytes = buildDicom({
      transferSyntax: '1.2.840.10008.1.2.4.90',
      elements: imageElements({ rows: 8000, columns: 8000 }),
      pixelData: { fragments: [new Uint8Array(200).fill(7)] },
    });
    expect(parseDicomBytes(bytes).transferSyntax.uid).toBe('1.2.840.10008.1.2.4.90');
    const before = process.memoryUsage().arrayBuffers;
    expect(await codeOf(decodeFrameStoredValues(bytes))).toBe('E_DECODE');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('reports pixel data shorter than the frames it must hold as E_TRUNCATED', async () => {
    const bytes = buildDicom({
      transferSyntax: EXPLICIT_LE,
      elements: imageElements({ rows: 4, columns: 4, frames: 2 }),
      pixelData: { native: uint16Bytes(new Array(20).fill(1)) },
    });
    expect(await codeOf(decodeFrameStoredValues(bytes, 1))).toBe('E_TRUNCATED');
  });
});

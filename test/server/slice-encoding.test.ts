/** The binary slice format: int16 only when exact, float32 otherwise, aligned and self-describing. */
import { describe, expect, it } from 'vitest';
import type { SliceRef } from '../../src/dicom/index.js';
import { int16Pixels, quantiseInt16, unpackSlice } from '../../src/server/slice-codec.js';
import { decodeSlice, encodeSlice, exactInt16 } from '../../src/server/slice-encoding.js';

const slice = (slope: number, intercept: number, unitsScale = 1): SliceRef => ({
  file: '/x.dcm',
  frame: 0,
  sopInstanceUid: '1.2.3',
  instanceNumber: 1,
  position: null,
  location: null,
  rescaleSlope: slope,
  rescaleIntercept: intercept,
  unitsScale,
  transferSyntaxUid: '1.2.840.10008.1.2.1',
});

const context = (ref: SliceRef) => ({ index: 5, slice: ref, spacing: [0.7, 0.7, 2] as [number, number, number], units: 'HU', photometricInterpretation: 'MONOCHROME2' });

describe('slice encoding', () => {
  it('stores values on the slice rescale grid as int16 with that rescale', () => {
    const data = Float32Array.from([-1024, -1000.5, 0, 3071.5], (v) => v);
    const bytes = encodeSlice({ rows: 2, columns: 2, data, pixelSpacing: [0.7, 0.7] }, context(slice(0.5, -1024)), 'auto');
    const { header, values } = decodeSlice(bytes);
    expect(header).toMatchObject({ dtype: 'int16', rescale: { slope: 0.5, intercept: -1024 }, min: -1024, max: 3071.5, index: 5 });
    expect(Array.from(values)).toEqual(Array.from(data));
    const headerBytes = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
    expect((4 + headerBytes) % 8).toBe(0);
    expect(bytes.length).toBe(4 + headerBytes + 4 * 2);
  });

  it('falls back to float32 when a value is off the rescale grid or out of int16 range', () => {
    expect(exactInt16(Float32Array.from([0, 0.25]), 1, 0)).toBeNull();
    expect(exactInt16(Float32Array.from([0, 40000]), 1, 0)).toBeNull();
    const data = Float32Array.from([0.1, 2.718, -5, 1e-7]);
    const { header, values } = decodeSlice(encodeSlice({ rows: 1, columns: 4, data, pixelSpacing: [1, 1] }, context(slice(1, 0)), 'auto'));
    expect(header.dtype).toBe('float32');
    expect(Array.from(values)).toEqual(Array.from(data));
  });

  it('applies the PET units scale to the rescale it sends', () => {
    // SUV = stored × slope × unitsScale: 2 × 0.5 × 0.001 = 0.001.
    const data = Float32Array.from([0, 0.001, 0.002]);
    const { header, values } = decodeSlice(encodeSlice({ rows: 1, columns: 3, data, pixelSpacing: [1, 1] }, context(slice(0.5, 0, 0.002)), 'auto'));
    expect(header.dtype).toBe('int16');
    expect(header.rescale.slope).toBeCloseTo(0.001, 12);
    for (let i = 0; i < 3; i++) expect(values[i]).toBeCloseTo(data[i]!, 9);
  });

  it('quantises to the full int16 range when int16 is forced', () => {
    const data = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 7.3);
    const { header, values } = decodeSlice(encodeSlice({ rows: 10, columns: 100, data, pixelSpacing: [1, 1] }, context(slice(1, 0)), 'int16'));
    expect(header.dtype).toBe('int16');
    for (let i = 0; i < data.length; i++) expect(Math.abs(values[i]! - data[i]!)).toBeLessThanOrEqual(header.rescale.slope / 2 + 1e-9);
  });

  it('round-trips through the viewer: the server and the viewer read the same values from one message', () => {
    const data = Float32Array.from({ length: 64 * 64 }, (_, i) => -1000 + ((i * 7919) % 4096) * 0.61 + 0.123);
    const image = { rows: 64, columns: 64, data, pixelSpacing: [0.7, 0.7] as const };
    for (const want of ['auto', 'float32', 'int16'] as const) {
      const bytes = encodeSlice(image, context(slice(1, 0)), want);
      const server = decodeSlice(bytes);
      // What viewer/src/image-loader.ts does with its own copy of the bytes, as fetch gives it.
      const message = unpackSlice(new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
      const viewer = int16Pixels(message.header, message.pixels);
      const step = viewer.slope;
      for (let i = 0; i < data.length; i++) {
        const seen = viewer.pixels[i]! * viewer.slope + viewer.intercept;
        // float32 is exact on the server; the viewer quantises it, as the server does for int16.
        expect(Math.abs(seen - server.values[i]!)).toBeLessThanOrEqual(step / 2 + 1e-6);
        expect(Math.abs(server.values[i]! - data[i]!)).toBeLessThanOrEqual(want === 'int16' ? step / 2 + 1e-6 : 0);
      }
    }
  });

  it('quantises symmetrically: the range ends land on -32767 and 32767, and a constant slice reads back exactly', () => {
    const { pixels, slope, intercept } = quantiseInt16(Float32Array.from([-3, 0, 5]), -3, 5);
    expect([pixels[0], pixels[2]]).toEqual([-32767, 32767]);
    expect(pixels[0]! * slope + intercept).toBeCloseTo(-3, 9);
    expect(pixels[2]! * slope + intercept).toBeCloseTo(5, 9);
    const flat = quantiseInt16(Float32Array.from([7, 7]), 7, 7);
    expect(Array.from(flat.pixels, (q) => q * flat.slope + flat.intercept)).toEqual([7, 7]);
  });

  it('reads a message whose pixel block is not aligned in memory (a copy, not a view)', () => {
    const bytes = encodeSlice({ rows: 1, columns: 3, data: Float32Array.from([1.5, -2.25, 3]), pixelSpacing: [1, 1] }, context(slice(1, 0)), 'float32');
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    expect(Array.from(unpackSlice(shifted.subarray(1)).pixels)).toEqual([1.5, -2.25, 3]);
  });
});

/**
 * Reads the image size a codestream declares (JPEG SOF, JPEG-LS SOF55, JPEG 2000 SIZ) without
 * decoding it, so that a frame whose codestream disagrees with the DICOM header is refused before
 * a decoder allocates what the codestream claims (a corrupt SIZ can claim terabytes).
 */
import { LowdoseError } from '../../errors.js';
import type { FrameContext } from './types.js';

export interface CodestreamSize {
  readonly width: number;
  readonly height: number;
  readonly components: number;
  readonly precision: number;
  /** JPEG family only: the start-of-frame marker (0xC0 baseline ... 0xC3 lossless, 0xF7 JPEG-LS). */
  readonly marker?: number;
}

/** JPEG and JPEG-LS: walks the marker segments up to the first start-of-frame. */
export function jpegFrameSize(bytes: Uint8Array): CodestreamSize | null {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  let p = 2;
  while (p + 4 <= bytes.length) {
    if (bytes[p] !== 0xff) return null;
    const marker = bytes[p + 1]!;
    if (marker === 0xff) {
      p++; // fill byte
      continue;
    }
    // Markers without a length: TEM, RSTn, SOI, EOI.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9)) {
      p += 2;
      continue;
    }
    const length = (bytes[p + 2]! << 8) | bytes[p + 3]!;
    const isSof = (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) || marker === 0xf7;
    if (isSof) {
      if (p + 10 > bytes.length) return null;
      return {
        precision: bytes[p + 4]!,
        height: (bytes[p + 5]! << 8) | bytes[p + 6]!,
        width: (bytes[p + 7]! << 8) | bytes[p + 8]!,
        components: bytes[p + 9]!,
        marker,
      };
    }
    if (marker === 0xda) return null; // scan data before any frame header
    p += 2 + length;
  }
  return null;
}

/** The raw codestream inside a JP2 file (some writers put whole JP2 files in DICOM). */
export function unwrapJp2(bytes: Uint8Array): Uint8Array {
  const isJp2 = bytes.length >= 12 && bytes[4] === 0x6a && bytes[5] === 0x50 && bytes[6] === 0x20 && bytes[7] === 0x20;
  if (!isJp2) return bytes;
  let p = 0;
  while (p + 8 <= bytes.length) {
    const view = new DataView(bytes.buffer, bytes.byteOffset + p, 8);
    let length = view.getUint32(0);
    const type = String.fromCharCode(bytes[p + 4]!, bytes[p + 5]!, bytes[p + 6]!, bytes[p + 7]!);
    let header = 8;
    if (length === 1 && p + 16 <= bytes.length) {
      length = Number(new DataView(bytes.buffer, bytes.byteOffset + p + 8, 8).getBigUint64(0));
      header = 16;
    }
    if (length === 0) length = bytes.length - p;
    if (type === 'jp2c') return bytes.subarray(p + header, Math.min(bytes.length, p + length));
    if (length < header) break;
    p += length;
  }
  return bytes;
}

/** JPEG 2000 and HTJ2K: the SIZ segment right after SOC. */
export function j2kImageSize(bytes: Uint8Array): CodestreamSize | null {
  if (bytes.length < 43 || bytes[0] !== 0xff || bytes[1] !== 0x4f || bytes[2] !== 0xff || bytes[3] !== 0x51) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const xsiz = view.getUint32(8);
  const ysiz = view.getUint32(12);
  const xosiz = view.getUint32(16);
  const yosiz = view.getUint32(20);
  return {
    width: xsiz - xosiz,
    height: ysiz - yosiz,
    components: view.getUint16(40),
    precision: (bytes[42]! & 0x7f) + 1,
  };
}

/** Refuses a codestream whose declared size disagrees with the DICOM header. */
export function checkCodestreamSize(size: CodestreamSize | null, context: FrameContext, kind: string): void {
  if (size === null) return;
  const { rows, columns, samplesPerPixel } = context.pixel;
  // JPEG allows height 0 in SOF (set later by a DNL marker).
  const heightOk = size.height === rows || size.height === 0;
  if (size.width !== columns || !heightOk || size.components !== samplesPerPixel) {
    throw new LowdoseError(
      'E_DECODE',
      `${context.path}: ${kind} codestream is ${size.width} x ${size.height} with ${size.components} component(s) but the header says ${columns} x ${rows} with ${samplesPerPixel}`,
      { path: context.path },
    );
  }
}

/**
 * The transfer syntax a codestream is written in, judged from its first bytes: for files whose
 * pixel data is encapsulated although their transfer syntax says native (it happens).
 */
export function sniffEncapsulatedSyntax(bytes: Uint8Array): string | null {
  const jpeg = jpegFrameSize(bytes);
  if (jpeg?.marker !== undefined) {
    if (jpeg.marker === 0xf7) return '1.2.840.10008.1.2.4.80';
    if (jpeg.marker === 0xc3 || jpeg.marker === 0xc7) return '1.2.840.10008.1.2.4.57';
    if (jpeg.marker === 0xc2 || jpeg.marker === 0xc6) return '1.2.840.10008.1.2.4.55';
    return jpeg.precision > 8 ? '1.2.840.10008.1.2.4.51' : '1.2.840.10008.1.2.4.50';
  }
  const codestream = unwrapJp2(bytes);
  if (j2kImageSize(codestream) !== null) {
    // HTJ2K codestreams carry a CAP marker (FF50) in their main header, right after SIZ.
    const sizLength = (codestream[4]! << 8) | codestream[5]!;
    const next = 4 + sizLength;
    const isHt = codestream[next] === 0xff && codestream[next + 1] === 0x50;
    return isHt ? '1.2.840.10008.1.2.4.201' : '1.2.840.10008.1.2.4.90';
  }
  return null;
}

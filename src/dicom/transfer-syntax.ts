/**
 * What lowdose knows about each transfer syntax: how the data set is encoded, and which pixel
 * decoder reads its frames. The decoder table itself lives in ./decoders/index.ts, keyed by the
 * `decoder` names used here, so that this file stays a plain description of the standard.
 */

export type DecoderName =
  | 'native'
  | 'rle'
  | 'jpeg-dct'
  | 'jpeg-lossless'
  | 'jpeg-ls'
  | 'jpeg2000'
  | 'htj2k'
  | 'encapsulated-uncompressed';

export interface TransferSyntax {
  readonly uid: string;
  readonly name: string;
  readonly explicitVr: boolean;
  readonly littleEndian: boolean;
  /** The data set after the file meta is deflate-compressed. */
  readonly deflated: boolean;
  /** Pixel data is a sequence of fragments. */
  readonly encapsulated: boolean;
  /** Compression may change values; hashes cannot be compared. */
  readonly lossy: boolean;
  /** Null: we can parse the header but not decode the pixels. */
  readonly decoder: DecoderName | null;
}

export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';
export const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';

function syntax(
  uid: string,
  name: string,
  decoder: DecoderName | null,
  options: Partial<Pick<TransferSyntax, 'explicitVr' | 'littleEndian' | 'deflated' | 'encapsulated' | 'lossy'>> = {},
): TransferSyntax {
  return {
    uid,
    name,
    decoder,
    explicitVr: options.explicitVr ?? true,
    littleEndian: options.littleEndian ?? true,
    deflated: options.deflated ?? false,
    encapsulated: options.encapsulated ?? true,
    lossy: options.lossy ?? false,
  };
}

const KNOWN: TransferSyntax[] = [
  syntax(IMPLICIT_VR_LITTLE_ENDIAN, 'Implicit VR Little Endian', 'native', { explicitVr: false, encapsulated: false }),
  syntax(EXPLICIT_VR_LITTLE_ENDIAN, 'Explicit VR Little Endian', 'native', { encapsulated: false }),
  syntax('1.2.840.10008.1.2.1.98', 'Encapsulated Uncompressed Explicit VR Little Endian', 'encapsulated-uncompressed'),
  syntax(DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, 'Deflated Explicit VR Little Endian', 'native', {
    deflated: true,
    encapsulated: false,
  }),
  syntax(EXPLICIT_VR_BIG_ENDIAN, 'Explicit VR Big Endian', 'native', { littleEndian: false, encapsulated: false }),
  syntax('1.2.840.10008.1.2.5', 'RLE Lossless', 'rle'),
  syntax('1.2.840.10008.1.2.4.50', 'JPEG Baseline (Process 1)', 'jpeg-dct', { lossy: true }),
  syntax('1.2.840.10008.1.2.4.51', 'JPEG Extended (Process 2 & 4)', 'jpeg-dct', { lossy: true }),
  // Retired DCT processes: libjpeg reads them like the extended process (the corpus has both).
  syntax('1.2.840.10008.1.2.4.53', 'JPEG Spectral Selection (Process 6 & 8, retired)', 'jpeg-dct', { lossy: true }),
  syntax('1.2.840.10008.1.2.4.55', 'JPEG Full Progression (Process 10 & 12, retired)', 'jpeg-dct', { lossy: true }),
  syntax('1.2.840.10008.1.2.4.57', 'JPEG Lossless (Process 14)', 'jpeg-lossless'),
  syntax('1.2.840.10008.1.2.4.70', 'JPEG Lossless SV1 (Process 14, Selection Value 1)', 'jpeg-lossless'),
  syntax('1.2.840.10008.1.2.4.80', 'JPEG-LS Lossless', 'jpeg-ls'),
  syntax('1.2.840.10008.1.2.4.81', 'JPEG-LS Near-Lossless', 'jpeg-ls', { lossy: true }),
  syntax('1.2.840.10008.1.2.4.90', 'JPEG 2000 Lossless', 'jpeg2000'),
  syntax('1.2.840.10008.1.2.4.91', 'JPEG 2000', 'jpeg2000', { lossy: true }),
  syntax('1.2.840.10008.1.2.4.92', 'JPEG 2000 Part 2 Multi-component Lossless', null),
  syntax('1.2.840.10008.1.2.4.93', 'JPEG 2000 Part 2 Multi-component', null, { lossy: true }),
  syntax('1.2.840.10008.1.2.4.201', 'High-Throughput JPEG 2000 Lossless', 'htj2k'),
  syntax('1.2.840.10008.1.2.4.202', 'High-Throughput JPEG 2000 with RPCL Lossless', 'htj2k'),
  syntax('1.2.840.10008.1.2.4.203', 'High-Throughput JPEG 2000', 'htj2k', { lossy: true }),
  syntax('1.2.840.10008.1.2.4.110', 'JPEG XL Lossless', null),
  syntax('1.2.840.10008.1.2.4.111', 'JPEG XL JPEG Recompression', null),
  syntax('1.2.840.10008.1.2.4.112', 'JPEG XL', null, { lossy: true }),
  syntax('1.2.840.10008.1.2.4.100', 'MPEG2 Main Profile', null, { lossy: true }),
  syntax('1.2.840.10008.1.2.4.101', 'MPEG2 High Profile', null, { lossy: true }),
  syntax('1.2.840.10008.1.2.4.102', 'MPEG-4 AVC/H.264 High Profile', null, { lossy: true }),
  syntax('1.2.840.10008.1.2.4.103', 'MPEG-4 AVC/H.264 BD-compatible', null, { lossy: true }),
  syntax('1.2.840.10008.1.2.4.104', 'MPEG-4 AVC/H.264 2D video', null, { lossy: true }),
  syntax('1.2.840.10008.1.2.4.105', 'MPEG-4 AVC/H.264 3D video', null, { lossy: true }),
  syntax('1.2.840.10008.1.2.4.106', 'MPEG-4 AVC/H.264 Stereo', null, { lossy: true }),
  syntax('1.2.840.10008.1.2.4.107', 'HEVC/H.265 Main Profile', null, { lossy: true }),
  syntax('1.2.840.10008.1.2.4.108', 'HEVC/H.265 Main 10 Profile', null, { lossy: true }),
];

const BY_UID = new Map(KNOWN.map((ts) => [ts.uid, ts]));

/**
 * The description of `uid`. An unknown UID is taken to be an explicit VR little endian
 * encapsulated syntax (what every syntax since 1999 is) with no decoder, so that its header
 * still reads and its pixels give E_UNSUPPORTED_TRANSFER_SYNTAX.
 */
export function transferSyntaxOf(uid: string): TransferSyntax {
  return BY_UID.get(uid) ?? syntax(uid, `unknown transfer syntax ${uid}`, null);
}

export function isKnownTransferSyntax(uid: string): boolean {
  return BY_UID.has(uid);
}

export const KNOWN_TRANSFER_SYNTAXES: readonly TransferSyntax[] = KNOWN;

/**
 * The one dispatch table from transfer syntax to pixel decoder (one file per codec beside this).
 */
import { LowdoseError } from '../../errors.js';
import type { DecoderName, TransferSyntax } from '../transfer-syntax.js';
import { decodeHtj2k } from './htj2k.js';
import { decodeJpeg2000 } from './jpeg2000.js';
import { decodeJpegDct } from './jpeg-dct.js';
import { decodeJpegLossless } from './jpeg-lossless.js';
import { decodeJpegLs } from './jpeg-ls.js';
import { decodeNative } from './native.js';
import { decodeRle } from './rle.js';
import type { FrameDecoder } from './types.js';

export type { FrameContext, FrameDecoder, SampleArray } from './types.js';

const DECODERS: Record<DecoderName, FrameDecoder> = {
  native: decodeNative,
  // Encapsulated Uncompressed: each fragment is a native little endian frame.
  'encapsulated-uncompressed': decodeNative,
  rle: decodeRle,
  'jpeg-dct': decodeJpegDct,
  'jpeg-lossless': decodeJpegLossless,
  'jpeg-ls': decodeJpegLs,
  jpeg2000: decodeJpeg2000,
  htj2k: decodeHtj2k,
};

/** The decoder for `syntax`, or E_UNSUPPORTED_TRANSFER_SYNTAX naming the UID. */
export function decoderFor(syntax: TransferSyntax, path: string): FrameDecoder {
  if (syntax.decoder === null) {
    throw new LowdoseError(
      'E_UNSUPPORTED_TRANSFER_SYNTAX',
      `${path}: transfer syntax ${syntax.uid} (${syntax.name}) cannot be decoded by lowdose`,
      { path },
    );
  }
  return DECODERS[syntax.decoder];
}

/**
 * JPEG baseline and extended (DCT) frames: .50, .51 and the retired .53 / .55. 8-bit streams go
 * through libjpeg-turbo (@cornerstonejs/codec-libjpeg-turbo-8bit); 12-bit streams, which that
 * build cannot read, through IJG libjpeg (./ijg.ts; values match dcmtk's dcmdjpeg exactly).
 */
import { isLowdoseError } from '../../errors.js';
import { checkCodestreamSize, jpegFrameSize } from './codestream.js';
import { decodeError, samplesFromCodec, type CodecFrameInfo } from './decoded-buffer.js';
import { decodeJpegWithIjg } from './ijg.js';
import type { FrameDecoder } from './types.js';
import { codecErrorMessage, lazyCodec } from './wasm.js';

interface TurboDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getFrameInfo(): CodecFrameInfo;
  getDecodedBuffer(): Uint8Array;
}

const libjpegTurbo = lazyCodec<{ JPEGDecoder: new () => TurboDecoder }, TurboDecoder>(
  '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs',
  (module) => new module.JPEGDecoder(),
);

export const decodeJpegDct: FrameDecoder = async (encoded, context) => {
  const size = jpegFrameSize(encoded);
  checkCodestreamSize(size, context, 'JPEG');
  if (size !== null && size.precision > 8) return decodeJpegWithIjg(encoded, context, size.precision);
  return libjpegTurbo.run((decoder) => {
    try {
      decoder.getEncodedBuffer(encoded.length).set(encoded);
      decoder.decode();
      return samplesFromCodec(decoder.getDecodedBuffer(), decoder.getFrameInfo(), context, 'libjpeg-turbo');
    } catch (error) {
      if (isLowdoseError(error)) throw error;
      throw decodeError(context, 'libjpeg-turbo', codecErrorMessage(error), error);
    }
  });
};

/** JPEG 2000 lossless and lossy (.90 / .91) through OpenJPEG (@cornerstonejs/codec-openjpeg). */
import { isLowdoseError } from '../../errors.js';
import { checkCodestreamSize, j2kImageSize, unwrapJp2 } from './codestream.js';
import { decodeError, samplesFromCodec, type CodecFrameInfo } from './decoded-buffer.js';
import type { FrameDecoder } from './types.js';
import { codecErrorMessage, lazyCodec } from './wasm.js';

interface J2KDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getFrameInfo(): CodecFrameInfo;
  getDecodedBuffer(): Uint8Array;
}

const openjpeg = lazyCodec<{ J2KDecoder: new () => J2KDecoder }, J2KDecoder>(
  '@cornerstonejs/codec-openjpeg/decodewasmjs',
  (module) => new module.J2KDecoder(),
);

export const decodeJpeg2000: FrameDecoder = async (encoded, context) => {
  const codestream = unwrapJp2(encoded);
  checkCodestreamSize(j2kImageSize(codestream), context, 'JPEG 2000');
  return openjpeg.run((decoder) => {
    try {
      decoder.getEncodedBuffer(codestream.length).set(codestream);
      decoder.decode();
      return samplesFromCodec(decoder.getDecodedBuffer(), decoder.getFrameInfo(), context, 'OpenJPEG');
    } catch (error) {
      if (isLowdoseError(error)) throw error;
      throw decodeError(context, 'OpenJPEG', codecErrorMessage(error), error);
    }
  });
};

/** High-Throughput JPEG 2000 (.201 / .202 / .203) through OpenJPH (@cornerstonejs/codec-openjph). */
import { isLowdoseError } from '../../errors.js';
import { checkCodestreamSize, j2kImageSize, unwrapJp2 } from './codestream.js';
import { decodeError, samplesFromCodec, type CodecFrameInfo } from './decoded-buffer.js';
import type { FrameDecoder } from './types.js';
import { codecErrorMessage, lazyCodec } from './wasm.js';

interface HTJ2KDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getFrameInfo(): CodecFrameInfo;
  getDecodedBuffer(): Uint8Array;
}

const openjph = lazyCodec<{ HTJ2KDecoder: new () => HTJ2KDecoder }, HTJ2KDecoder>(
  '@cornerstonejs/codec-openjph/wasmjs',
  (module) => new module.HTJ2KDecoder(),
);

export const decodeHtj2k: FrameDecoder = async (encoded, context) => {
  const codestream = unwrapJp2(encoded);
  checkCodestreamSize(j2kImageSize(codestream), context, 'HTJ2K');
  return openjph.run((decoder) => {
    try {
      decoder.getEncodedBuffer(codestream.length).set(codestream);
      decoder.decode();
      return samplesFromCodec(decoder.getDecodedBuffer(), decoder.getFrameInfo(), context, 'OpenJPH');
    } catch (error) {
      if (isLowdoseError(error)) throw error;
      throw decodeError(context, 'OpenJPH', codecErrorMessage(error), error);
    }
  });
};

/** JPEG-LS lossless and near-lossless (.80 / .81) through CharLS (@cornerstonejs/codec-charls). */
import { isLowdoseError } from '../../errors.js';
import { checkCodestreamSize, jpegFrameSize } from './codestream.js';
import { decodeError, samplesFromCodec, type CodecFrameInfo } from './decoded-buffer.js';
import type { FrameDecoder } from './types.js';
import { codecErrorMessage, lazyCodec } from './wasm.js';

interface CharlsDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getFrameInfo(): CodecFrameInfo;
  getDecodedBuffer(): Uint8Array;
}
interface CharlsModule {
  JpegLSDecoder: new () => CharlsDecoder;
  getExceptionMessage(pointer: number): string;
}

const charls = lazyCodec<CharlsModule, { module: CharlsModule; decoder: CharlsDecoder }>(
  '@cornerstonejs/codec-charls/decodewasmjs',
  (module) => ({ module, decoder: new module.JpegLSDecoder() }),
);

export const decodeJpegLs: FrameDecoder = async (encoded, context) => {
  checkCodestreamSize(jpegFrameSize(encoded), context, 'JPEG-LS');
  return charls.run(({ module, decoder }) => {
    try {
      decoder.getEncodedBuffer(encoded.length).set(encoded);
      decoder.decode();
      return samplesFromCodec(decoder.getDecodedBuffer(), decoder.getFrameInfo(), context, 'CharLS');
    } catch (error) {
      if (isLowdoseError(error)) throw error;
      throw decodeError(context, 'CharLS', codecErrorMessage(error, (p) => module.getExceptionMessage(p)), error);
    }
  });
};

/**
 * JPEG lossless, process 14 (.57, any predictor) and its selection-value-1 profile (.70), through
 * IJG libjpeg (./ijg.ts).
 */
import { checkCodestreamSize, jpegFrameSize } from './codestream.js';
import { decodeJpegWithIjg } from './ijg.js';
import type { FrameDecoder } from './types.js';

export const decodeJpegLossless: FrameDecoder = async (encoded, context) => {
  const size = jpegFrameSize(encoded);
  checkCodestreamSize(size, context, 'JPEG lossless');
  return decodeJpegWithIjg(encoded, context, size?.precision ?? context.pixel.bitsStored);
};

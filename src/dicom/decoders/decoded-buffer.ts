/** Shared handling of what the WASM codecs return: a view into their memory, to be copied out. */
import { LowdoseError } from '../../errors.js';
import type { FrameContext, SampleArray } from './types.js';

export interface CodecFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}

/** Copies decoded bytes out of WASM memory as 8 or 16-bit samples, after checking the size. */
export function samplesFromCodec(decoded: Uint8Array, info: CodecFrameInfo, context: FrameContext, codec: string): SampleArray {
  const { rows, columns } = context.pixel;
  if (info.width !== columns || info.height !== rows || info.componentCount !== 1) {
    throw new LowdoseError(
      'E_DECODE',
      `${context.path}: ${codec} decoded ${info.width} x ${info.height} x ${info.componentCount}, expected ${columns} x ${rows} x 1`,
      { path: context.path },
    );
  }
  const bytesPerSample = info.bitsPerSample > 8 ? 2 : 1;
  const expected = rows * columns * bytesPerSample;
  if (decoded.length < expected) {
    throw new LowdoseError('E_DECODE', `${context.path}: ${codec} returned ${decoded.length} bytes, expected ${expected}`, {
      path: context.path,
    });
  }
  const copy = decoded.slice(0, expected);
  if (bytesPerSample === 1) return info.isSigned ? new Int8Array(copy.buffer) : copy;
  return info.isSigned ? new Int16Array(copy.buffer) : new Uint16Array(copy.buffer);
}

export function decodeError(context: FrameContext, codec: string, message: string, cause?: unknown): LowdoseError {
  return new LowdoseError('E_DECODE', `${context.path}: ${codec} could not decode the frame: ${message}`, {
    path: context.path,
    cause,
  });
}

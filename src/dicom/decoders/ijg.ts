/**
 * IJG libjpeg (the 8, 12 and 16-bit builds dcmtk and fo-dicom use) compiled to WebAssembly inside
 * dcmjs-imaging. lowdose uses it where it is the only correct decoder on npm: JPEG extended 12-bit
 * (libjpeg-turbo's 8-bit build refuses it) and JPEG lossless (jpeg-lossless-decoder-js drops the
 * last sample of some streams; the reference hashes caught it). Only its NativePixelDecoder is
 * used, never its DICOM parsing or rendering.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { decodeError, samplesFromCodec } from './decoded-buffer.js';
import type { FrameContext, SampleArray } from './types.js';
import { codecErrorMessage, isWasmRuntimeError } from './wasm.js';

interface NativePixelDecoderApi {
  initializeAsync(options: { webAssemblyModulePathOrUrl?: string; logNativeDecodersMessages?: boolean }): Promise<void>;
  release?(): void;
  decodeJpeg(pixel: DcmjsPixel, data: Uint8Array, parameters?: Record<string, unknown>): Uint8Array;
}

/** The part of dcmjs-imaging's Pixel object that its native decoder reads. */
interface DcmjsPixel {
  getWidth(): number;
  getHeight(): number;
  getBitsAllocated(): number;
  getBitsStored(): number;
  getSamplesPerPixel(): number;
  getPixelRepresentation(): number;
  getPlanarConfiguration(): number;
  getPhotometricInterpretation(): string;
}

let instance: Promise<NativePixelDecoderApi> | null = null;

function load(): Promise<NativePixelDecoderApi> {
  if (instance === null) {
    instance = (async () => {
      const require = createRequire(import.meta.url);
      const entry = require.resolve('dcmjs-imaging');
      const imaging = require('dcmjs-imaging') as {
        NativePixelDecoder: NativePixelDecoderApi;
        log?: { setLevel(level: string): void };
      };
      imaging.log?.setLevel('silent');
      await imaging.NativePixelDecoder.initializeAsync({
        webAssemblyModulePathOrUrl: join(dirname(entry), 'dcmjs-native-codecs.wasm'),
        logNativeDecodersMessages: false,
      });
      return imaging.NativePixelDecoder;
    })();
    instance.catch(() => {
      instance = null;
    });
  }
  return instance;
}

/** Decodes a JPEG (DCT or lossless) frame of `precision` bits per sample. */
export async function decodeJpegWithIjg(encoded: Uint8Array, context: FrameContext, precision: number): Promise<SampleArray> {
  const decoder = await load();
  const { rows, columns, pixelRepresentation } = context.pixel;
  const bitsAllocated = precision > 8 ? 16 : 8;
  const pixel: DcmjsPixel = {
    getWidth: () => columns,
    getHeight: () => rows,
    getBitsAllocated: () => bitsAllocated,
    getBitsStored: () => precision,
    getSamplesPerPixel: () => 1,
    getPixelRepresentation: () => pixelRepresentation,
    getPlanarConfiguration: () => 0,
    getPhotometricInterpretation: () => 'MONOCHROME2',
  };
  let decoded: Uint8Array;
  try {
    decoded = decoder.decodeJpeg(pixel, encoded, {});
  } catch (error) {
    if (isWasmRuntimeError(error)) {
      decoder.release?.();
      instance = null;
    }
    throw decodeError(context, 'IJG libjpeg', codecErrorMessage(error), error);
  }
  return samplesFromCodec(
    decoded,
    { width: columns, height: rows, bitsPerSample: bitsAllocated, componentCount: 1, isSigned: false },
    context,
    'IJG libjpeg',
  );
}

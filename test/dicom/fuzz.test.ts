/**
 * Seeded fuzzing of the reading path: thousands of random truncations, byte flips and stomped
 * length fields of real corpus files (one per codec). Each mutated file must give pixels or a
 * LowdoseError (never another exception, never a crash) and finish in bounded time.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isLowdoseError } from '../../src/errors.js';
import { Rng } from '../../src/util/random.js';
import { buildSeries, classifyObject, parseDicomBytes, readImageHeader } from '../../src/dicom/index.js';
import { decodeParsedFrame } from '../../src/dicom/decode.js';
import { checkPixelData } from '../../src/dicom/frames.js';
import { corpusPath } from './helpers/corpus.js';

const SEED = 20240607;
/** A hang guard, not a speed test: a case that takes this long is stuck. */
const CASE_LIMIT_MS = 5000;

const FILES: Array<[string, number]> = [
  ['pydicom__pydicom/src/pydicom/data/test_files/MR_small.dcm', 1200],
  ['pydicom__pydicom/src/pydicom/data/test_files/MR_small_implicit.dcm', 750],
  ['pydicom__pydicom/src/pydicom/data/test_files/MR_small_bigendian.dcm', 750],
  ['pydicom__pydicom/src/pydicom/data/test_files/MR_small_RLE.dcm', 900],
  ['pydicom__pydicom/src/pydicom/data/test_files/MR_small_jp2klossless.dcm', 900],
  ['pydicom__pydicom/src/pydicom/data/test_files/MR_small_jpeg_ls_lossless.dcm', 900],
  ['pydicom__pydicom/src/pydicom/data/test_files/JPEGLSNearLossless_08.dcm', 600],
  ['pydicom__pydicom-data/data_store/data/emri_small_RLE.dcm', 600],
  ['fo-dicom__fo-dicom/Tests/FO-DICOM.Tests/Test Data/GH184.dcm', 900],
  ['pydicom__pydicom/src/pydicom/data/test_files/image_dfl.dcm', 450],
  ['cornerstonejs__cornerstone3D/packages/dicomImageLoader/testImages/CTImage.dcm_JPEGProcess1TransferSyntax_1.2.840.10008.1.2.4.50.dcm', 450],
  ['pydicom__pydicom/src/pydicom/data/test_files/JPEG-lossy.dcm', 450],
  ['cornerstonejs__dicomParser/testImages/encapsulated/multi-frame/CT0012.not_fragmented_bot_jpeg_ls.80.dcm', 300],
  ['fo-dicom__fo-dicom/Tests/FO-DICOM.Tests/Test Data/CR-MONO1-10-chest', 450],
];

function mutate(original: Uint8Array, rng: Rng): { bytes: Uint8Array; what: string } {
  const kind = rng.int(3);
  if (kind === 0) {
    const length = rng.int(original.length);
    return { bytes: original.slice(0, length), what: `truncated to ${length}` };
  }
  const bytes = original.slice();
  if (kind === 1) {
    const flips = 1 + rng.int(8);
    const at: number[] = [];
    for (let i = 0; i < flips; i++) {
      // Half the flips hit the header, where they change how everything after is read.
      const p = rng.uniform() < 0.5 ? rng.int(Math.min(bytes.length, 2048)) : rng.int(bytes.length);
      bytes[p] = bytes[p]! ^ (1 + rng.int(255));
      at.push(p);
    }
    return { bytes, what: `flipped bytes at ${at.join(',')}` };
  }
  const p = rng.int(Math.max(1, bytes.length - 4));
  bytes.fill(0xff, p, p + 4);
  return { bytes, what: `0xFFFFFFFF written at ${p}` };
}

/** Everything lowdose does with a file it reads: parse, classify, header, checks, decode. */
async function readEverything(bytes: Uint8Array, name: string): Promise<void> {
  const parsed = parseDicomBytes(bytes, name);
  if (classifyObject(parsed).kind !== 'image') return;
  const header = readImageHeader(parsed);
  checkPixelData(parsed, header);
  buildSeries([header]);
  for (let frame = 0; frame < Math.min(header.frames, 3); frame++) await decodeParsedFrame(parsed, header, frame);
}

describe('fuzzing the reader', () => {
  for (const [file, count] of FILES) {
    it(`${file.split('/').pop()}: ${count} mutations give pixels or a LowdoseError`, async () => {
      const original = new Uint8Array(readFileSync(corpusPath(file)));
      const rng = new Rng(SEED, FILES.findIndex(([f]) => f === file));
      const outcomes = { ok: 0, errors: 0 };
      for (let i = 0; i < count; i++) {
        const { bytes, what } = mutate(original, rng);
        const started = performance.now();
        try {
          await readEverything(bytes, `${file} #${i}`);
          outcomes.ok++;
        } catch (error) {
          if (!isLowdoseError(error)) {
            throw new Error(`case ${i} (${what}) threw ${String((error as Error)?.stack ?? error)}`);
          }
          outcomes.errors++;
        }
        const elapsed = performance.now() - started;
        expect(elapsed, `case ${i} (${what})`).toBeLessThan(CASE_LIMIT_MS);
      }
      expect(outcomes.ok + outcomes.errors).toBe(count);
      expect(outcomes.errors).toBeGreaterThan(0);
    });
  }
});

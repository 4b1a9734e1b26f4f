/**
 * What a job is expected to write into the server's work folder, for the disk reserve
 * (./output-room.ts): per input series it denoises, the denoised series, plus the uncertainty series
 * with an ensemble (`samples` > 1, or `uncertainty` / `hallucination`, whose ensemble is the model
 * card's) and the hallucination map series with `hallucination` (src/pipeline/denoise.ts).
 *
 * Each written series is counted as the larger of the source series' bytes on disk and its pixels
 * at 16 bits: the writers store 16-bit uncompressed pixels (src/dicom/write-file.ts, `setPixels`)
 * with the source's attributes, so an uncompressed 16-bit source is about its own size again, while
 * a compressed or 8-bit source's files are smaller than what is written and its pixel bytes are not.
 */
import { stat } from 'node:fs/promises';
import type { JobOptions } from '../api-types.js';

export interface OutputSource {
  readonly rows: number;
  readonly columns: number;
  /** The series' files (a multi-frame file counts once). */
  readonly files: readonly string[];
  readonly slices: number;
}

/** Series the job writes per input series. */
export function seriesWrittenPer(options: Pick<JobOptions, 'samples' | 'uncertainty' | 'hallucination'>): number {
  const ensemble = (options.samples ?? 1) > 1 || options.uncertainty === true || options.hallucination === true;
  return 1 + (ensemble ? 1 : 0) + (options.hallucination === true ? 1 : 0);
}

/** Bytes on disk of `files`; a file that cannot be read counts 0 (its pixel bytes still count). */
async function bytesOnDisk(files: readonly string[]): Promise<number> {
  const sizes = await Promise.all(files.map((file) => stat(file).then((s) => s.size, () => 0)));
  return sizes.reduce((a, b) => a + b, 0);
}

/** The job's expected output, bytes (see the module's comment). */
export async function jobOutputBytes(sources: readonly OutputSource[], options: Pick<JobOptions, 'samples' | 'uncertainty' | 'hallucination'>): Promise<number> {
  let perWrite = 0;
  for (const s of sources) perWrite += Math.max(await bytesOnDisk(s.files), s.rows * s.columns * 2 * s.slices);
  return perWrite * seriesWrittenPer(options);
}


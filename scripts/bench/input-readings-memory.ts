/**
 * What a rerun's input check keeps per slice (src/pipeline/input-content.ts `sliceReading`, which
 * `denoise` keeps for every slice until the series is finished), and how long reading the slices
 * for it takes: the JS heap and external memory after a full GC, before and after reading every
 * slice of the first series in DIR.
 *
 *   node --expose-gc --import tsx scripts/bench/input-readings-memory.ts DIR
 *
 * prints one JSON line: { slices, scanBytesPerSlice, readingBytesPerSlice, readMs }.
 * DIR: a multi-frame file of many small frames (test/dicom/data/write-many-frames.py,
 * test/dicom/data/write-many-pet-frames.py), so that the bookkeeping, not the pixels, is measured.
 */
import { readSliceSource, scanPaths } from '../../src/dicom/index.js';
import { sliceReading, type SliceReading } from '../../src/pipeline/input-content.js';

const dir = process.argv[2];
const gc = (globalThis as { gc?: () => void }).gc;
if (!dir || !gc) throw new Error('usage: node --expose-gc --import tsx scripts/bench/input-readings-memory.ts DIR');
const used = () => {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};

const m0 = used();
const series = (await scanPaths([dir])).series[0];
if (!series) throw new Error(`${dir}: no series`);
const n = series.slices.length;
const m1 = used();
const readings: SliceReading[] = [];
const t0 = performance.now();
for (let i = 0; i < n; i++) readings.push(sliceReading(series, i, await readSliceSource(series, i)));
const readMs = Math.round(performance.now() - t0);
const m2 = used();
console.log(JSON.stringify({ slices: readings.length, scanBytesPerSlice: Math.round((m1 - m0) / n), readingBytesPerSlice: Math.round((m2 - m1) / n), readMs }));

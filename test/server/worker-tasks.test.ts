/**
 * The viewer's slices and the series' header facts are read in the server's worker threads
 * (src/server/worker-tasks.ts), not on its event loop: what the thread returns is what the
 * library returns in-process, and a file that fails fails the task with its code, not the thread.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clearSliceCache, readSliceImage, scanPaths, type Series } from '../../src/dicom/index.js';
import { isLowdoseError } from '../../src/errors.js';
import type { Image2D } from '../../src/image.js';
import { readSeriesFacts } from '../../src/server/data/series-facts.js';
import type { IndexedSeries } from '../../src/server/data/pairing.js';
import { SliceStore } from '../../src/server/slice-store.js';
import { ServerWorker } from '../../src/server/worker-pool.js';
import { seriesToTransfer, sliceReadInput } from '../../src/server/worker-tasks.js';
import { corpus } from '../dicom-write/helpers.js';

const CT_SMALL = corpus('pydicom__pydicom/src/pydicom/data/test_files/CT_small.dcm');
const worker = new ServerWorker();
const root = mkdtempSync(join(tmpdir(), 'lowdose-worker-tasks-'));
afterAll(async () => {
  await worker.close();
  rmSync(root, { recursive: true, force: true });
});

async function onlySeries(path: string): Promise<Series> {
  const { series } = await scanPaths([path]);
  expect(series).toHaveLength(1);
  return series[0]!;
}

describe('server worker tasks', () => {
  it('readSlice in the thread gives the same image as readSliceImage in-process', async () => {
    const series = await onlySeries(CT_SMALL);
    const inThread = await worker.run('readSlice', sliceReadInput(series, 0));
    const inProcess = await readSliceImage(series, 0);
    clearSliceCache();
    expect(inThread.rows).toBe(inProcess.rows);
    expect(inThread.columns).toBe(inProcess.columns);
    expect(inThread.pixelSpacing).toEqual(inProcess.pixelSpacing);
    expect(inThread.data).toBeInstanceOf(Float32Array);
    expect(Buffer.from(inThread.data.buffer).equals(Buffer.from(inProcess.data.buffer))).toBe(true);
    // On shared memory: handed on to the figures or metrics thread without a copy on the event loop.
    expect(inThread.data.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it('a slice read sends the thread that slice and its series\' facts, not the series\' list of slices', async () => {
    const one = await onlySeries(CT_SMALL);
    const long: Series = { ...one, slices: Array.from({ length: 10_000 }, (_, i) => ({ ...one.slices[0]!, instanceNumber: i + 1 })) };
    const input = sliceReadInput(long, 9_999);
    expect(input.slice).toBe(long.slices[9_999]);
    expect(Object.keys(input.series).sort()).toEqual(['columns', 'key', 'rows', 'spacing', 'units']);
    expect(JSON.stringify(input).length).toBeLessThan(2000);
    const inThread = await worker.run('readSlice', input);
    expect(Buffer.from(inThread.data.buffer).equals(Buffer.from((await readSliceImage(one, 0)).data.buffer))).toBe(true);
    clearSliceCache();
    expect(() => sliceReadInput(long, 10_000)).toThrow(/has no slice 10000/);
  });

  it('seriesFacts in the thread equal readSeriesFacts in-process', async () => {
    const series = await onlySeries(CT_SMALL);
    expect(await worker.run('seriesFacts', { series: seriesToTransfer(series) })).toEqual(await readSeriesFacts(series));
  });

  it('a slice file that went bad after indexing fails the task with its code, and the thread reads the next one', async () => {
    const dir = mkdtempSync(join(root, 'bad-'));
    const file = join(dir, 'slice.dcm');
    copyFileSync(CT_SMALL, file);
    const series = await onlySeries(file);
    writeFileSync(file, readFileSync(CT_SMALL).subarray(0, 2000));
    let code = 'ok';
    try {
      await worker.run('readSlice', sliceReadInput(series, 0));
    } catch (error) {
      code = isLowdoseError(error) ? error.code : 'not a LowdoseError';
    }
    expect(['E_TRUNCATED', 'E_MALFORMED', 'E_NO_PIXEL_DATA']).toContain(code);
    const good = await worker.run('readSlice', sliceReadInput(await onlySeries(CT_SMALL), 0));
    expect(good.rows).toBe(128);
  });

  it('the slice store decodes through the reader it is given, once per slice', async () => {
    const series = await onlySeries(CT_SMALL);
    let calls = 0;
    const store = new SliceStore(64 << 20, (s, index) => {
      calls++;
      return worker.run('readSlice', sliceReadInput(s, index));
    });
    const entry = { id: 'series-1', rev: 'r1', series } as unknown as IndexedSeries;
    const [a, b] = await Promise.all([store.read(entry, 0), store.read(entry, 0)]);
    const again: Image2D = await store.read(entry, 0);
    expect(calls).toBe(1);
    expect(a).toBe(b);
    expect(again).toBe(a);
  });
});

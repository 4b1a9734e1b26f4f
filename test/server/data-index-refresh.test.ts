/**
 * A rescan of the data folders (`POST /api/studies/refresh`) with nothing changed reads no PET
 * header to pair a comparison and no series' header facts again: both are kept by the files'
 * revision (path, size, mtime). A rewritten file is read again.
 */
import { mkdtemp, rm, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as agentReference from '../../src/pipeline/agent-reference.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { runPhantom } from '../../src/pipeline/phantom.js';
import { DataIndex } from '../../src/server/data/data-index.js';
import { readSeriesFacts } from '../../src/server/data/series-facts.js';
import type { Series } from '../../src/dicom/index.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';

// The PET header read each PET comparison makes (its source's radiopharmaceuticals), counted.
vi.mock('../../src/pipeline/agent-reference.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/pipeline/agent-reference.js')>();
  return { ...actual, referenceOfTestAgent: vi.fn(actual.referenceOfTestAgent) };
});
const agentReads = vi.mocked(agentReference.referenceOfTestAgent);

let root: string;
let report: DenoiseReport;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'lowdose-index-refresh-'));
  const inputs = [];
  for (const i of [1, 2]) {
    const dir = path.join(root, 'pet', `s${i}`);
    await runPhantom('iec', { outDir: dir, size: 16, slices: 2, uidSeed: `data-index-refresh-${i}` });
    inputs.push(dir);
  }
  report = await denoisePaths(inputs, { outDir: path.join(root, 'denoised'), method: 'gaussian' });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('refreshing the data index', () => {
  it('reads no PET header and no header facts again when nothing changed, and reads a rewritten series again', async () => {
    const factsRead: string[] = [];
    const index = new DataIndex([root], undefined, undefined, (series: Series) => {
      factsRead.push(series.seriesInstanceUid);
      return readSeriesFacts(series);
    });
    agentReads.mockClear();
    await index.refresh();
    const comparisons = index.studies().studies.flatMap((s) => s.comparisons);
    expect(comparisons).toHaveLength(2);
    expect(agentReads).toHaveBeenCalledTimes(2);
    expect(factsRead).toHaveLength(4);

    agentReads.mockClear();
    factsRead.length = 0;
    await index.refresh();
    expect(agentReads).not.toHaveBeenCalled();
    expect(factsRead).toEqual([]);
    expect(index.studies().studies.flatMap((s) => s.comparisons)).toEqual(comparisons);

    // One denoised file rewritten (its mtime moved): its series and its comparison are read again, only they.
    const changed = report.series[0]!;
    const later = new Date(Date.now() + 5000);
    await utimes(changed.output.files[0]!, later, later);
    agentReads.mockClear();
    await index.refresh();
    expect(agentReads).toHaveBeenCalledTimes(1);
    expect(agentReads.mock.calls[0]![1].seriesInstanceUid).toBe(changed.output.seriesInstanceUid);
    expect(factsRead).toEqual([changed.output.seriesInstanceUid]);
  });
});

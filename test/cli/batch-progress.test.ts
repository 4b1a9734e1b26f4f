/**
 * The `batch --wait` progress line's rate and ETA: series found already finished in the output
 * folder (a rerun after an interruption) took no time and do not count in the rate; the ETA is of
 * the slices of series still waiting or running, not of series that failed for good.
 */
import { describe, expect, it } from 'vitest';
import { progressFigures } from '../../src/cli/batch-progress.js';
import type { BatchSnapshot } from '../../src/queue/batch.js';
import type { JobState, JobStatus, SeriesJobResult } from '../../src/queue/jobs.js';

function job(index: number, state: JobState, slicesDone: number): JobStatus {
  return { id: `b-${index}`, seriesInstanceUid: `1.2.${index}`, modality: 'CT', slices: 10, state, attempts: 1, slicesDone, error: null, output: null };
}

function snapshot(jobs: JobStatus[], skippedSeries: number): BatchSnapshot {
  const count = (...states: JobState[]) => jobs.filter((j) => states.includes(j.state)).length;
  const results = Array.from({ length: skippedSeries }, () => ({ skipped: true, output: { files: Array.from({ length: 10 }, (_, i) => `IM${i}.dcm`) } }) as unknown as SeriesJobResult);
  return {
    results,
    failedJobSeries: [],
    studies: [],
    status: {
      id: 'b',
      createdAt: '2026-12-07T00:00:00.000Z',
      outDir: '/out',
      cancelled: false,
      finished: false,
      series: { total: jobs.length, done: count('completed'), failed: count('failed'), running: count('active'), waiting: count('waiting', 'delayed'), cancelled: count('cancelled') },
      slices: { total: jobs.length * 10, done: jobs.reduce((n, j) => n + j.slicesDone, 0) },
      jobs,
    },
  };
}

describe('batch progress figures', () => {
  it('a rerun: the 9 series already done count in no rate; 5 slices in 10 s, 5 left: 0.50/s, ETA 10s', () => {
    const jobs = [...Array.from({ length: 9 }, (_, i) => job(i, 'completed', 10)), job(9, 'active', 5)];
    expect(progressFigures(snapshot(jobs, 9), 10)).toMatchObject({ rate: '0.50', eta: '10s' });
  });

  it('a series that failed for good leaves no slices to wait for', () => {
    const jobs = [job(0, 'completed', 10), job(1, 'failed', 3), job(2, 'waiting', 0)];
    // 13 slices in 13 s: 1/s; 10 slices left (the waiting series), not 17.
    expect(progressFigures(snapshot(jobs, 0), 13)).toMatchObject({ rate: '1.00', eta: '10s' });
  });

  it("a PACS study whose series no worker has listed yet: its slices are unknown, so no ETA; once listed, the ETA counts them", () => {
    const study = (seriesCount?: number): JobStatus => ({
      ...job(1, 'waiting', 0),
      seriesInstanceUid: '',
      source: 'dimse://PACS@h:104/1.3.1',
      studyInstanceUid: '1.3.1',
      ...(seriesCount === undefined ? { modality: '', slices: 0 } : { seriesCount, seriesDone: 0 }),
    });
    expect(progressFigures(snapshot([job(0, 'completed', 10), study()], 0), 10)).toMatchObject({ rate: '1.00', eta: '?' });
    expect(progressFigures(snapshot([job(0, 'completed', 10), study(1)], 0), 10)).toMatchObject({ rate: '1.00', eta: '10s' });
  });
});

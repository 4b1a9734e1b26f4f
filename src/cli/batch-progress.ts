/**
 * Progress of a whole batch on stderr: series done / failed / running, slices per second and ETA.
 * A live bar on a terminal, a line every few seconds (and at each change of series counts) otherwise.
 */
import cliProgress from 'cli-progress';
import type { BatchSnapshot } from '../queue/batch.js';
import { resultSeries } from '../queue/jobs.js';

export interface BatchProgress {
  update(snapshot: BatchSnapshot): void;
  stop(): void;
}

/**
 * The progress line's figures. The rate is of the slices denoised since the batch was queued
 * (waiting for a free worker counts: it is what the user waits); series found already finished in
 * the output folder (`skipped`, a rerun after an interruption) took no time and are left out of
 * it. The ETA is of the slices still to run: those of series waiting or running, not of series
 * that failed for good or were cancelled.
 */
export function progressFigures(snapshot: BatchSnapshot, seconds: number): { counts: string; rate: string; eta: string } {
  const { status, results } = snapshot;
  const skippedSlices = results.flatMap(resultSeries).reduce((n, r) => n + (r.skipped ? r.output.files.length : 0), 0);
  const denoised = Math.max(0, status.slices.done - skippedSlices);
  const rate = denoised / Math.max(1e-3, seconds);
  const left = status.jobs.filter((j) => j.state === 'waiting' || j.state === 'delayed' || j.state === 'active').reduce((n, j) => n + Math.max(0, j.slices - j.slicesDone), 0);
  // A PACS job's slices are known once its worker has listed its study's series: until then, no ETA.
  const unlisted = status.jobs.some((j) => (j.state === 'waiting' || j.state === 'delayed' || j.state === 'active') && j.source !== undefined && j.seriesCount === undefined);
  const eta = unlisted ? null : left === 0 ? 0 : rate > 0 ? Math.round(left / rate) : null;
  const s = status.series;
  return {
    counts: `${s.done} done, ${s.failed} failed, ${s.running} running of ${s.total} series`,
    rate: rate.toFixed(2),
    eta: eta === null ? '?' : `${eta}s`,
  };
}

export function createBatchProgress(options: { enabled?: boolean } = {}): BatchProgress {
  if (options.enabled === false) return { update() {}, stop() {} };
  const startedAt = Date.now();
  const figures = (snapshot: BatchSnapshot) => progressFigures(snapshot, (Date.now() - startedAt) / 1000);
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { stream: process.stderr, format: 'batch [{bar}] {value}/{total} slices | {counts} | {rate}/s | ETA {etaText}', hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(snapshot) {
        const { status } = snapshot;
        const f = figures(snapshot);
        if (!started) bar.start(status.slices.total, status.slices.done, { counts: f.counts, rate: f.rate, etaText: f.eta });
        else {
          // A PACS batch's total grows as workers list their studies' series.
          bar.setTotal(status.slices.total);
          bar.update(status.slices.done, { counts: f.counts, rate: f.rate, etaText: f.eta });
        }
        started = true;
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  let lastPrint = 0;
  let lastCounts = '';
  return {
    update(snapshot) {
      const { status } = snapshot;
      const f = figures(snapshot);
      if (f.counts === lastCounts && Date.now() - lastPrint < 5000) return;
      process.stderr.write(`batch ${status.id}: ${status.slices.done}/${status.slices.total} slices, ${f.counts}, ${f.rate}/s, ETA ${f.eta}\n`);
      lastPrint = Date.now();
      lastCounts = f.counts;
    },
    stop() {},
  };
}

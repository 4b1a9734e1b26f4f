/**
 * Progress of a whole batch on stderr: series done / failed / running, slices per second and ETA.
 * A live bar on a terminal, a line every few seconds (and at each change of series counts) otherwise.
 */
import cliProgress from 'cli-progress';
import type { BatchStatus } from '../queue/jobs.js';

export interface BatchProgress {
  update(status: BatchStatus): void;
  stop(): void;
}

export function createBatchProgress(options: { enabled?: boolean } = {}): BatchProgress {
  if (options.enabled === false) return { update() {}, stop() {} };
  const startedAt = Date.now();
  // Slices per second since the batch was queued (waiting for a free worker counts: it is what the user waits).
  const figures = (status: BatchStatus) => {
    const done = status.slices.done;
    const seconds = Math.max(1e-3, (Date.now() - startedAt) / 1000);
    const rate = done / seconds;
    const eta = rate > 0 ? Math.round((status.slices.total - done) / rate) : null;
    const s = status.series;
    return {
      counts: `${s.done} done, ${s.failed} failed, ${s.running} running of ${s.total} series`,
      rate: rate.toFixed(2),
      eta: eta === null ? '?' : `${eta}s`,
    };
  };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { stream: process.stderr, format: 'batch [{bar}] {value}/{total} slices | {counts} | {rate}/s | ETA {etaText}', hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(status) {
        const f = figures(status);
        if (!started) bar.start(status.slices.total, status.slices.done, { counts: f.counts, rate: f.rate, etaText: f.eta });
        else bar.update(status.slices.done, { counts: f.counts, rate: f.rate, etaText: f.eta });
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
    update(status) {
      const f = figures(status);
      if (f.counts === lastCounts && Date.now() - lastPrint < 5000) return;
      process.stderr.write(`batch ${status.id}: ${status.slices.done}/${status.slices.total} slices, ${f.counts}, ${f.rate}/s, ETA ${f.eta}\n`);
      lastPrint = Date.now();
      lastCounts = f.counts;
    },
    stop() {},
  };
}

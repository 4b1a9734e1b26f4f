/**
 * Progress on stderr: a live bar (slices, rate, ETA) on a terminal, a line every few seconds
 * otherwise so that logs of batch jobs stay readable.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** Starts (or restarts) a task of `total` units. */
  start(label: string, total: number): void;
  increment(by?: number): void;
  stop(): void;
}

export function createProgress(options: { enabled?: boolean; unit?: string } = {}): Progress {
  const enabled = options.enabled ?? true;
  const unit = options.unit ?? 'slices';
  if (!enabled) return { start() {}, increment() {}, stop() {} };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: `{label} [{bar}] {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`,
        hideCursor: true,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    let label = '';
    let startedAt = 0;
    let value = 0;
    const rate = () => (value / Math.max(1e-3, (Date.now() - startedAt) / 1000)).toFixed(2);
    return {
      start(newLabel, total) {
        label = newLabel;
        startedAt = Date.now();
        value = 0;
        bar.start(total, 0, { label, rate: '0.00' });
      },
      increment(by = 1) {
        value += by;
        bar.increment(by, { label, rate: rate() });
      },
      stop() {
        bar.stop();
      },
    };
  }
  let label = '';
  let total = 0;
  let value = 0;
  let startedAt = 0;
  let lastPrint = 0;
  const print = () => {
    const seconds = (Date.now() - startedAt) / 1000;
    const rate = value / Math.max(1e-3, seconds);
    const eta = rate > 0 ? Math.round((total - value) / rate) : 0;
    process.stderr.write(`${label}: ${value}/${total} ${unit}, ${rate.toFixed(2)}/s, ETA ${eta}s\n`);
    lastPrint = Date.now();
  };
  return {
    start(newLabel, newTotal) {
      label = newLabel;
      total = newTotal;
      value = 0;
      startedAt = Date.now();
      lastPrint = startedAt;
    },
    increment(by = 1) {
      value += by;
      if (value === total || Date.now() - lastPrint > 5000) print();
    },
    stop() {},
  };
}

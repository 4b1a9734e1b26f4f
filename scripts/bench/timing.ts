/**
 * Fastest and median of `repeats` timed runs after a warm-up (JIT, FFT plans). On a shared machine
 * the fastest run is the best estimate of the code's own cost; the median shows the contention.
 */
export function timeMs(repeats: number, fn: () => unknown): { min: number; median: number } {
  fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { min: times[0]!, median: times[Math.floor(times.length / 2)]! };
}

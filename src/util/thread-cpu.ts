/**
 * CPU time of the calling thread, for measuring the engine's own work on a shared machine: wall
 * time there counts the minutes other processes held the cores, CPU time does not. Node 20 has no
 * per-thread clock (process.cpuUsage sums every thread, onnxruntime's pool included), so this
 * reads Linux's /proc/thread-self/schedstat, whose first field is the thread's time on a CPU in
 * nanoseconds (a pread of a kept-open file: about 2 µs).
 *
 * Resolution: the kernel adds a running thread's time to this counter when it switches threads
 * and at its scheduler tick (every 4 ms at 250 Hz), so one difference of two readings may be off
 * by up to a tick; averaged over repeated runs the error goes away (what `lowdose bench` does).
 *
 * The file is opened on first use and names the thread that opened it: call it from one thread
 * (the main thread, where lowdose runs the sampling loop and onnxruntime's forward passes).
 * Elsewhere (not Linux, no schedstat) it returns null.
 */
import { closeSync, openSync, readSync } from 'node:fs';

let fd: number | null | undefined;
const buffer = Buffer.alloc(96);

/** Milliseconds this thread has run on a CPU so far, or null where the system does not say. */
export function threadCpuMs(): number | null {
  if (fd === undefined) {
    try {
      fd = openSync('/proc/thread-self/schedstat', 'r');
    } catch {
      fd = null;
    }
  }
  if (fd === null) return null;
  try {
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    const end = buffer.indexOf(32);
    const ns = Number(buffer.toString('latin1', 0, end > 0 && end < n ? end : n));
    return Number.isFinite(ns) ? ns / 1e6 : null;
  } catch {
    closeSync(fd);
    fd = null;
    return null;
  }
}

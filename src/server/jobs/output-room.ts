/**
 * Disk room for jobs' outputs (ServerConfig.limits.diskReserveBytes, ../disk-room.ts). A job
 * accepted by POST /api/jobs is promised its expected output (./output-estimate.ts) until it ends
 * (done, failed or cancelled): a new job is admitted only when the disk's free space, less what is
 * promised to the jobs queued or running, less its own output, keeps the reserve. A running job's
 * promise shrinks by what it has written into its folder, which the free space already lacks.
 * Uploads keep clear of the promised room too (`promisedNow`).
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { formatBytes } from '../../util/bytes.js';
import { diskFullError } from '../disk-room.js';
import type { PromisedOutput } from './queue.js';

export interface OutputRoomOptions {
  /** The folder whose disk holds the outputs (the work folder). */
  readonly workDir: string;
  /** Bytes kept free (read at each check: the limit a test or an embedding program sets). */
  readonly reserve: () => number;
  /** Bytes free on the disk of a folder (../disk-room.ts `freeBytes`; a stand-in disk in tests). */
  readonly freeBytes: (dir: string) => Promise<number>;
  /** The outputs of the jobs that have not ended (JobQueue.promisedOutputs). */
  readonly promised: () => readonly PromisedOutput[];
}

/** Bytes of the files under `dir` (0 when it does not exist; a file gone while counted counts 0). */
async function bytesUnder(dir: string): Promise<number> {
  const names = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  const sizes = await Promise.all(names.map((name) => stat(path.join(dir, name)).then((s) => (s.isFile() ? s.size : 0), () => 0)));
  return sizes.reduce((a, b) => a + b, 0);
}

/** What `outputs` still need: each estimate less what its running job has written (`written`, by job id). */
function stillPromised(outputs: readonly PromisedOutput[], written: ReadonlyMap<string, number>): { bytes: number; jobs: number } {
  let bytes = 0;
  for (const output of outputs) bytes += Math.max(0, output.bytes - (written.get(output.id) ?? 0));
  return { bytes, jobs: outputs.length };
}

export class JobOutputRoom {
  constructor(private readonly options: OutputRoomOptions) {}

  /**
   * Calls `accept` (the queue's submit) when `outputBytes` fit beside the outputs promised to the
   * jobs not yet ended; refuses (507 E_IO, naming the promised bytes) otherwise. The promises are
   * read and `accept` runs in one turn of the event loop after the free space is known, so two
   * submissions at once cannot both take the same room.
   */
  async admit<T>(outputBytes: number, accept: () => T): Promise<T> {
    if (outputBytes <= 0) return accept();
    const free = await this.measure();
    this.check(free.bytes, stillPromised(this.options.promised(), free.written), outputBytes);
    return accept();
  }

  /**
   * When job `id` starts (it may have waited while the disk filled): its output beside what the
   * other running jobs still write. The jobs queued behind it are checked when they start.
   */
  async checkStart(id: string, outputBytes: number): Promise<void> {
    if (outputBytes <= 0) return;
    const free = await this.measure();
    const others = this.options.promised().filter((o) => o.running && o.id !== id);
    this.check(free.bytes, stillPromised(others, free.written), outputBytes);
  }

  /**
   * The disk's free bytes and what is promised on it to the jobs not yet ended (less what the
   * running ones have written): the room another writer (an upload, ../routes/uploads.ts) may take
   * without leaving a queued job's output without its room.
   */
  async promisedNow(): Promise<{ free: number; promised: { bytes: number; jobs: number } }> {
    const free = await this.measure();
    return { free: free.bytes, promised: stillPromised(this.options.promised(), free.written) };
  }

  /**
   * The disk's free bytes, and what each running job has written. The folders are counted first:
   * bytes written between the two count twice (in the folder and missing from the free space),
   * never not at all.
   */
  private async measure(): Promise<{ bytes: number; written: Map<string, number> }> {
    const running = this.options.promised().filter((o) => o.running);
    const written = new Map(await Promise.all(running.map(async (o) => [o.id, await bytesUnder(o.outDir)] as const)));
    return { bytes: await this.options.freeBytes(this.options.workDir), written };
  }

  private check(free: number, promised: { bytes: number; jobs: number }, outputBytes: number): void {
    const reserve = this.options.reserve();
    if (free - promised.bytes - outputBytes >= reserve) return;
    throw diskFullError(free, reserve, `the job's output (about ${formatBytes(outputBytes)})`, promised.jobs > 0 ? promised : undefined);
  }
}

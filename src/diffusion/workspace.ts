/**
 * The buffers of a sampling run, kept from one call to the next. A 512 x 512 slice needs about
 * 4 MB of them per call (condition, sample, network output, x̂_0); allocating them afresh each time
 * cost page faults on first touch and garbage collections of the dropped ones, together about as
 * much CPU as the arithmetic itself. Arrays handed back again are also the same objects, so the
 * runtime's tensor wrappers (src/runtime/session.ts caches one per array) are reused too.
 *
 * One run at a time: `run` lends the workspace to one call and gives a concurrent caller a second
 * one, kept for the next such call (`lowdose denoise` keeps two batches in flight), never sharing.
 */
export class Workspace {
  private readonly arrays = new Map<string, Float32Array>();
  private busy = false;
  /** Lent to a call that came while this one was busy; kept for the next such call. */
  private spare: Workspace | null = null;

  /**
   * `shared`: arrays on SharedArrayBuffers, which a session on a worker thread
   * (src/runtime/worker-session.ts) reads and writes without a copy on this thread.
   */
  constructor(private readonly shared = false) {}

  /**
   * The array named `name` with exactly `length` values: the one an earlier call used when it had
   * that length (its contents are what that call left: callers overwrite, never read first),
   * else a new one that replaces it.
   */
  get(name: string, length: number): Float32Array {
    const cached = this.arrays.get(name);
    if (cached?.length === length) return cached;
    const array = this.shared ? new Float32Array(new SharedArrayBuffer(length * Float32Array.BYTES_PER_ELEMENT)) : new Float32Array(length);
    this.arrays.set(name, array);
    return array;
  }

  /**
   * Calls `fn` with this workspace, or, while another call holds it, with a second one kept for
   * such calls (`lowdose denoise` keeps two batches in flight), or a new one beyond that.
   */
  async run<T>(fn: (workspace: Workspace) => Promise<T>): Promise<T> {
    if (this.busy) {
      this.spare ??= new Workspace(this.shared);
      return this.spare.busy ? fn(new Workspace(this.shared)) : this.spare.run(fn);
    }
    this.busy = true;
    try {
      return await fn(this);
    } finally {
      this.busy = false;
    }
  }

}

/**
 * Slices in modality units for the routes and the metrics, read once and kept in a small
 * least-recently-used cache bounded by bytes: scrolling back and forth, and metrics after viewing,
 * do not decode the same file twice. In-flight reads are shared.
 */
import { readSliceImage, type Series } from '../dicom/index.js';
import type { Image2D } from '../image.js';
import type { IndexedSeries } from './data/pairing.js';

/** Decodes one slice: readSliceImage, or the same in a worker thread (the server's). */
export type SliceReader = (series: Series, index: number) => Promise<Image2D>;

export class SliceStore {
  private readonly cache = new Map<string, Promise<Image2D>>();
  private readonly sizes = new Map<string, number>();
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly readSlice: SliceReader = readSliceImage,
  ) {}

  read(entry: IndexedSeries, index: number): Promise<Image2D> {
    const key = `${entry.id}:${entry.rev}:${index}`;
    const hit = this.cache.get(key);
    if (hit) {
      // Map keeps insertion order: re-inserting marks it most recently used.
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const pending = this.readSlice(entry.series, index);
    this.cache.set(key, pending);
    pending.then(
      (image) => {
        if (this.cache.get(key) !== pending) return;
        const size = image.data.byteLength;
        this.sizes.set(key, size);
        this.bytes += size;
        this.evict();
      },
      () => this.cache.delete(key),
    );
    return pending;
  }

  private evict(): void {
    for (const key of this.cache.keys()) {
      if (this.bytes <= this.maxBytes) return;
      const size = this.sizes.get(key);
      if (size === undefined) continue; // still loading
      this.cache.delete(key);
      this.sizes.delete(key);
      this.bytes -= size;
    }
  }
}

/**
 * Loads slices before they are needed: nearest to the current slice first, in the direction of the
 * last scroll, a few requests at a time, until every pane's series is in cornerstone's cache (or
 * the cache budget is reached). Scrolling then only ever displays cached images.
 */
import cornerstone from 'cornerstone-core';

// Browsers open 6 connections per host: 4 for prefetching leaves 2 for the slice on screen.
const CONCURRENCY = 4;

export class Prefetcher {
  private order: string[] = [];
  private next = 0;
  private inFlight = 0;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];

  /** `stacks`: for each visible pane, its imageIds aligned to the low-dose slices. */
  constructor(
    private stacks: string[][],
    private readonly budgetImages: number,
    /** Called as the queue drains: images cached of those wanted. */
    private readonly onProgress: (cached: number, wanted: number) => void = () => {},
  ) {}

  setStacks(stacks: string[][]): void {
    this.stacks = stacks;
  }

  /** Reorders the queue around `index`; `direction` +1 / -1 is where the user is heading. */
  focus(index: number, direction: number): void {
    const count = Math.max(0, ...this.stacks.map((s) => s.length));
    const perSlice = Math.max(1, this.stacks.length);
    const radius = Math.min(count, Math.floor(this.budgetImages / perSlice / 2));
    const order: string[] = [];
    const seen = new Set<string>();
    const push = (i: number) => {
      if (i < 0 || i >= count) return;
      for (const stack of this.stacks) {
        const id = stack[i];
        if (id && !seen.has(id)) {
          seen.add(id);
          order.push(id);
        }
      }
    };
    const ahead = direction < 0 ? -1 : 1;
    push(index);
    for (let d = 1; d <= radius; d++) {
      // Two ahead for each one behind: scrolling usually goes on the way it went.
      push(index + ahead * (2 * d - 1));
      push(index + ahead * 2 * d);
      push(index - ahead * d);
    }
    this.order = order;
    this.next = 0;
    this.pump();
  }

  stop(): void {
    this.stopped = true;
    this.order = [];
    this.settleIdle();
  }

  /** Resolves once nothing is left to fetch (at once when that is already so). */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private get idle(): boolean {
    return this.stopped || (this.inFlight === 0 && this.next >= this.order.length);
  }

  private settleIdle(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private pump(): void {
    while (!this.stopped && this.inFlight < CONCURRENCY && this.next < this.order.length) {
      const id = this.order[this.next++]!;
      if (cornerstone.imageCache.getImageLoadObject(id)) continue;
      this.inFlight++;
      cornerstone
        .loadAndCacheImage(id)
        .catch(() => {
          // A failed prefetch is retried when the slice is shown, where the error is reported.
        })
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
    if (!this.stopped) this.onProgress(this.next - this.inFlight, this.order.length);
    if (this.idle) this.settleIdle();
  }
}

/**
 * Cine: steps through the slices at a chosen frame rate, from the end back to the start, until
 * stopped. The viewer's prefetcher loads ahead in the direction of travel, so a cached series plays
 * at the rate asked; slices still loading are shown as they arrive.
 */

export interface CineTarget {
  readonly currentIndex: number;
  readonly sliceCount: number;
  setIndex(index: number): void;
}

export const DEFAULT_FPS = 10;

/** The slice after `index` in a loop of `count`. */
export function nextInLoop(index: number, count: number): number {
  return count <= 0 ? 0 : (index + 1) % count;
}

export class Cine {
  private timer: number | undefined;
  private rate = DEFAULT_FPS;

  constructor(
    private readonly target: CineTarget,
    private readonly onChange: (playing: boolean) => void = () => {},
  ) {}

  get playing(): boolean {
    return this.timer !== undefined;
  }

  get fps(): number {
    return this.rate;
  }

  /** Frames per second, 1–60; a running cine takes the new rate at once. */
  setFps(fps: number): void {
    if (!Number.isFinite(fps)) return;
    this.rate = Math.min(60, Math.max(1, fps));
    if (this.playing) this.start();
  }

  start(): void {
    window.clearInterval(this.timer);
    this.timer = window.setInterval(() => this.target.setIndex(nextInLoop(this.target.currentIndex, this.target.sliceCount)), 1000 / this.rate);
    this.onChange(true);
  }

  stop(): void {
    if (this.timer === undefined) return;
    window.clearInterval(this.timer);
    this.timer = undefined;
    this.onChange(false);
  }

  toggle(): void {
    if (this.playing) this.stop();
    else this.start();
  }
}

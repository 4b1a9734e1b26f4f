/**
 * Flicker: one viewport that shows the low-dose, denoised and reference images of the same slice in
 * turn, on a key press or at a set rate: how a reader spots a lesion that denoising lost or made.
 * It is the 1×1 layout cycling through the anatomy panes, which are linked and so share slice,
 * zoom, pan and window: only the image changes. Leaving it restores the layout it replaced.
 */
import type { LayoutId } from './layout.js';
import type { PaneKey } from './pane-titles.js';

export interface FlickerTarget {
  readonly layoutId: LayoutId;
  /** The anatomy panes of the open view that are switched on: source, denoised, reference. */
  anatomyKeys(): PaneKey[];
  /** Puts a pane first (in 1×1: the pane on screen). */
  showFirst(key: PaneKey): void;
  /** The screen order of the panes, to put back. */
  paneOrder(): PaneKey[];
  restoreOrder(order: readonly PaneKey[]): void;
}

export const DEFAULT_FLICKER_HZ = 2;

export class Flicker {
  private saved: { layout: LayoutId; order: PaneKey[] } | null = null;
  private sources: PaneKey[] = [];
  private at = 0;
  private timer: number | undefined;
  private rate = DEFAULT_FLICKER_HZ;

  constructor(
    private readonly target: FlickerTarget,
    /** Sets the layout through the toolbar (so its buttons agree). */
    private readonly setLayout: (id: LayoutId) => void,
    private readonly onChange: (state: { on: boolean; auto: boolean; showing: PaneKey | null }) => void = () => {},
  ) {}

  get on(): boolean {
    return this.saved !== null;
  }

  get auto(): boolean {
    return this.timer !== undefined;
  }

  get showing(): PaneKey | null {
    return this.on ? (this.sources[this.at] ?? null) : null;
  }

  get hz(): number {
    return this.rate;
  }

  /** Images per second while flickering on its own, 0.5–20. */
  setRate(hz: number): void {
    if (!Number.isFinite(hz)) return;
    this.rate = Math.min(20, Math.max(0.5, hz));
    if (this.auto) this.startAuto();
  }

  /** Enters flicker on the first image; once in, shows the next. False when there is nothing to flicker between. */
  step(): boolean {
    if (!this.on) return this.enter();
    this.at = (this.at + 1) % this.sources.length;
    this.target.showFirst(this.sources[this.at]!);
    this.changed();
    return true;
  }

  toggleAuto(): boolean {
    if (this.auto) {
      this.stopAuto();
      return true;
    }
    if (!this.on && !this.enter()) return false;
    this.startAuto();
    return true;
  }

  /** Back to the layout and pane order from before. */
  exit(): void {
    this.stopAuto();
    const saved = this.saved;
    if (!saved) return;
    this.saved = null;
    this.target.restoreOrder(saved.order);
    this.setLayout(saved.layout);
    this.changed();
  }

  /** A new view was opened: its panes are not the ones flickered. */
  reset(): void {
    this.stopAuto();
    this.saved = null;
    this.changed();
  }

  private enter(): boolean {
    const sources = this.target.anatomyKeys();
    if (sources.length < 2) return false;
    this.sources = sources;
    this.at = 0;
    this.saved = { layout: this.target.layoutId, order: this.target.paneOrder() };
    this.target.showFirst(sources[0]!);
    this.setLayout('1x1');
    this.changed();
    return true;
  }

  private startAuto(): void {
    window.clearInterval(this.timer);
    this.timer = window.setInterval(() => this.step(), 1000 / this.rate);
    this.changed();
  }

  private stopAuto(): void {
    if (this.timer === undefined) return;
    window.clearInterval(this.timer);
    this.timer = undefined;
    this.changed();
  }

  private changed(): void {
    this.onChange({ on: this.on, auto: this.auto, showing: this.showing });
  }
}

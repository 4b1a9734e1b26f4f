/**
 * Slices from wheel events by distance travelled, not by event count: a trackpad sends dozens of
 * small events for one flick, a mouse one event of about 100 px per notch. The first event of a
 * gesture moves one slice at once (a mouse notch of any size, a trackpad's first touch), then one
 * slice per `pixelsPerSlice` of further travel; a pause or a change of direction starts a new gesture.
 */

export const PIXELS_PER_SLICE = 100;
/** A pause longer than this (ms) ends a gesture. */
export const GESTURE_GAP_MS = 200;
/** WheelEvent.deltaMode: DOM_DELTA_LINE and DOM_DELTA_PAGE in pixels. */
const LINE_PX = 40;
const PAGE_PX = 800;

export class WheelAccumulator {
  private travel = 0;
  private last = -Infinity;
  private sign = 0;

  constructor(
    private readonly pixelsPerSlice = PIXELS_PER_SLICE,
    private readonly gapMs = GESTURE_GAP_MS,
  ) {}

  /** Slices to move for one wheel event (`deltaMode` as WheelEvent has it; `time` in ms). */
  slices(deltaY: number, deltaMode: number, time: number): number {
    const px = deltaY * (deltaMode === 1 ? LINE_PX : deltaMode === 2 ? PAGE_PX : 1);
    if (px === 0) return 0;
    const sign = Math.sign(px);
    const fresh = time - this.last > this.gapMs || sign !== this.sign;
    this.last = time;
    this.sign = sign;
    if (fresh) {
      // One slice now; the rest of this event's travel counts towards the next.
      this.travel = px - sign * this.pixelsPerSlice;
      return sign + this.take();
    }
    this.travel += px;
    return this.take();
  }

  private take(): number {
    const n = Math.trunc(this.travel / this.pixelsPerSlice);
    this.travel -= n * this.pixelsPerSlice;
    return n;
  }
}

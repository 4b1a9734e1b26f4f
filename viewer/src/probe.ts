/**
 * The pixel probe: the value under the cursor, read in every pane at the same place of the patient
 * (the same image pixel where the panes share a grid; through patient coordinates, ./pane-geometry.ts,
 * in a reference of another pixel spacing or field of view; `–` where it has no place) from
 * that pane's own slice (HU for CT, SUV for PET in SUV, the difference or the SD in the difference
 * and uncertainty panes), written in each pane's footer. It listens on the panes' container
 * (capture phase, so cornerstone's non-bubbling render events reach it too): scrolling under a
 * still cursor updates the values. The value is the one cornerstone holds, stored × slope +
 * intercept, which is the server's modality value (int16 slices exactly; float32 slices within
 * half a step of their int16 grid).
 */
import cornerstone, { type Image } from 'cornerstone-core';
import { pointInPane, pointToFrame, type PanePlacement } from './pane-geometry.js';

export interface ProbeReading {
  readonly column: number;
  readonly row: number;
  /** null: the pixel is outside the image, padding, or the pane has no slice here. */
  readonly value: number | null;
}

/** The value of image pixel (column, row) of `image` in modality units, or null outside it or on padding. */
export function probeImage(image: Pick<Image, 'rows' | 'columns' | 'slope' | 'intercept' | 'getPixelData' | 'blank' | 'padding'>, x: number, y: number): ProbeReading {
  const column = Math.floor(x);
  const row = Math.floor(y);
  if (image.blank || column < 0 || row < 0 || column >= image.columns || row >= image.rows) return { column, row, value: null };
  const i = row * image.columns + column;
  if (image.padding?.[i]) return { column, row, value: null };
  return { column, row, value: image.getPixelData()[i]! * image.slope + image.intercept };
}

/** "41 HU", "2.31 SUV", "-0.4 HU": enough digits for the unit's scale. */
export function formatProbe(value: number, units: string): string {
  const unit = units === 'SUVbw' ? 'SUV' : units;
  const a = Math.abs(value);
  const text = a >= 100 ? value.toFixed(0) : a >= 10 ? value.toFixed(1) : value.toFixed(2);
  return `${text} ${unit}`.trim();
}

export class Probe {
  private at: { pageX: number; pageY: number; element: HTMLElement } | null = null;
  private frame = 0;

  constructor(
    private readonly container: HTMLElement,
    /** Where the pane of an image element lies against the low-dose slice (null: the same pixels). */
    private readonly placementOf: (element: HTMLElement) => PanePlacement | null = () => null,
  ) {
    container.addEventListener('mousemove', (event) => {
      const element = (event.target as HTMLElement).closest<HTMLElement>('.pane-image');
      this.at = element ? { pageX: event.pageX, pageY: event.pageY, element } : null;
      this.schedule();
    });
    container.addEventListener('mouseleave', () => {
      this.at = null;
      this.schedule();
    });
    container.addEventListener(cornerstone.EVENTS.IMAGE_RENDERED, () => this.schedule(), true);
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = window.requestAnimationFrame(() => {
      this.frame = 0;
      this.update();
    });
  }

  private update(): void {
    const at = this.at?.element.isConnected ? this.at : null;
    const source = at ? imageOf(at.element) : null;
    const point = at && source ? cornerstone.pageToPixel(at.element, at.pageX, at.pageY) : null;
    const sourcePlacement = at && point ? this.placementOf(at.element) : null;
    // The point in low-dose pixels, from which every other pane takes it onto its own grid.
    const framePoint = point && sourcePlacement ? pointToFrame(point, sourcePlacement) : point;
    for (const pane of this.container.querySelectorAll<HTMLElement>('.pane')) {
      const element = pane.querySelector<HTMLElement>('.pane-image');
      const footer = pane.querySelector<HTMLElement>('.pane-info');
      if (!element || !footer) continue;
      const box = footer.querySelector<HTMLElement>('.pane-probe') ?? footer.appendChild(probeBox());
      const image = point && !pane.hidden ? imageOf(element) : null;
      const placement = image && framePoint && element !== at?.element ? this.placementOf(element) : null;
      const placed = placement && framePoint ? pointInPane(framePoint, placement) : null;
      if (placed && !placed.point) {
        // Another orientation, no geometry, another section: no value here rather than another place's.
        box.textContent = '–';
        box.title = placed.reason;
        delete box.dataset.value;
        delete box.dataset.column;
        delete box.dataset.row;
        continue;
      }
      box.title = PROBE_TITLE;
      const here = placed?.point ?? (element === at?.element ? point : framePoint);
      const reading = image && here ? probeImage(image, here.x, here.y) : null;
      if (!reading || !image) {
        box.textContent = '';
        delete box.dataset.value;
        continue;
      }
      box.dataset.column = String(reading.column);
      box.dataset.row = String(reading.row);
      if (reading.value === null) {
        delete box.dataset.value;
        box.textContent = `(${reading.column}, ${reading.row}) –`;
      } else {
        box.dataset.value = String(reading.value);
        box.textContent = `(${reading.column}, ${reading.row}) ${formatProbe(reading.value, image.units ?? '')}`;
      }
    }
  }
}

const PROBE_TITLE = 'Value under the cursor: (column, row) of the image, value in the pane’s units';

function probeBox(): HTMLElement {
  const box = document.createElement('span');
  box.className = 'pane-probe';
  box.style.color = '#ffd54a';
  box.title = PROBE_TITLE;
  return box;
}

function imageOf(element: HTMLElement): Image | null {
  try {
    return cornerstone.getEnabledElement(element).image ?? null;
  } catch {
    return null; // not enabled (yet)
  }
}

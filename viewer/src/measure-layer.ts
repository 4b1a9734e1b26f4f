/**
 * Several measurements drawn once and mirrored in every pane: ellipse ROIs (drawn with the
 * viewer's ROI tool, R, which keeps its own readout in the pane footers), rectangles (B), freehand
 * outlines (Q) and lengths (M), each over the same anatomy in every pane: kept in the low-dose
 * series' image pixels and moved onto each pane's own grid through patient coordinates
 * (./pane-geometry.ts), or left out of a pane where they cannot be placed. A table (fixed at the
 * bottom right while there are measurements) lists mean, SD, min, max and area in mm² of each ROI
 * in each shown pane, read from that pane's own slice in its units, each length in mm, and the CNR
 * of the first ROI against the second; "CSV" downloads the same numbers. The numbers are
 * ./roi-stats.ts; this file is the mouse, the canvas and the page.
 */
import cornerstone, { type Image, type RenderedEventDetail } from 'cornerstone-core';
import { sliceValues } from './roi.js';
import { lengthMm, measurementTable, tableCsv, type CnrRow, type Point, type Shape, type TablePane, type TableRow } from './roi-stats.js';
import type { Ellipse } from './uptake.js';
import { placeShape, placeWithNote, shapeToFrame, type PanePlacement } from './pane-geometry.js';

export type MeasureMode = 'rectangle' | 'freehand' | 'length';

interface Measurement {
  readonly name: string;
  shape: Shape;
}

export class MeasureLayer {
  private readonly list: Measurement[] = [];
  /** `start` in the pane's pixels; the measurement's shape is kept in low-dose pixels. */
  private drawing: { measurement: Measurement; element: HTMLElement; start: Point; placement: PanePlacement | null } | null = null;
  private count = 0;
  private frame = 0;
  /** The viewer's current ellipse (it draws that one itself). */
  private currentEllipse: Ellipse | null = null;
  readonly panel: HTMLElement;
  private lastCsv = '';

  constructor(
    private readonly container: HTMLElement,
    private readonly mode: () => string,
    /** Where the pane of an image element measures shapes kept in low-dose pixels (null: the same pixels). */
    private readonly placementOf: (element: HTMLElement) => PanePlacement | null = () => null,
  ) {
    this.panel = document.createElement('section');
    this.panel.id = 'measurements';
    this.panel.setAttribute('aria-label', 'Measurements');
    this.panel.hidden = true;
    Object.assign(this.panel.style, {
      position: 'fixed',
      right: '8px',
      // Above the metrics plot when it is open (styles.css sets the variable).
      bottom: 'var(--measure-bottom, 40px)',
      maxHeight: '40vh',
      maxWidth: '60vw',
      overflow: 'auto',
      background: 'rgba(12, 16, 22, 0.94)',
      border: '1px solid #2b3440',
      padding: '6px 8px',
      font: '12px system-ui, sans-serif',
      color: '#e6edf3',
      zIndex: '20',
    });
    document.body.append(this.panel);
    container.addEventListener('mousedown', (event) => this.down(event), true);
    window.addEventListener('mousemove', (event) => this.move(event));
    window.addEventListener('mouseup', () => this.up());
    container.addEventListener(cornerstone.EVENTS.IMAGE_RENDERED, (event) => this.draw((event as CustomEvent<RenderedEventDetail>).detail), true);
  }

  /** The viewer drew (or removed) its ellipse ROI: it joins the table, and stays when the next one is drawn. */
  ellipseDrawn(ellipse: Ellipse | null): void {
    this.currentEllipse = ellipse;
    if (ellipse) this.list.push({ name: this.nextName(), shape: { kind: 'ellipse', ellipse } });
    this.changed();
  }

  clear(): void {
    this.list.length = 0;
    this.currentEllipse = null;
    this.count = 0;
    this.changed();
  }

  /** The table's CSV, as the CSV button downloads it. */
  csv(): string {
    return this.lastCsv;
  }

  private nextName(): string {
    this.count++;
    return `R${this.count}`;
  }

  private down(event: MouseEvent): void {
    const mode = this.mode();
    if (mode !== 'rectangle' && mode !== 'freehand' && mode !== 'length') return;
    const element = (event.target as HTMLElement).closest<HTMLElement>('.pane-image');
    if (event.button !== 0 || !element || !imageOf(element)) return;
    event.preventDefault();
    event.stopPropagation();
    const start = cornerstone.pageToPixel(element, event.pageX, event.pageY);
    const drawn: Shape = mode === 'freehand' ? { kind: 'freehand', points: [start] } : { kind: mode, from: start, to: start };
    const placement = this.placementOf(element);
    const shape = placement ? shapeToFrame(drawn, placement) : drawn;
    // A pane whose grid does not map onto the low-dose one (another orientation, no geometry) takes no measurement.
    if (!shape) return;
    const name = mode === 'length' ? `L${this.list.filter((m) => m.shape.kind === 'length').length + 1}` : this.nextName();
    this.drawing = { measurement: { name, shape }, element, start, placement };
    this.list.push(this.drawing.measurement);
  }

  private move(event: MouseEvent): void {
    const drawing = this.drawing;
    if (!drawing) return;
    // In low-dose pixels, where the measurement's shape is kept.
    const onPane = cornerstone.pageToPixel(drawing.element, event.pageX, event.pageY);
    const moved = drawing.placement ? shapeToFrame({ kind: 'length', from: onPane, to: onPane }, drawing.placement) : null;
    const point = moved?.kind === 'length' ? moved.to : onPane;
    const shape = drawing.measurement.shape;
    drawing.measurement.shape = shape.kind === 'freehand' ? { kind: 'freehand', points: [...shape.points, point] } : { ...(shape as Extract<Shape, { from: Point }>), to: point };
    this.redraw();
  }

  private up(): void {
    const drawing = this.drawing;
    if (!drawing) return;
    this.drawing = null;
    const shape = drawing.measurement.shape;
    const tiny =
      shape.kind === 'freehand' ? shape.points.length < 3 : shape.kind === 'ellipse' ? false : Math.hypot(shape.to.x - shape.from.x, shape.to.y - shape.from.y) < 1;
    if (tiny) {
      this.list.splice(this.list.indexOf(drawing.measurement), 1);
      if (shape.kind !== 'length') this.count--;
    }
    this.changed();
  }

  private changed(): void {
    this.redraw();
    this.scheduleTable();
  }

  private redraw(): void {
    for (const element of this.container.querySelectorAll<HTMLElement>('.pane:not([hidden]) .pane-image')) {
      if (imageOf(element)) cornerstone.updateImage(element);
    }
  }

  private draw(detail: RenderedEventDetail): void {
    this.scheduleTable();
    const { element, canvasContext: context } = detail;
    const spacing: [number, number] = [detail.image.rowPixelSpacing, detail.image.columnPixelSpacing];
    context.save();
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.lineWidth = 1.5;
    context.font = '12px system-ui, sans-serif';
    const placement = this.placementOf(element);
    for (const m of this.list) {
      // The viewer draws its current ellipse with its readout.
      if (m.shape.kind === 'ellipse' && m.shape.ellipse === this.currentEllipse) continue;
      // On this pane's grid; not drawn where it cannot be placed (the table says why).
      const shape = placement ? placeShape(m.shape, placement).shape : m.shape;
      if (!shape) continue;
      const active = this.drawing?.measurement === m;
      context.strokeStyle = active ? '#ffd54a' : shape.kind === 'length' ? '#9be29b' : '#7fd3ff';
      const at = (p: Point) => cornerstone.pixelToCanvas(element, p);
      context.beginPath();
      let label: Point;
      if (shape.kind === 'ellipse') {
        const e = shape.ellipse;
        const c = at({ x: e.cx, y: e.cy });
        const r = at({ x: e.cx + e.rx, y: e.cy });
        const b = at({ x: e.cx, y: e.cy + e.ry });
        context.ellipse(c.x, c.y, Math.hypot(r.x - c.x, r.y - c.y), Math.hypot(b.x - c.x, b.y - c.y), 0, 0, 2 * Math.PI);
        label = { x: c.x, y: b.y + 14 };
      } else if (shape.kind === 'freehand') {
        shape.points.forEach((p, i) => (i === 0 ? context.moveTo(at(p).x, at(p).y) : context.lineTo(at(p).x, at(p).y)));
        context.closePath();
        label = at(shape.points[0]!);
      } else if (shape.kind === 'rectangle') {
        const a = at(shape.from);
        const b = at(shape.to);
        context.rect(a.x, a.y, b.x - a.x, b.y - a.y);
        label = { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y) - 4 };
      } else {
        const a = at(shape.from);
        const b = at(shape.to);
        context.moveTo(a.x, a.y);
        context.lineTo(b.x, b.y);
        label = { x: b.x + 6, y: b.y };
      }
      context.stroke();
      const text = shape.kind === 'length' ? `${m.name} ${lengthMm(shape.from, shape.to, spacing).toFixed(1)} mm` : m.name;
      context.fillStyle = context.strokeStyle;
      context.fillText(text, label.x, label.y);
    }
    context.restore();
  }

  private scheduleTable(): void {
    if (this.frame) return;
    this.frame = window.requestAnimationFrame(() => {
      this.frame = 0;
      this.renderTable();
    });
  }

  /** Rows for every measurement in every shown pane, and the CNR of R1 against R2 in each. */
  private table(): { rows: TableRow[]; cnr: CnrRow[]; titles: Map<string, string> } {
    const titles = new Map<string, string>();
    const panes: TablePane[] = [];
    for (const pane of this.container.querySelectorAll<HTMLElement>('.pane:not([hidden])')) {
      const element = pane.querySelector<HTMLElement>('.pane-image');
      const image = element ? imageOf(element) : null;
      if (!image || image.blank) continue;
      const key = pane.dataset.pane ?? '';
      titles.set(key, pane.querySelector('.pane-name')?.textContent ?? key);
      const units = image.units === 'SUVbw' ? 'SUV' : (image.units ?? '');
      const placement = element ? this.placementOf(element) : null;
      panes.push({
        key,
        slice: Number(pane.dataset.index ?? 0) + 1,
        units,
        values: sliceValues(image, 0),
        ...(placement ? { place: placeWithNote(placement.frame, placement.grid, placement.toleranceMm) } : {}),
      });
    }
    const measurements = this.list.filter((m) => this.drawing?.measurement !== m);
    return { ...measurementTable(panes, measurements), titles };
  }

  private renderTable(): void {
    const { rows, cnr, titles } = this.table();
    this.panel.hidden = rows.length === 0;
    const csv = tableCsv(rows, cnr);
    if (csv === this.lastCsv && this.panel.childElementCount > 0) return;
    this.lastCsv = csv;
    const table = document.createElement('table');
    table.className = 'measure-table';
    table.innerHTML = '<thead><tr><th>ROI</th><th>pane</th><th>mean</th><th>SD</th><th>min</th><th>max</th><th>area mm²</th><th>length mm</th></tr></thead>';
    const body = document.createElement('tbody');
    for (const r of rows) {
      const s = r.stats;
      const cells = [r.measurement, r.kind === 'length' ? '' : `${titles.get(r.pane) ?? r.pane} (${r.units})`, ...[s?.mean, s?.sd, s?.min, s?.max].map((v) => (v === undefined ? '' : fixed(v))), s ? s.areaMm2.toFixed(1) : '', r.lengthMm === null ? '' : r.lengthMm.toFixed(1)];
      const tr = document.createElement('tr');
      tr.dataset.measurement = r.measurement;
      tr.dataset.pane = r.pane;
      // The shape in image pixels: what `POST /api/measurements.csv` takes to give the same row.
      const shape = this.list.find((m) => m.name === r.measurement)?.shape;
      if (shape) tr.dataset.shape = JSON.stringify(shape);
      if (r.note) {
        // Not measured in this pane (its grid cannot hold the shape): the reason across the number cells.
        cells.splice(2, 5);
        tr.dataset.note = r.note;
      }
      for (const text of cells) tr.append(Object.assign(document.createElement('td'), { textContent: text }));
      if (r.note) tr.children[2]!.before(Object.assign(document.createElement('td'), { className: 'measure-note', colSpan: 5, textContent: r.note }));
      body.append(tr);
    }
    table.append(body);
    const head = document.createElement('div');
    head.style.display = 'flex';
    head.style.gap = '8px';
    head.style.alignItems = 'center';
    // The title folds the table away (to its header line), so it covers no pane while reading.
    const title = Object.assign(document.createElement('button'), { type: 'button', className: 'measure-fold', textContent: 'Measurements', title: 'Fold or unfold the table' });
    title.setAttribute('aria-expanded', String(!this.panel.hasAttribute('data-folded')));
    title.addEventListener('click', () => {
      this.panel.toggleAttribute('data-folded');
      title.setAttribute('aria-expanded', String(!this.panel.hasAttribute('data-folded')));
    });
    const cnrText = Object.assign(document.createElement('span'), {
      className: 'measure-cnr',
      textContent: cnr.length ? `CNR ${cnr[0]!.a} vs ${cnr[0]!.b}: ${cnr.map((c) => `${titles.get(c.pane) ?? c.pane} ${c.value === null ? 'n/a' : c.value.toFixed(2)}`).join(' · ')}` : '',
    });
    const download = Object.assign(document.createElement('button'), { type: 'button', id: 'measure-csv', textContent: 'CSV', title: 'Download the table as CSV' });
    download.addEventListener('click', () => saveText(this.lastCsv, 'lowdose-measurements.csv', 'text/csv'));
    const clear = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Clear', title: 'Remove every measurement (Del)' });
    clear.addEventListener('click', () => this.container.dispatchEvent(new CustomEvent('lowdose-clear-measurements', { bubbles: true })));
    head.append(title, cnrText, download, clear);
    this.panel.replaceChildren(head, table);
  }
}

/** 3 significant-ish digits, as the pane readouts: SUV 2.31, HU 41.2, 1024. */
function fixed(v: number): string {
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function saveText(text: string, name: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function imageOf(element: HTMLElement): Image | null {
  try {
    return cornerstone.getEnabledElement(element).image ?? null;
  } catch {
    return null;
  }
}

/**
 * The overlay text of ./overlay-text.ts on a pane: four corners, the orientation letters on the
 * edges and the scale bar, as HTML over the image (selectable, readable by tests and screen
 * readers). The pane calls `update` after each render; unchanged text is not touched. A method
 * pane's provenance line (./provenance.ts) sits under the series description, set once.
 *
 * Nothing overlaps in a narrow pane and nothing is cut without its whole text in a tooltip: a
 * corner's line wraps between its parts (overlayLineParts: "W 400" / "L 40.0 HU"), each part whole
 * on its line where it fits, else (a 40-character patient ID) cut with an ellipsis on one line, the
 * whole line in its tooltip (markCut: only a cut part takes the pointer); the series description (top right) keeps one line, cut where it must,
 * whole in the tooltip of the pane's name (an overlay line takes no pointer: the probe reads through it); the scale bar, centred at the foot, goes up above the bottom corners where
 * it would touch them, the bottom orientation letter above whatever it would touch (placeFoot).
 */
import { overlayLineParts, type OrientationLabels, type OverlayText } from './overlay-text.js';
import type { ProvenanceText } from './provenance.js';

type Corner = 'tl' | 'tr' | 'bl' | 'br';
type Edge = 'top' | 'bottom' | 'left' | 'right';

export class PaneOverlay {
  readonly root: HTMLElement;
  private readonly corners: Record<Corner, HTMLElement>;
  private readonly edges: Record<Edge, HTMLElement>;
  private readonly bar: HTMLElement;
  private readonly barLine: HTMLElement;
  private readonly barLabel: HTMLElement;
  /** The top-right corner's per-render lines, and the provenance line after them. */
  private readonly topRight: HTMLElement;
  private readonly provenance: HTMLElement;
  private last = '';

  constructor(host: HTMLElement) {
    this.root = element('div', 'overlay');
    this.root.setAttribute('aria-hidden', 'false');
    const corner = (name: Corner) => element('div', `ov-corner ov-${name}`);
    const edge = (name: Edge) => element('div', `ov-edge ov-${name}`);
    this.corners = { tl: corner('tl'), tr: corner('tr'), bl: corner('bl'), br: corner('br') };
    this.edges = { top: edge('top'), bottom: edge('bottom'), left: edge('left'), right: edge('right') };
    this.bar = element('div', 'ov-scale');
    this.barLine = element('div', 'ov-scale-line');
    this.barLabel = element('div', 'ov-scale-label');
    this.bar.append(this.barLabel, this.barLine);
    this.topRight = element('div', 'ov-tr-lines');
    this.provenance = element('div', 'ov-provenance');
    this.provenance.hidden = true;
    this.corners.tr.append(this.topRight, this.provenance);
    this.root.append(...Object.values(this.corners), ...Object.values(this.edges), this.bar);
    host.append(this.root);
    // A pane resized keeps its overlay apart (its corners' lines wrap anew).
    new ResizeObserver(() => {
      this.markCut();
      this.placeFoot();
    }).observe(this.root);
  }

  /**
   * Shows which software and model made the pane's series (null: nothing), the whole story in its
   * tooltip after the line itself (cut in a narrow pane).
   */
  setProvenance(text: ProvenanceText | null): void {
    this.provenance.hidden = text === null;
    this.provenance.textContent = text?.line ?? '';
    this.provenance.title = text ? `${text.line}\n${text.title}` : '';
  }

  update(text: OverlayText, labels: OrientationLabels | null, bar: { mm: number; px: number } | null): void {
    const key = JSON.stringify([text, labels, bar && [bar.mm, Math.round(bar.px)]]);
    if (key === this.last) return;
    this.last = key;
    lines(this.corners.tl, text.topLeft);
    this.topRight.replaceChildren(
      ...text.topRight.map((line) => {
        const div = element('div', '');
        div.textContent = line;
        return div;
      }),
    );
    lines(this.corners.bl, text.bottomLeft, ['pane-slice']);
    lines(this.corners.br, text.bottomRight, ['pane-window', 'pane-zoom']);
    for (const edge of ['top', 'bottom', 'left', 'right'] as const) this.edges[edge].textContent = labels?.[edge] ?? '';
    this.bar.hidden = bar === null;
    if (bar) {
      this.barLine.style.width = `${Math.round(bar.px)}px`;
      this.barLabel.textContent = `${bar.mm} mm`;
      this.bar.dataset.mm = String(bar.mm);
      this.bar.dataset.px = bar.px.toFixed(1);
    }
    this.markCut();
    this.placeFoot();
  }

  /**
   * A corner's part wider than its line is cut with an ellipsis (styles.css): it gets the whole
   * line as its tooltip and takes the pointer (`ov-cut`) so the tooltip shows; a part shown whole
   * neither, so the probe reads through it.
   */
  private markCut(): void {
    for (const part of this.root.querySelectorAll<HTMLElement>('.ov-corner .ov-part')) {
      const cut = part.scrollWidth > part.clientWidth;
      part.classList.toggle('ov-cut', cut);
      if (cut) part.title = part.parentElement?.textContent ?? part.textContent ?? '';
      else part.removeAttribute('title');
    }
  }

  /**
   * The scale bar at the foot between the bottom corners where it touches neither, else just above
   * the corners it would touch; the bottom orientation letter above whatever it would touch. Called
   * after each change of the text and of the pane's size, and by the pane when its foot moves (the
   * lesion caveat line).
   */
  placeFoot(): void {
    this.bar.style.bottom = '';
    this.edges.bottom.style.bottom = '';
    const foot = this.root.getBoundingClientRect();
    if (foot.width === 0 || foot.height === 0) return;
    const corners = [this.corners.bl, this.corners.br].map((c) => c.getBoundingClientRect()).filter((r) => r.width > 0 && r.height > 0);
    const raise = (element: HTMLElement, below: readonly DOMRect[]) => {
      const box = element.getBoundingClientRect();
      const hit = below.filter((r) => overlap(r.left, r.right, box.left, box.right) && overlap(r.top, r.bottom, box.top, box.bottom));
      if (hit.length === 0) return;
      // Above the highest of what it touches and of whatever else is under it there.
      const top = Math.min(...below.filter((r) => overlap(r.left, r.right, box.left, box.right)).map((r) => r.top));
      element.style.bottom = `${Math.ceil(foot.bottom - top + 1)}px`;
    };
    if (!this.bar.hidden) raise(this.bar, corners);
    const bar = this.bar.hidden ? [] : [this.bar.getBoundingClientRect()];
    if (this.edges.bottom.textContent) raise(this.edges.bottom, [...corners, ...bar]);
  }
}

/** Whether [a0, a1] and [b0, b1] share more than half a pixel. */
function overlap(a0: number, a1: number, b0: number, b1: number): boolean {
  return Math.min(a1, b1) - Math.max(a0, b0) > 0.5;
}

function element(tag: string, className: string): HTMLElement {
  const e = document.createElement(tag);
  e.className = className;
  return e;
}

/** One div a line, its parts (overlayLineParts) inline blocks with a space between: the line wraps only between them. */
function lines(box: HTMLElement, text: readonly string[], classes: readonly string[] = []): void {
  box.replaceChildren(
    ...text.map((line, i) => {
      const div = element('div', classes[i] ?? '');
      overlayLineParts(line).forEach((part, k) => {
        if (k > 0) div.append(' ');
        const span = element('span', 'ov-part');
        span.textContent = part;
        div.append(span);
      });
      return div;
    }),
  );
}

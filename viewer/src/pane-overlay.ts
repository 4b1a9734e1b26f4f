/**
 * The overlay text of ./overlay-text.ts on a pane: four corners, the orientation letters on the
 * edges and the scale bar, as HTML over the image (selectable, readable by tests and screen
 * readers). The pane calls `update` after each render; unchanged text is not touched. A method
 * pane's provenance line (./provenance.ts) sits under the series description, set once.
 */
import type { OrientationLabels, OverlayText } from './overlay-text.js';
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
  }

  /** Shows which software and model made the pane's series (null: nothing), the whole story in its tooltip. */
  setProvenance(text: ProvenanceText | null): void {
    this.provenance.hidden = text === null;
    this.provenance.textContent = text?.line ?? '';
    this.provenance.title = text?.title ?? '';
  }

  update(text: OverlayText, labels: OrientationLabels | null, bar: { mm: number; px: number } | null): void {
    const key = JSON.stringify([text, labels, bar && [bar.mm, Math.round(bar.px)]]);
    if (key === this.last) return;
    this.last = key;
    lines(this.corners.tl, text.topLeft);
    lines(this.topRight, text.topRight);
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
  }
}

function element(tag: string, className: string): HTMLElement {
  const e = document.createElement(tag);
  e.className = className;
  return e;
}

function lines(box: HTMLElement, text: readonly string[], classes: readonly string[] = []): void {
  box.replaceChildren(
    ...text.map((line, i) => {
      const div = element('div', classes[i] ?? '');
      div.textContent = line;
      return div;
    }),
  );
}

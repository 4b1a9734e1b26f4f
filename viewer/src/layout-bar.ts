/** The layout buttons of the toolbar (and the `G` key's cycle), remembered across visits. */
import { LAYOUTS, layoutById, nextLayout, type Layout } from './layout.js';
import type { ComparisonViewer } from './viewer.js';

const STORAGE_KEY = 'lowdose.layout';

export class LayoutBar {
  constructor(
    private readonly box: HTMLElement,
    private readonly viewer: ComparisonViewer,
  ) {
    box.replaceChildren(
      ...LAYOUTS.map((layout) => {
        const button = document.createElement('button');
        button.type = 'button';
        button.textContent = layout.label;
        button.title = `Layout ${layout.label}: ${layout.description} (G cycles)`;
        button.dataset.layout = layout.id;
        button.addEventListener('click', () => this.choose(layout));
        return button;
      }),
    );
    this.choose(layoutById(localStorage.getItem(STORAGE_KEY) ?? '') ?? LAYOUTS[0]!);
  }

  choose(layout: Layout): void {
    this.viewer.setLayout(layout);
    localStorage.setItem(STORAGE_KEY, layout.id);
    for (const button of this.box.querySelectorAll<HTMLButtonElement>('[data-layout]')) {
      button.setAttribute('aria-pressed', String(button.dataset.layout === layout.id));
    }
  }

  next(step = 1): void {
    this.choose(nextLayout(this.viewer.layoutId, step));
  }
}

/**
 * Pane layouts: how many panes show and in what grid. A layout is a grid of slots; the panes that
 * are switched on fill the slots in order (the others wait off screen), and the grid shrinks to the
 * panes there are so that they fill the window. "Auto" picks the grid that gives the largest square
 * image for the panes on screen in the window's shape.
 */

export type LayoutId = 'auto' | '1x1' | '1x2' | '2x2' | '3x2' | 'row';

export interface Layout {
  readonly id: LayoutId;
  readonly label: string;
  readonly description: string;
  /** Columns and rows of the grid; null: as many as there are panes (auto decides itself). */
  readonly columns: number | null;
  readonly rows: number | null;
}

export const LAYOUTS: readonly Layout[] = [
  { id: 'auto', label: 'Auto', description: 'the grid that shows the panes largest', columns: null, rows: null },
  { id: '1x1', label: '1×1', description: 'one pane', columns: 1, rows: 1 },
  { id: '1x2', label: '1×2', description: 'two panes side by side', columns: 2, rows: 1 },
  { id: '2x2', label: '2×2', description: 'two across, two down', columns: 2, rows: 2 },
  { id: '3x2', label: '3×2', description: 'three across, two down', columns: 3, rows: 2 },
  { id: 'row', label: 'Row', description: 'all panes in one row', columns: null, rows: 1 },
];

export function layoutById(id: string): Layout | null {
  return LAYOUTS.find((l) => l.id === id) ?? null;
}

/** The layout after `id` in the toolbar's order (the key cycles through them). */
export function nextLayout(id: LayoutId, step = 1): Layout {
  const i = LAYOUTS.findIndex((l) => l.id === id);
  return LAYOUTS[(((i + step) % LAYOUTS.length) + LAYOUTS.length) % LAYOUTS.length]!;
}

/** How many of `available` panes the layout shows. */
export function slotsOf(layout: Layout, available: number): number {
  if (layout.columns === null || layout.rows === null) return available;
  return Math.min(available, layout.columns * layout.rows);
}

/**
 * Columns and rows for `count` panes in a `width` × `height` box. A fixed layout keeps its column
 * count (fewer when there are fewer panes) and takes the rows the panes need; auto tries every
 * column count and keeps the one whose cells hold the largest square image.
 */
export function gridFor(layout: Layout, count: number, width: number, height: number): { columns: number; rows: number } {
  const n = Math.max(1, count);
  if (layout.id === 'row') return { columns: n, rows: 1 };
  if (layout.columns !== null) {
    const columns = Math.min(layout.columns, n);
    return { columns, rows: Math.ceil(n / columns) };
  }
  let best = { columns: n, rows: 1 };
  let bestSide = -1;
  for (let columns = 1; columns <= n; columns++) {
    const rows = Math.ceil(n / columns);
    const side = Math.min(width / columns, height / rows);
    // Strictly larger only: on a tie the grid with fewer columns wins.
    if (side > bestSide + 1e-9) {
      best = { columns, rows };
      bestSide = side;
    }
  }
  return best;
}

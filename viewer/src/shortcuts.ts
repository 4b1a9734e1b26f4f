/** Keyboard shortcuts: one table drives both the key handler and the "?" help overlay. */
export interface Shortcut {
  /** KeyboardEvent.key values that trigger it. */
  readonly keys: readonly string[];
  /** How the help overlay writes the keys. */
  readonly label: string;
  readonly description: string;
  readonly run: () => void;
}

const NAVIGATION_KEYS = new Set(['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'PageUp', 'PageDown', 'Home', 'End']);

export function installShortcuts(shortcuts: readonly Shortcut[], help: HTMLElement): void {
  const table = help.querySelector('tbody')!;
  table.replaceChildren(
    ...shortcuts.map((s) => {
      const row = document.createElement('tr');
      const key = document.createElement('td');
      for (const part of s.label.split(' ')) {
        const kbd = document.createElement('kbd');
        kbd.textContent = part;
        key.append(kbd, ' ');
      }
      const what = document.createElement('td');
      what.textContent = s.description;
      row.append(key, what);
      return row;
    }),
  );
  const byKey = new Map<string, Shortcut>();
  for (const s of shortcuts) for (const k of s.keys) byKey.set(k, s);
  window.addEventListener('keydown', (event) => {
    const target = event.target as HTMLElement | null;
    // Typing into a field is not a shortcut; a focused slider keeps its own arrow keys, nothing else.
    if (target instanceof HTMLInputElement && target.type === 'range') {
      if (NAVIGATION_KEYS.has(event.key)) return;
    } else if (target && (target.closest('input, select, textarea, dialog[open]') || target.isContentEditable)) {
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const shortcut = byKey.get(event.key) ?? byKey.get(event.key.toLowerCase());
    if (!shortcut) return;
    event.preventDefault();
    shortcut.run();
  });
}

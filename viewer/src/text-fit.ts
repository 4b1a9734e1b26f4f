/**
 * How the browser figure (./figure.ts) fits a text the page cuts into its box: pure (no DOM), the
 * width of a text at a size measured by the caller.
 */
/** The smallest size, as a fraction of the page's, a cut text is drawn at whole before it is cut instead. */
export const SMALLEST_TEXT = 0.75;

const TRAILING_SEPARATORS = /[\s·•,;:|/–—-]+$/u;
const WORDLIKE = /[\p{L}\p{N}]/u;

/**
 * `text` as it fits `room` px at `size` px (`measure`: its width at a size): whole at `size`, else
 * whole at the largest half-pixel size down to SMALLEST_TEXT × `size` that fits, else as many
 * characters as fit there with an ellipsis, trailing spaces and separators (" · ") dropped before
 * it. Where no letter or digit fits (a frame's timing shrunk to nothing beside its number), the
 * text is '' (drawn as nothing, not as a stray "…" or "·").
 */
export function fitText(text: string, room: number, size: number, measure: (text: string, size: number) => number): { text: string; size: number } {
  if (measure(text, size) <= room) return { text, size };
  const smallest = size * SMALLEST_TEXT;
  for (let s = Math.floor(Math.min(size, (size * room) / measure(text, size)) * 2) / 2; s >= smallest; s -= 0.5) {
    if (measure(text, s) <= room) return { text, size: s };
  }
  for (let n = text.length - 1; n > 0; n--) {
    const cut = text.slice(0, n).replace(TRAILING_SEPARATORS, '');
    if (WORDLIKE.test(cut) && measure(`${cut}…`, smallest) <= room) return { text: `${cut}…`, size: smallest };
  }
  return { text: '', size: smallest };
}

/**
 * How the browser figure (./figure.ts) fits a text the page cuts into its box: pure (no DOM), the
 * width of a text at a size measured by the caller.
 */
/** The smallest size, as a fraction of the page's, a cut text is drawn at whole before it is cut instead. */
export const SMALLEST_TEXT = 0.75;

/**
 * `text` as it fits `room` px at `size` px (`measure`: its width at a size): whole at `size`, else
 * whole at the largest half-pixel size down to SMALLEST_TEXT × `size` that fits, else as many
 * characters as fit there with an ellipsis.
 */
export function fitText(text: string, room: number, size: number, measure: (text: string, size: number) => number): { text: string; size: number } {
  if (measure(text, size) <= room) return { text, size };
  const smallest = size * SMALLEST_TEXT;
  for (let s = Math.floor(Math.min(size, (size * room) / measure(text, size)) * 2) / 2; s >= smallest; s -= 0.5) {
    if (measure(text, s) <= room) return { text, size: s };
  }
  let cut = text;
  while (cut.length > 1 && measure(`${cut}…`, smallest) > room) cut = cut.slice(0, -1);
  return { text: `${cut.trimEnd()}…`, size: smallest };
}

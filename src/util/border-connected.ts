/**
 * The pixels that satisfy `isFill` and are 4-connected to the image border through such pixels:
 * the shape of a scanner's out-of-field fill (src/dicom/out-of-field.ts) and of the common fill of
 * a quarter / full-dose pair (scripts/evaluate/real-pairs/data.ts). A breadth-first flood from every
 * border pixel; `isFill(i)` is asked with the row-major pixel index. Returns 1 for connected fill,
 * and the number of such pixels (0 when none touch the border).
 */
export function borderConnectedFill(rows: number, columns: number, isFill: (index: number) => boolean): { mask: Uint8Array; count: number } {
  const n = rows * columns;
  const mask = new Uint8Array(n);
  const queue = new Int32Array(n);
  let head = 0;
  let tail = 0;
  const seed = (i: number) => {
    if (mask[i] || !isFill(i)) return;
    mask[i] = 1;
    queue[tail++] = i;
  };
  for (let c = 0; c < columns; c++) {
    seed(c);
    seed((rows - 1) * columns + c);
  }
  for (let r = 0; r < rows; r++) {
    seed(r * columns);
    seed(r * columns + columns - 1);
  }
  while (head < tail) {
    const i = queue[head++]!;
    const r = Math.floor(i / columns);
    const c = i - r * columns;
    if (c > 0) seed(i - 1);
    if (c < columns - 1) seed(i + 1);
    if (r > 0) seed(i - columns);
    if (r < rows - 1) seed(i + columns);
  }
  return { mask, count: tail };
}

/**
 * Plain-text tables for the CLI's human output: every column as wide as its widest cell (header
 * included), so the columns line up whatever the values' lengths (HU in the thousands, SUV, a
 * PET series in PROPCPS at 1e-4, long names).
 */

export interface TextColumn {
  readonly header: string;
  /** Right-align (numbers); default left. */
  readonly right?: boolean;
  /** Spaces before this column (default 2; the first column has none). */
  readonly gap?: number;
}

/**
 * The header line and one line per row, each trimmed at the end; `rows[r][c]` is column c's cell.
 * `rule`: a line of dashes under the header, as wide as each column.
 */
export function textTable(columns: readonly TextColumn[], rows: ReadonlyArray<readonly string[]>, options: { readonly rule?: boolean } = {}): string[] {
  const widths = columns.map((col, c) => Math.max(col.header.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]) =>
    columns
      .map((col, c) => {
        const cell = cells[c] ?? '';
        const padded = col.right ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!);
        return c === 0 ? padded : ' '.repeat(col.gap ?? 2) + padded;
      })
      .join('')
      .trimEnd();
  const rule = options.rule ? [line(widths.map((w) => '-'.repeat(w)))] : [];
  return [line(columns.map((c) => c.header)), ...rule, ...rows.map(line)];
}

/**
 * A list of coded entries (errors, skipped files) that stays small whatever the input: every entry
 * is counted, exactly and by code, but only the first `LISTED_PER_CODE` of each code are kept. A
 * folder of 12 034 files that are not DICOM and 3 truncated ones lists 100 + 3 entries and counts
 * `{ E_NOT_DICOM: 12034, E_DECODE: 3 }`: a rare code is never crowded out by a common one, and a
 * report, a Redis record or a --json answer does not grow with the number of bad files.
 */

/** Entries of one code kept in a capped list (docs/contract.md "Capped lists"). */
export const LISTED_PER_CODE = 100;

/** The JSON fields that go with a capped `errors` list: the exact count, in all and by code. */
export interface ErrorCounts {
  /** Every error, listed in `errors` or not. */
  readonly errorCount: number;
  /** Every error by code (code order: first met first). */
  readonly errorsByCode: Record<string, number>;
}

export class CodeSample<T extends { readonly code: string }> {
  readonly items: T[] = [];
  private readonly counts = new Map<string, number>();
  private readonly listedOf = new Map<string, number>();
  private count = 0;

  constructor(private readonly perCode: number = LISTED_PER_CODE) {}

  /**
   * A sample made elsewhere (a batch record's, a scan's): `listed` kept as they are, counted as
   * `counts` says, or as themselves where no counts were recorded (a record written before them).
   */
  static of<T extends { readonly code: string }>(listed: readonly T[], counts?: Partial<ErrorCounts>, perCode = LISTED_PER_CODE): CodeSample<T> {
    const sample = new CodeSample<T>(perCode);
    for (const item of listed) sample.keep(item);
    if (counts?.errorsByCode && counts.errorCount !== undefined) {
      sample.counts.clear();
      for (const [code, n] of Object.entries(counts.errorsByCode)) sample.counts.set(code, n);
      sample.count = counts.errorCount;
    }
    return sample;
  }

  /** Counts the entry; keeps it while its code has fewer than the cap kept. */
  add(item: T): void {
    this.tally(item.code);
    const listed = this.listedOf.get(item.code) ?? 0;
    if (listed < this.perCode) {
      this.items.push(item);
      this.listedOf.set(item.code, listed + 1);
    }
  }

  /** Counts and keeps the entry whatever the cap: an entry that must be listed (a series that failed). */
  keep(item: T): void {
    this.tally(item.code);
    this.items.push(item);
    this.listedOf.set(item.code, (this.listedOf.get(item.code) ?? 0) + 1);
  }

  /** Another sample: its entries kept while their code is under the cap here, its counts added. */
  absorb(items: readonly T[], counts: ErrorCounts): void {
    for (const item of items) {
      const listed = this.listedOf.get(item.code) ?? 0;
      if (listed >= this.perCode) continue;
      this.items.push(item);
      this.listedOf.set(item.code, listed + 1);
    }
    for (const [code, n] of Object.entries(counts.errorsByCode)) this.counts.set(code, (this.counts.get(code) ?? 0) + n);
    this.count += counts.errorCount;
  }

  get total(): number {
    return this.count;
  }

  /** Entries counted but not kept. */
  get leftOut(): number {
    return this.count - this.items.length;
  }

  byCode(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  counted(): ErrorCounts {
    return { errorCount: this.count, errorsByCode: this.byCode() };
  }

  private tally(code: string): void {
    this.count++;
    this.counts.set(code, (this.counts.get(code) ?? 0) + 1);
  }
}

/** The first `perCode` entries of each code of `items`, in their order. */
export function listedPerCode<T extends { readonly code: string }>(items: Iterable<T>, perCode = LISTED_PER_CODE): T[] {
  const sample = new CodeSample<T>(perCode);
  for (const item of items) sample.add(item);
  return sample.items;
}

/** "12034 E_NOT_DICOM, 3 E_DECODE": the counts by code, most first. */
export function countsByCodeText(byCode: Record<string, number>): string {
  return Object.entries(byCode)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([code, n]) => `${n} ${code}`)
    .join(', ');
}

/**
 * The line a text report ends its listed errors with when some were left out: "... and 11934 more
 * error(s) not listed; 12037 in all: 12034 E_NOT_DICOM, 3 E_DECODE", and "; see <file>" where the
 * whole list was written (`errorsFile`, ./error-list-file.ts); null when all are listed.
 */
export function errorsLeftOutLine(listed: number, counts: Partial<ErrorCounts> & { readonly errorsFile?: string }): string | null {
  if (counts.errorCount === undefined || counts.errorCount <= listed) return null;
  const byCode = counts.errorsByCode ? `: ${countsByCodeText(counts.errorsByCode)}` : '';
  const file = counts.errorsFile ? `; see ${counts.errorsFile}` : '';
  return `... and ${counts.errorCount - listed} more error(s) not listed; ${counts.errorCount} in all${byCode}${file}`;
}

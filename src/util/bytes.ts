/** Bytes in binary units for messages: "900 MiB", "1 GiB", "1.5 GiB" (one decimal, none when whole). */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Math.round(value * 10) / 10} ${units[unit]}`;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/**
 * A size as the options give it: "12G", "512M", "1.5GiB", "2e9" or a whole number of bytes (binary
 * units, case ignored) → bytes, rounded down to a whole byte; null for anything else, for a size
 * too large to be a finite number, and for a fraction of a byte without a unit ("67108864.5").
 * The bounds are the caller's.
 */
export function readByteSize(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([kmgt]?)(i?b)?\s*$/i.exec(text);
  if (!match) return null;
  const bytes = Number(match[1]) * SIZE_UNITS[match[2]!.toLowerCase()]!;
  if (!Number.isFinite(bytes) || (match[2] === '' && !Number.isInteger(bytes))) return null;
  return Math.floor(bytes);
}

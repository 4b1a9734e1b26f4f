/**
 * A value read from a DICOM data set or DICOM JSON as text: strings as they are, numbers and
 * booleans in their usual form, nothing for null / undefined, and JSON for anything structured
 * (never "[object Object]").
 */
export function scalarText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value) ?? '';
}

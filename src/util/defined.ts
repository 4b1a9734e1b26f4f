/**
 * Option objects without their undefined fields. With exactOptionalPropertyTypes an optional field
 * is absent or set, never `undefined`; code that gathers many maybe-undefined values (CLI flags)
 * spreads them through this instead of one `...(x !== undefined ? { x } : {})` per field.
 */
export type WithoutUndefined<T> = { [K in keyof T]?: Exclude<T[K], undefined> };

export function withoutUndefined<T extends object>(fields: T): WithoutUndefined<T> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) out[key] = value;
  return out as WithoutUndefined<T>;
}

/**
 * Ids the API puts in URLs: short, stable hashes of what a thing is (a series UID, a study UID),
 * never paths. A URL therefore cannot name a file, and the same data gets the same ids on every
 * start, so bookmarks and browser caches stay valid.
 */
import { createHash } from 'node:crypto';

/** 12 base64url characters (72 bits): collisions are out of reach for any one server's data. */
export function shortId(kind: string, key: string): string {
  return createHash('sha256').update(`${kind}\0${key}`).digest('base64url').slice(0, 12);
}

/** A short content revision from anything that changes when the data does (file sizes, mtimes). */
export function revisionOf(parts: readonly (string | number)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${part}\0`);
  return hash.digest('base64url').slice(0, 16);
}

/**
 * Leak checks on short words. A response or a log line carries random base64url ids (jobs,
 * uploads, series hashes); a short word such as a patient's surname occurs inside one by chance
 * (a 16-character id holds a given 3-letter word about once in 19,000: 14 places, 64^3 spellings),
 * so `not.toContain('DOE')` can fail on data that names nobody. A leaked name stands as a word of
 * its own ("DOE^JANE", "DOE_JANE", "name": "DOE"), which this finds.
 */

/** `word` not inside a longer run of letters and digits. */
export function asWord(word: string): RegExp {
  return new RegExp(`(?<![A-Za-z0-9])${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9])`);
}

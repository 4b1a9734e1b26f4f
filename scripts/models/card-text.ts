/**
 * Writes one block of a model card's JSON text, the rest byte for byte: the cards are written by
 * Python (scripts/train/evaluate.py), whose floats (1.0) JSON.stringify would rewrite (1) all over
 * the file. The card must be indented by 2 spaces per level, as evaluate.py and this write it.
 */

/**
 * The card's text with the block at `keys` (["uncertainty"], ["quality", "lesionRecovery"])
 * replaced in place, or appended to its parent object when absent; every parent must exist.
 */
export function withCardBlock(text: string, keys: readonly string[], value: unknown): string {
  if (keys.length === 0) throw new Error('withCardBlock: no key');
  const rootOpen = text.indexOf('{');
  if (rootOpen < 0) throw new Error('the card is not a JSON object');
  let open = rootOpen;
  let close = closingOf(text, open);
  for (const [depth, key] of keys.entries()) {
    const indent = ' '.repeat(2 * (depth + 1));
    const marker = `\n${indent}"${key}": `;
    const at = text.slice(open, close).indexOf(marker);
    const last = depth === keys.length - 1;
    if (at < 0) {
      if (!last) throw new Error(`the card has no "${keys.slice(0, depth + 1).join('.')}"`);
      const block = JSON.stringify(value, null, 2).replace(/\n/g, `\n${indent}`);
      const before = text.slice(0, close).trimEnd();
      const comma = before.endsWith('{') ? '' : ',';
      return `${before}${comma}${marker}${block}\n${' '.repeat(2 * depth)}${text.slice(close)}`;
    }
    const valueStart = open + at + marker.length;
    if (last) {
      const end = text[valueStart] === '{' || text[valueStart] === '[' ? closingOf(text, valueStart) + 1 : scalarEnd(text, valueStart);
      const block = JSON.stringify(value, null, 2).replace(/\n/g, `\n${indent}`);
      return text.slice(0, valueStart) + block + text.slice(end);
    }
    if (text[valueStart] !== '{') throw new Error(`the card's "${keys.slice(0, depth + 1).join('.')}" is not an object`);
    open = valueStart;
    close = closingOf(text, open);
  }
  throw new Error('unreachable');
}

/** The index of the bracket that closes the one at `open`, strings skipped. */
function closingOf(text: string, open: number): number {
  let depth = 0;
  let inString = false;
  for (let i = open; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      depth--;
      if (depth === 0) return i;
    }
  }
  throw new Error('the card has an unclosed bracket');
}

/** The end of a scalar value (string, number, true, false, null) starting at `start`. */
function scalarEnd(text: string, start: number): number {
  if (text[start] === '"') {
    for (let i = start + 1; i < text.length; i++) {
      if (text[i] === '\\') i++;
      else if (text[i] === '"') return i + 1;
    }
    throw new Error('the card has an unclosed string');
  }
  const match = /^[^,\n}\]]*/.exec(text.slice(start))!;
  return start + match[0].trimEnd().length;
}

/**
 * A small built-in bitmap font (5 x 8 cells: 7 rows above the baseline, one descender row) for
 * labels in PNG figures, so drawing text needs no font files or native canvas. Covers printable
 * ASCII letters, digits and the punctuation labels use, plus − and ± (difference panes), – (ranges), ∞ (PSNR of identical
 * slices), σ, α, ε and the combining macron and circumflex (ᾱ, x̂). Unknown characters draw as '?' (`missingGlyphs` lists them).
 */

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 8;
/** Horizontal advance per character and vertical advance per line, pixels at scale 1. */
export const CHAR_ADVANCE = GLYPH_WIDTH + 1;
export const LINE_HEIGHT = GLYPH_HEIGHT + 2;

// Each glyph: rows top to bottom, '#' = ink; rows missing at the end are empty (row 7 is the descender).
const GLYPHS: Record<string, string> = {
  ' ': '',
  '0': '.###. #...# #..## #.#.# ##..# #...# .###.',
  '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2': '.###. #...# ....# ...#. ..#.. .#... #####',
  '3': '##### ...#. ..#.. ...#. ....# #...# .###.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  '5': '##### #.... ####. ....# ....# #...# .###.',
  '6': '..##. .#... #.... ####. #...# #...# .###.',
  '7': '##### ....# ...#. ..#.. .#... .#... .#...',
  '8': '.###. #...# #...# .###. #...# #...# .###.',
  '9': '.###. #...# #...# .#### ....# ...#. .##..',
  a: '..... ..... .###. ....# .#### #...# .####',
  b: '#.... #.... ####. #...# #...# #...# ####.',
  c: '..... ..... .#### #.... #.... #.... .####',
  d: '....# ....# .#### #...# #...# #...# .####',
  e: '..... ..... .###. #...# ##### #.... .###.',
  f: '..##. .#... ####. .#... .#... .#... .#...',
  g: '..... ..... .#### #...# #...# .#### ....# .###.',
  h: '#.... #.... ####. #...# #...# #...# #...#',
  i: '..#.. ..... .##.. ..#.. ..#.. ..#.. .###.',
  j: '...#. ..... ..##. ...#. ...#. ...#. #..#. .##..',
  k: '#.... #.... #..#. #.#.. ##... #.#.. #..#.',
  l: '.##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  m: '..... ..... ##.#. #.#.# #.#.# #.#.# #.#.#',
  n: '..... ..... ####. #...# #...# #...# #...#',
  o: '..... ..... .###. #...# #...# #...# .###.',
  p: '..... ..... ####. #...# #...# ####. #.... #....',
  q: '..... ..... .#### #...# #...# .#### ....# ....#',
  r: '..... ..... #.##. ##..# #.... #.... #....',
  s: '..... ..... .#### #.... .###. ....# ####.',
  t: '.#... .#... ####. .#... .#... .#..# ..##.',
  u: '..... ..... #...# #...# #...# #..## .##.#',
  v: '..... ..... #...# #...# #...# .#.#. ..#..',
  w: '..... ..... #...# #.#.# #.#.# #.#.# .#.#.',
  x: '..... ..... #...# .#.#. ..#.. .#.#. #...#',
  y: '..... ..... #...# #...# #...# .#### ....# .###.',
  z: '..... ..... ##### ...#. ..#.. .#... #####',
  A: '.###. #...# #...# ##### #...# #...# #...#',
  B: '####. #...# #...# ####. #...# #...# ####.',
  C: '.###. #...# #.... #.... #.... #...# .###.',
  D: '####. #...# #...# #...# #...# #...# ####.',
  E: '##### #.... #.... ####. #.... #.... #####',
  F: '##### #.... #.... ####. #.... #.... #....',
  G: '.###. #...# #.... #.### #...# #...# .####',
  H: '#...# #...# #...# ##### #...# #...# #...#',
  I: '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  J: '..### ...#. ...#. ...#. ...#. #..#. .##..',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...#',
  L: '#.... #.... #.... #.... #.... #.... #####',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...#',
  N: '#...# #...# ##..# #.#.# #..## #...# #...#',
  O: '.###. #...# #...# #...# #...# #...# .###.',
  P: '####. #...# #...# ####. #.... #.... #....',
  Q: '.###. #...# #...# #...# #.#.# #..#. .##.#',
  R: '####. #...# #...# ####. #.#.. #..#. #...#',
  S: '.#### #.... #.... .###. ....# ....# ####.',
  T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  U: '#...# #...# #...# #...# #...# #...# .###.',
  V: '#...# #...# #...# #...# #...# .#.#. ..#..',
  W: '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.',
  X: '#...# #...# .#.#. ..#.. .#.#. #...# #...#',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..',
  Z: '##### ....# ...#. ..#.. .#... #.... #####',
  '.': '..... ..... ..... ..... ..... .##.. .##..',
  ',': '..... ..... ..... ..... .##.. ..#.. .#...',
  ':': '..... .##.. .##.. ..... .##.. .##..',
  ';': '..... .##.. .##.. ..... .##.. ..#.. .#...',
  '=': '..... ..... ##### ..... ##### ..... .....',
  '+': '..... ..#.. ..#.. ##### ..#.. ..#.. .....',
  '-': '..... ..... ..... ##### ..... ..... .....',
  '/': '..... ....# ...#. ..#.. .#... #.... .....',
  '(': '...#. ..#.. .#... .#... .#... ..#.. ...#.',
  ')': '.#... ..#.. ...#. ...#. ...#. ..#.. .#...',
  '[': '.###. .#... .#... .#... .#... .#... .###.',
  ']': '.###. ...#. ...#. ...#. ...#. ...#. .###.',
  '%': '##... ##..# ...#. ..#.. .#... #..## ...##',
  _: '..... ..... ..... ..... ..... ..... #####',
  '|': '..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  '<': '...#. ..#.. .#... #.... .#... ..#.. ...#.',
  '>': '.#... ..#.. ...#. ....# ...#. ..#.. .#...',
  '*': '..... ..#.. #.#.# .###. #.#.# ..#.. .....',
  "'": '..#.. ..#.. .#...',
  '"': '.#.#. .#.#.',
  '!': '..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..',
  '?': '.###. #...# ....# ...#. ..#.. ..... ..#..',
  '^': '..#.. .#.#. #...#',
  '~': '..... ..... .#... #.#.# ...#.',
  '#': '.#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.',
  '·': '..... ..... ..... .##.. .##..',
  '−': '..... ..... ..... ##### ..... ..... .....',
  '–': '..... ..... ..... ##### ..... ..... .....',
  '∞': '..... ..... .#.#. #.#.# #.#.# .#.#. .....',
  '±': '..#.. ..#.. ##### ..#.. ..#.. ..... #####',
  '×': '..... #...# .#.#. ..#.. .#.#. #...#',
  '→': '..... ..#.. ...#. ##### ...#. ..#..',
  '≤': '...#. ..#.. .#... ..#.. ...#. ..... #####',
  'α': '..... ..... .##.# #..#. #..#. #..#. .##.#',
  'ε': '..... ..... .###. #.... .##.. #.... .###.',
  'σ': '..... ..... .#### #..#. #...# #...# .###.',
  'η': '..... ..... #.##. ##..# #...# #...# #...# ....#',
};

/** Marks drawn over the previous character (rows 0 and 1 are free above lowercase letters). */
const COMBINING: Record<string, string> = {
  '\u0304': '.###.', // macron: ᾱ
  '\u0302': '..#.. .#.#.', // circumflex: x̂
};

/** Precomposed characters drawn as a base glyph plus a combining mark. */
const PRECOMPOSED: Record<string, string> = { 'ᾱ': 'α\u0304' };

function parseRows(spec: string): Uint8Array {
  const rows = new Uint8Array(GLYPH_HEIGHT);
  spec
    .split(' ')
    .filter(Boolean)
    .forEach((row, r) => {
      let bits = 0;
      for (let c = 0; c < GLYPH_WIDTH; c++) if (row[c] === '#') bits |= 1 << (GLYPH_WIDTH - 1 - c);
      rows[r] = bits;
    });
  return rows;
}

const BITMAPS = new Map(Object.entries(GLYPHS).map(([ch, spec]) => [ch, parseRows(spec)]));
const MARKS = new Map(Object.entries(COMBINING).map(([ch, spec]) => [ch, parseRows(spec)]));

/** The glyphs to draw for a string: each cell's bitmaps (a base glyph, then any marks over it). */
export function layoutText(text: string): Uint8Array[][] {
  const cells: Uint8Array[][] = [];
  for (const raw of text) {
    for (const ch of PRECOMPOSED[raw] ?? raw) {
      const mark = MARKS.get(ch);
      if (mark) {
        if (cells.length > 0) cells[cells.length - 1]!.push(mark);
        continue;
      }
      cells.push([BITMAPS.get(ch) ?? BITMAPS.get('?')!]);
    }
  }
  return cells;
}

/** The characters of `text` this font has no glyph for (drawn as '?'), each once. */
export function missingGlyphs(text: string): string[] {
  const missing = new Set<string>();
  for (const raw of text) {
    for (const ch of PRECOMPOSED[raw] ?? raw) if (!BITMAPS.has(ch) && !MARKS.has(ch)) missing.add(ch);
  }
  return [...missing];
}

/**
 * `text` in lines no wider than `maxWidth` px at `scale`, broken at spaces (a word wider than a
 * line is broken inside it): nothing is cut off. '' gives one empty line.
 */
export function wrapText(text: string, maxWidth: number, scale = 1): string[] {
  const fits = (line: string) => textWidth(line, scale) <= Math.max(0, maxWidth);
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const joined = line ? `${line} ${word}` : word;
    if (fits(joined)) {
      line = joined;
      continue;
    }
    if (line) lines.push(line);
    line = word;
    // A word longer than a line: as many characters as fit, at least one per line.
    while (!fits(line) && [...line].length > 1) {
      const chars = [...line];
      let n = chars.length - 1;
      while (n > 1 && !fits(chars.slice(0, n).join(''))) n--;
      n = Math.max(1, n);
      lines.push(chars.slice(0, n).join(''));
      line = chars.slice(n).join('');
    }
  }
  lines.push(line);
  return lines;
}

/** Width in pixels of `text` at `scale` (no trailing gap). */
export function textWidth(text: string, scale = 1): number {
  const n = layoutText(text).length;
  return n === 0 ? 0 : (n * CHAR_ADVANCE - 1) * scale;
}

/** Calls `plot(x, y)` for every ink pixel of `text` with its top-left corner at (x, y). */
export function rasterizeText(text: string, x: number, y: number, plot: (px: number, py: number) => void, scale = 1): void {
  layoutText(text).forEach((bitmaps, i) => {
    const left = x + i * CHAR_ADVANCE * scale;
    for (const bitmap of bitmaps) {
      for (let r = 0; r < GLYPH_HEIGHT; r++) {
        const bits = bitmap[r]!;
        if (bits === 0) continue;
        for (let c = 0; c < GLYPH_WIDTH; c++) {
          if (!(bits & (1 << (GLYPH_WIDTH - 1 - c)))) continue;
          for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) plot(left + c * scale + dx, y + r * scale + dy);
        }
      }
    }
  });
}

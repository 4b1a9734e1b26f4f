/**
 * The two argument forms the experiment and evaluation scripts share: `--name value` options with
 * a fallback, and index lists such as "0-4,20-39" (noise realisations, lesion placements).
 */

/** Reads `--name value` from `args`; the fallback when the option is absent. */
export function optionReader(args: readonly string[]): (name: string, fallback: string) => string {
  return (name, fallback) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && i + 1 < args.length ? args[i + 1]! : fallback;
  };
}

/** "0-4,20-39" -> [0, 1, 2, 3, 4, 20, ..., 39]; "7" -> [7]. Throws on anything else. */
export function indexRanges(text: string): number[] {
  return text.split(',').flatMap((part) => {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!match) throw new Error(`not an index or a range of indices: "${part}"`);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first) throw new Error(`range runs backwards: "${part}"`);
    return Array.from({ length: last - first + 1 }, (_, i) => first + i);
  });
}

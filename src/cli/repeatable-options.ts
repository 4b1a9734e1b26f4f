/**
 * Options given more than once. Commander keeps the last value of a repeated single-value option
 * without a word, so `metrics --test denoised --test quarter` scored only the quarter-dose series
 * and printed its numbers as the run's: a user reading the table could not tell which series they
 * belong to. Here an option takes several values only where it says so: variadic (`<path...>`) or
 * a collecting parser made by `collect` / `collectParsed` (`serve --data a --data b`); any other
 * option that takes a value and is given twice is bad usage (exit 2), naming both values.
 * Repeated flags (`--json --json`) mean the same and stay allowed.
 */
import type { Command, Option } from 'commander';

const collectors = new WeakSet<object>();

/** A parser for an option given once per value: the values in the order given. */
export const collect = repeatable((value: string, previous: string[] = []): string[] => [...previous, value]);

/** `collect` with each value parsed (and checked) by `parse`. */
export function collectParsed(parse: (text: string) => string): (value: string, previous?: string[]) => string[] {
  return repeatable((value: string, previous: string[] = []): string[] => [...previous, parse(value)]);
}

function repeatable<F extends object>(parser: F): F {
  collectors.add(parser);
  return parser;
}

function takesOneValue(option: Option): boolean {
  const parser = (option as Option & { parseArg?: unknown }).parseArg;
  return (option.required || option.optional) && !option.variadic && !(typeof parser === 'function' && collectors.has(parser));
}

/**
 * Refuses a single-value option given twice on `command` and its subcommands (commander's usage
 * error: exit 2, `(run with --help for usage)`). Counts one parse: call on a freshly built program.
 */
export function refuseRepeatedOptions(command: Command): void {
  for (const option of command.options) {
    if (!takesOneValue(option)) continue;
    const seen: unknown[] = [];
    command.on(`option:${option.name()}`, (value: unknown) => {
      seen.push(value);
      if (seen.length === 2) {
        command.error(`error: option '${option.flags}' given twice (${seen.map((v) => JSON.stringify(v)).join(' and ')}); it takes one value`, {
          code: 'lowdose.repeatedOption',
          exitCode: 2,
        });
      }
    });
  }
  for (const sub of command.commands) refuseRepeatedOptions(sub);
}

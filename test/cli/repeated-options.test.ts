/**
 * A single-value option given twice is bad usage (exit 2) rather than the last value silently
 * winning: `metrics --test a --test b` used to score only b and print its numbers as the run's.
 * Options that take several values say so (variadic `<path...>`, or `collect` as `serve --data`).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, refuseRepeatedOptions } from '../../src/cli/repeatable-options.js';
import { runCli } from '../helpers/cli.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BODY_FULL = path.join(ROOT, 'fixtures/body/dose100');
const BODY_25 = path.join(ROOT, 'fixtures/body/dose25');

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'lowdose-repeated-options-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A small program with each kind of option, built afresh per parse as main() builds its own. */
function parsed(args: string[]): { values: Record<string, unknown> } | { error: string } {
  const program = new Command('t').exitOverride().configureOutput({ writeErr: () => undefined });
  const sub = program
    .command('run')
    .option('--one <x>', 'one value')
    .option('--many <x>', 'repeatable', collect)
    .option('--list <x...>', 'variadic')
    .option('--flag', 'a flag')
    .action(() => undefined);
  sub.exitOverride();
  refuseRepeatedOptions(program);
  try {
    program.parse(['node', 't', 'run', ...args]);
    return { values: sub.opts() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

describe('refuseRepeatedOptions', () => {
  it('refuses a single-value option given twice, naming both values', () => {
    expect(parsed(['--one', 'a', '--one', 'b'])).toEqual({ error: expect.stringMatching(/--one <x>' given twice \("a" and "b"\)/) as unknown });
    expect(parsed(['--one=a', '--one=b'])).toEqual({ error: expect.stringMatching(/given twice/) as unknown });
  });

  it('keeps collecting, variadic and flag options repeatable, and one value of each kind as it was', () => {
    expect(parsed(['--many', 'a', '--many', 'b', '--list', 'c', '--list', 'd', '--flag', '--flag', '--one', 'e'])).toEqual({
      values: { many: ['a', 'b'], list: ['c', 'd'], flag: true, one: 'e' },
    });
  });
});

describe('the command line', () => {
  it('metrics --test a --test b exits 2 with E_USAGE and scores nothing', async () => {
    const run = await runCli('metrics', '--reference', BODY_FULL, '--test', BODY_25, '--test', BODY_FULL, '--json');
    expect(run.code).toBe(2);
    const errors = (JSON.parse(run.stdout) as { errors: Array<{ code: string; message: string }> }).errors;
    expect(errors).toEqual([{ path: null, code: 'E_USAGE', message: expect.stringContaining("option '--test <path>' given twice") as unknown }]);
    expect(run.stderr).toContain('(run with --help for usage)');
  });

  it('denoise -o a -o b exits 2 and writes neither folder', async () => {
    const a = path.join(tmp, 'a');
    const b = path.join(tmp, 'b');
    const run = await runCli('denoise', BODY_25, '-o', a, '-o', b, '--method', 'gaussian', '--no-progress');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("option '-o, --output <dir>' given twice");
    expect(existsSync(a) || existsSync(b)).toBe(false);
  });
});

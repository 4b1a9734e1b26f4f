/**
 * docs/contract.md is kept in step with the code: every command's options there are exactly the
 * options its --help shows, and every JSON field it promises is in what the command prints.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/main.js';
import { runPhantom } from '../src/pipeline/phantom.js';
import { runCli } from './helpers/cli.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const CT_3SLICE = path.resolve(ROOT, '../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const BODY_25 = path.join(ROOT, 'fixtures/body/dose25');
const ORACLE = path.join(ROOT, 'test/fixtures-models/oracle-epsilon-cosine.json');
const PER_PIXEL = path.join(ROOT, 'test/fixtures-models/per-pixel.json');
/** Not DICOM: fills `errors` so that its entries' fields are checked too. */
const NOT_DICOM = path.join(ROOT, 'package.json');

interface Section {
  readonly options: Set<string>;
  /** The `json` block, when the section has one. */
  readonly json: string | null;
}

/** The `### \`lowdose <command> ...\`` sections of the contract: documented long options and JSON shape. */
function parseContract(text: string): Map<string, Section> {
  const sections = new Map<string, Section>();
  const parts = text.split(/^### `lowdose (\w+)[^\n]*$/m);
  for (let i = 1; i < parts.length; i += 2) {
    const body = parts[i + 1]!.split(/^## /m)[0]!;
    const optionsText = body.split(/\n\s*\n/).find((paragraph) => paragraph.startsWith('Options: ')) ?? '';
    const options = new Set([...optionsText.matchAll(/`(?:-\w, )?(--[a-z0-9-]+)/g)].map((m) => m[1]!));
    sections.set(parts[i]!, { options, json: /```json\n([\s\S]*?)```/.exec(body)?.[1] ?? null });
  }
  return sections;
}

/**
 * The field names a shape promises: every quoted name, leaving out optional ones (`"name"?`) and
 * everything inside an optional field's braces.
 */
function promisedFields(shape: string): Set<string> {
  const fields = new Set<string>();
  let depth = 0; // > 0 inside an optional field's value
  let skipNextValue = false;
  const token = /"([A-Za-z0-9]+)"(\?)?|([{[])|([}\]])/g;
  for (let m = token.exec(shape); m; m = token.exec(shape)) {
    const [, name, optional, open, close] = m;
    if (open) {
      if (skipNextValue) depth = 1;
      else if (depth > 0) depth++;
      skipNextValue = false;
    } else if (close) {
      if (depth > 0) depth--;
    } else if (depth === 0 && name) {
      if (!optional) fields.add(name);
      else skipNextValue = /^\s*:\s*[{[]/.test(shape.slice(token.lastIndex));
    }
  }
  return fields;
}

/** Every key of every object anywhere in a JSON value. */
function keysOf(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) keysOf(item, into);
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      into.add(key);
      keysOf(item, into);
    }
  }
  return into;
}

let contract: Map<string, Section>;
let tmp: string;

beforeAll(async () => {
  contract = parseContract(await readFile(path.join(ROOT, 'docs/contract.md'), 'utf8'));
  tmp = await mkdtemp(path.join(os.tmpdir(), 'lowdose-contract-'));
  // A small normal-dose series for simulate (the fixtures take tens of seconds through the CT physics).
  await runPhantom('water', { outDir: path.join(tmp, 'small-water'), size: 64, slices: 2, seed: 1 });
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('docs/contract.md', () => {
  it('has a section for every command, listing exactly the options its --help shows', () => {
    const program = buildProgram(() => {});
    expect([...contract.keys()].sort()).toEqual(program.commands.map((c) => c.name()).sort());
    for (const command of program.commands) {
      const actual = new Set(command.options.map((o) => o.long).filter((flag): flag is string => flag !== undefined));
      const documented = contract.get(command.name())!.options;
      const drift = {
        'in --help, missing from docs/contract.md': [...actual].filter((flag) => !documented.has(flag)),
        'in docs/contract.md, not in --help': [...documented].filter((flag) => !actual.has(flag)),
      };
      expect(drift, `lowdose ${command.name()}: update docs/contract.md with the code`).toEqual({
        'in --help, missing from docs/contract.md': [],
        'in docs/contract.md, not in --help': [],
      });
    }
  });

  it('reads its own JSON shapes: optional fields and their contents are not promised', () => {
    expect([...promisedFields('{ "a", "b"?: { "c" }, "d": [ { "e"?, "f" } ], "g"?: [ "h" ] }')].sort()).toEqual(['a', 'd', 'f']);
  });

  const runs: Array<[string, () => string[]]> = [
    ['info', () => ['info', CT_3SLICE, NOT_DICOM, '--stats', '--json']],
    ['metrics', () => ['metrics', '--reference', CT_3SLICE, '--test', CT_3SLICE, '--json']],
    ['phantom', () => ['phantom', 'water', '-o', path.join(tmp, 'water'), '--size', '64', '--slices', '2', '--json']],
    ['denoise', () => ['denoise', CT_3SLICE, NOT_DICOM, '-o', path.join(tmp, 'denoised'), '--method', 'gaussian', '--reference', CT_3SLICE, '--no-progress', '--json']],
    ['simulate', () => ['simulate', path.join(tmp, 'small-water'), NOT_DICOM, '--dose', '0.5', '-o', path.join(tmp, 'simulated'), '--workers', '1', '--json']],
    ['qa', () => ['qa', '--phantoms', 'water', '--doses', '0.25', '--method', 'gaussian', '-o', path.join(tmp, 'qa'), '--no-progress', '--json']],
    ['bench', () => ['bench', '--model', PER_PIXEL, '--size', '32', '--steps', '1', '--batch', '1', '--repeats', '1', '--device', 'cpu', '--json']],
    ['trace', () => ['trace', BODY_25, '-o', path.join(tmp, 'trace.png'), '--model', ORACLE, '--steps', '2', '--device', 'cpu', '--json']],
    ['demo', () => ['demo', '-o', path.join(tmp, 'demo'), '--size', '64', '--slices', '1', '--device', 'cpu', '--json']],
  ];
  it.each(runs)('lowdose %s --json prints every field the contract promises', async (name, args) => {
    const shape = contract.get(name)?.json;
    expect(shape, `a json block under lowdose ${name}`).toBeTruthy();
    const run = await runCli(...args());
    expect(run.code, run.stderr).toBeLessThanOrEqual(1);
    const printed = keysOf(JSON.parse(run.stdout));
    const missing = [...promisedFields(shape!)].filter((field) => !printed.has(field));
    expect(missing, `lowdose ${name} --json lacks fields docs/contract.md promises`).toEqual([]);
  });
});

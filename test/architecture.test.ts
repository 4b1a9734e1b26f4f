/**
 * The shape of src/: no import cycles (type imports included), and the layers import downward only
 * (README "Layout": dicom -> simulate / metrics -> diffusion + runtime -> models -> pipeline -> cli,
 * server). Read from the import statements with TypeScript's own pre-processor, no type check.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** file (relative to src/) -> the src files it imports or re-exports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, false);
    const targets = importedFiles
      .map((f) => f.fileName)
      .filter((name) => name.startsWith('.'))
      .map((name) => path.relative(SRC, path.resolve(path.dirname(file), name.replace(/\.js$/, '.ts'))));
    graph.set(path.relative(SRC, file), targets);
  }
  return graph;
}

/** Every cycle found by a depth-first search, each as the files along it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next) && graph.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

const layer = (file: string) => file.split(path.sep)[0]!;

describe('src/', () => {
  const graph = importGraph();

  it('has no import cycles', () => {
    expect(cycles(graph).map((cycle) => cycle.join(' > '))).toEqual([]);
  });

  it('finds a cycle when there is one (the check itself)', () => {
    const looped = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
    ]);
    expect(cycles(looped)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });

  it.each([
    ['diffusion', ['models', 'pipeline', 'cli', 'server', 'qa', 'bench', 'trace', 'dicom']],
    ['runtime', ['diffusion', 'models', 'pipeline', 'cli', 'server', 'qa', 'bench', 'trace', 'dicom']],
    ['dicom', ['diffusion', 'models', 'pipeline', 'cli', 'server', 'qa', 'bench', 'trace', 'runtime']],
    ['metrics', ['diffusion', 'models', 'pipeline', 'cli', 'server', 'qa', 'bench', 'trace', 'runtime']],
    ['models', ['pipeline', 'cli', 'server', 'qa', 'bench', 'trace']],
    ['pipeline', ['cli', 'server']],
  ])('%s imports nothing from the layers above it', (from, above) => {
    const upward = [...graph]
      .filter(([file]) => layer(file) === from)
      .flatMap(([file, targets]) => targets.filter((t) => above.includes(layer(t))).map((t) => `${file} -> ${t}`));
    expect(upward).toEqual([]);
  });
});

/**
 * makeDirectories / makeDirectoriesSync (src/util/fs.ts): `mkdir -p` that makes every missing
 * folder, accepts folders that exist, and refuses at once, with the system error's code, what
 * cannot be a folder: a file on the way, or a parent that takes no new folders (/proc). The
 * scripts under scripts/ make their cache and output folders with it too.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDirectories, makeDirectoriesSync, makeOutputFolder, makeOutputFolderSync } from '../../src/util/fs.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-mkdirs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const HAS_PROC = statSync('/proc', { throwIfNoEntry: false })?.isDirectory() ?? false;

describe.each([
  ['makeDirectories', (dir: string) => makeDirectories(dir)],
  ['makeDirectoriesSync', (dir: string) => Promise.resolve().then(() => makeDirectoriesSync(dir))],
])('%s', (name, make) => {
  it('makes every missing folder, and again is a no-op', async () => {
    const dir = path.join(root, name, 'a', 'b', 'c');
    await make(dir);
    expect(statSync(dir).isDirectory()).toBe(true);
    await make(dir);
    await make(root);
  });

  it('a file on the way is ENOTDIR naming it', async () => {
    const file = path.join(root, `${name}-file`);
    writeFileSync(file, 'x');
    await expect(make(file)).rejects.toMatchObject({ code: 'ENOTDIR', path: file });
    await expect(make(path.join(file, 'sub', 'dir'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  it.skipIf(!HAS_PROC)('a folder under /proc is ENOENT at once, saying the parent takes no folders', async () => {
    for (const dir of ['/proc/lowdose-x', '/proc/lowdose-x/y/z']) {
      await expect(make(dir)).rejects.toMatchObject({ code: 'ENOENT', message: expect.stringMatching(/\/proc exists but no folder can be created in it/) as unknown });
    }
  });
});

describe('makeOutputFolder', () => {
  it.skipIf(!HAS_PROC)('a folder under /proc is E_IO naming the folder, async and sync', async () => {
    await expect(makeOutputFolder('/proc/lowdose-x/out')).rejects.toMatchObject({ code: 'E_IO', message: expect.stringMatching(/^\/proc\/lowdose-x\/out: cannot create output directory: /) as unknown });
    expect(() => makeOutputFolderSync('/proc/lowdose-x/out')).toThrow(expect.objectContaining({ code: 'E_IO' }));
  });

  it('concurrent calls for one new folder all succeed', async () => {
    const dir = path.join(root, 'concurrent', 'x', 'y');
    await Promise.all(Array.from({ length: 8 }, () => makeOutputFolder(dir)));
    expect(statSync(dir).isDirectory()).toBe(true);
  });
});

/** Every script file under scripts/ (TypeScript and plain JavaScript), relative to the repository. */
function scriptFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return scriptFiles(full);
    return /\.(ts|mts|js|mjs)$/.test(entry.name) ? [full] : [];
  });
}

/** The argument text of each `mkdir(` / `mkdirSync(` call in `text`, with the line it starts on. */
function mkdirCalls(text: string): Array<{ line: number; args: string }> {
  return [...text.matchAll(/\bmkdir(?:Sync)?\s*\(/g)].map((m) => {
    const start = m.index + m[0].length;
    let depth = 1;
    let end = start;
    for (; end < text.length && depth > 0; end++) depth += text[end] === '(' ? 1 : text[end] === ')' ? -1 : 0;
    return { line: text.slice(0, m.index).split('\n').length, args: text.slice(start, end - 1) };
  });
}

describe('scripts/', () => {
  it("make their folders with makeDirectories, never Node's recursive mkdir, which never returns for a folder under /proc", () => {
    const repo = path.resolve(import.meta.dirname, '../..');
    const recursive = scriptFiles(path.join(repo, 'scripts')).flatMap((file) =>
      mkdirCalls(readFileSync(file, 'utf8'))
        .filter(({ args }) => /recursive\s*:\s*true/.test(args))
        .map(({ line }) => `${path.relative(repo, file)}:${line}`),
    );
    expect(recursive).toEqual([]);
  });
});

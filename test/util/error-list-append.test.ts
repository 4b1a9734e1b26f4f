/**
 * `unreadable.tsv` grows by appending, not by copying the whole list at each publish (a run over
 * many studies publishes after each one), and is only ever replaced whole by a rename; a run
 * killed with SIGKILL leaves no scratch file in the temporary folder, and the working files it
 * left in the output folder are removed by the next run there once their process is gone
 * (src/util/error-list-file.ts).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPhantom } from '../../src/pipeline/phantom.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { ERRORS_FILE, ErrorListFile, parseErrorList } from '../../src/util/error-list-file.js';
import { ownerTag } from '../../src/util/owner-tag.js';
import { Rng } from '../../src/util/random.js';
import { writeJunkFolder } from '../helpers/junk-folder.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const root = mkdtempSync(path.join(tmpdir(), 'lowdose-error-list-append-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** `n` seeded entries of study `study`. */
function entries(study: number, n: number, rng: Rng): Array<{ path: string; code: string; message: string }> {
  return Array.from({ length: n }, (_, i) => ({ path: `/pull/${study}/${rng.nextUint32()}.dcm`, code: i % 3 ? 'E_TRUNCATED' : 'E_NOT_DICOM', message: `instance ${study}.${i}: cut\tshort` }));
}

/** The bytes a descriptor reads from its start now. */
function readAll(fd: number): string {
  const chunks: Buffer[] = [];
  const buffer = Buffer.alloc(1 << 16);
  for (let at = 0, n; (n = readSync(fd, buffer, 0, buffer.length, at)) > 0; at += n) chunks.push(Buffer.from(buffer.subarray(0, n)));
  return Buffer.concat(chunks).toString('utf8');
}

const hidden = (dir: string) => readdirSync(dir).filter((name) => name.startsWith(`.${ERRORS_FILE}.`)).sort();

describe('unreadable.tsv is appended and replaced whole', () => {
  it('five publishes: each shows every entry so far; the file shown is written again only two publishes later, appended', async () => {
    const outDir = path.join(root, 'append');
    const rng = new Rng(11);
    const list = ErrorListFile.open();
    const target = path.join(outDir, ERRORS_FILE);
    const all: ReturnType<typeof entries> = [];
    const shown: Array<{ ino: number; fd: number; text: string }> = [];
    try {
      for (let study = 0; study < 5; study++) {
        const added = entries(study, 40 + study, rng);
        for (const entry of added) list.add(entry);
        all.push(...added);
        expect(await list.publish(outDir)).toBe(target);
        const text = readFileSync(target, 'utf8');
        expect(parseErrorList(text)).toEqual(all);
        // The list shown before this publish is untouched by it: a reader of it read a whole list.
        const before = shown.at(-1);
        if (before) expect(readAll(before.fd)).toBe(before.text);
        shown.push({ ino: statSync(target).ino, fd: openSync(target, 'r'), text });
      }
      // Two files take turns: the list of publish 3 is the file of publish 1 with the entries since
      // appended (the same inode), not a copy.
      expect(shown.map((s) => s.ino)).toEqual([shown[0]!.ino, shown[1]!.ino, shown[0]!.ino, shown[1]!.ino, shown[0]!.ino]);
      expect(shown[0]!.ino).not.toBe(shown[1]!.ino);
      expect(hidden(outDir)).toHaveLength(2);
    } finally {
      for (const s of shown) closeSync(s.fd);
      await list.discard();
    }
    // The run's end removes its working files' names; the list stays.
    expect(hidden(outDir)).toEqual([]);
    expect(parseErrorList(readFileSync(target, 'utf8'))).toEqual(all);
  });

  it('a run killed after a publish leaves no scratch file; the next run into its folder removes its working files, not a live or another host\'s', async () => {
    const scratchRoot = path.join(root, 'tmp');
    const outDir = path.join(root, 'killed-out');
    mkdirSync(scratchRoot, { recursive: true });
    const script = [
      "const { ErrorListFile } = await import('./src/util/error-list-file.ts');",
      'const list = ErrorListFile.open();',
      "for (let i = 0; i < 30; i++) list.add({ path: '/in/' + i + '.dcm', code: 'E_TRUNCATED', message: 'cut short' });",
      'await list.publish(process.argv[1]);',
      "process.kill(process.pid, 'SIGKILL');",
    ].join('\n');
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, outDir], { cwd: REPO, env: { ...process.env, TMPDIR: scratchRoot }, encoding: 'utf8' });
    expect(child.signal, child.stderr).toBe('SIGKILL');
    // (tsx keeps its cache there too.)
    expect(readdirSync(scratchRoot).filter((name) => name.startsWith('lowdose-unreadable-'))).toEqual([]);
    expect(parseErrorList(readFileSync(path.join(outDir, ERRORS_FILE), 'utf8'))).toHaveLength(30);
    const left = hidden(outDir);
    expect(left).toHaveLength(2);
    // A working file of this (live) process and one of another host stay.
    const live = `.${ERRORS_FILE}.${ownerTag()}.tmp`;
    const otherHost = `.${ERRORS_FILE}.${ownerTag(1, 'another-host')}.tmp`;
    for (const name of [live, otherHost]) writeFileSync(path.join(outDir, name), 'path\tcode\tmessage\n');

    const input = path.join(root, 'killed-in');
    await runPhantom('water', { outDir: path.join(input, 'series'), size: 32, slices: 2, uidSeed: 'error-list-killed' });
    writeJunkFolder(path.join(input, 'junk'), { notDicom: 3, seed: 5 });
    const report = await denoisePaths([input], { outDir, method: 'gaussian' });
    expect(report.errorCount).toBe(3);
    expect(hidden(outDir)).toEqual([live, otherHost].sort());
    expect(parseErrorList(readFileSync(path.join(outDir, ERRORS_FILE), 'utf8'))).toHaveLength(3);
  }, 60_000);
});

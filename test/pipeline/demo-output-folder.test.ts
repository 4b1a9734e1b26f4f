/**
 * `lowdose demo -o <dir>` replaces only an earlier demo's output: a file, or a folder holding
 * anything the demo did not write (`-o .`, `-o ~`), is refused with E_EXISTS (exit 2) and left
 * as it was. It used to delete whatever path it was given, recursively.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../src/pipeline/demo.js';
import { runCli } from '../helpers/cli.js';

const MODEL = fileURLToPath(new URL('../fixtures-models/bench-conv.json', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'lowdose-demo-output-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('demo -o', () => {
  it('refuses a folder holding files it did not write, and deletes nothing there (exit 2)', async () => {
    const folder = join(root, 'my-study');
    mkdirSync(join(folder, 'scans'), { recursive: true });
    writeFileSync(join(folder, 'notes.txt'), 'precious');
    writeFileSync(join(folder, 'scans', 'keep.dcm'), 'mine');
    const { code, stderr } = await runCli('demo', '-o', folder, '--size', '64', '--slices', '1', '--model', MODEL, '--device', 'cpu');
    expect(code).toBe(2);
    expect(stderr).toContain(`${folder} holds notes.txt, which the demo did not write`);
    expect(stderr).toContain('[E_EXISTS]');
    expect(readFileSync(join(folder, 'notes.txt'), 'utf8')).toBe('precious');
    expect(readFileSync(join(folder, 'scans', 'keep.dcm'), 'utf8')).toBe('mine');
  });

  it('refuses a file (exit 2) and leaves it', async () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'data');
    const { code, stderr } = await runCli('demo', '-o', file, '--size', '64', '--slices', '1', '--model', MODEL, '--device', 'cpu');
    expect(code).toBe(2);
    expect(stderr).toContain(`${file} is a file`);
    expect(readFileSync(file, 'utf8')).toBe('data');
  });

  it("replaces an earlier demo's output", async () => {
    const folder = join(root, 'demo');
    await runDemo({ outDir: folder, size: 64, slices: 1, model: MODEL, device: 'cpu' });
    const stale = join(folder, 'denoised', 'stale.txt');
    writeFileSync(stale, 'from an earlier run');
    const again = await runDemo({ outDir: folder, size: 64, slices: 1, model: MODEL, device: 'cpu' });
    expect(again.rows).toHaveLength(4);
    expect(existsSync(stale)).toBe(false);
  });
});

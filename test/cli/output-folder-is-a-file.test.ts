/**
 * An output folder (`-o`) that is a file is an E_IO naming the folder, for every command that
 * writes one, and the file is left as it was; it used to surface as node's bare
 * "EEXIST: file already exists, mkdir ..." with E_INTERNAL (a bug) from denoise, simulate, qa
 * and trace.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const lowDoseDir = fileURLToPath(new URL('../../fixtures/body/dose25', import.meta.url));
const MODEL = fileURLToPath(new URL('../fixtures-models/bench-conv.json', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'lowdose-output-file-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('-o naming a file', () => {
  it.each([
    ['denoise', (o: string) => ['denoise', lowDoseDir, '-o', o, '--method', 'gaussian', '--no-progress']],
    ['simulate', (o: string) => ['simulate', lowDoseDir, '--dose', '0.5', '-o', o, '--workers', '1']],
    ['qa', (o: string) => ['qa', '--phantoms', 'water', '--doses', '0.25', '--realisations', '1', '--method', 'gaussian', '-o', o, '--no-progress']],
    ['trace', (o: string) => ['trace', lowDoseDir, '--model', MODEL, '--steps', '1', '-o', join(o, 'trace.png')]],
  ])('%s: E_IO "cannot create output directory", the file untouched', async (command, args) => {
    const file = join(root, `${command}-file`);
    writeFileSync(file, 'not a folder');
    const { code, stderr } = await runCli(...args(file));
    expect(code).toBe(1);
    expect(stderr).toMatch(/: cannot create output directory: .*\[E_IO\]/);
    expect(stderr).not.toContain('E_INTERNAL');
    expect(readFileSync(file, 'utf8')).toBe('not a folder');
  });
});

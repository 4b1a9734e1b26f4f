import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LowdoseError } from '../../src/errors.js';
import { pullCacheDir } from '../../src/util/pull-cache.js';
import { privateTempDir } from '../../src/util/private-temp.js';

const posix = process.platform !== 'win32';
let root: string;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-private-temp-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const refusal = (run: () => unknown): LowdoseError => {
  try {
    run();
  } catch (error) {
    if (error instanceof LowdoseError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
};

describe('privateTempDir', () => {
  it.runIf(posix)('creates the folder readable by this user only', () => {
    const dir = privateTempDir('lowdose-dicomweb', { root });
    expect(dir).toBe(path.join(root, 'lowdose-dicomweb'));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it.runIf(posix)('narrows an existing folder of this user that others could enter, and keeps its files', () => {
    const dir = path.join(root, 'lowdose-serve-me');
    mkdirSync(dir, { mode: 0o755 });
    writeFileSync(path.join(dir, 'kept.txt'), 'x');
    expect(privateTempDir('lowdose-serve-me', { root })).toBe(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dir, 'kept.txt')).isFile()).toBe(true);
  });

  it.runIf(posix)('refuses a symbolic link planted under the name, without touching its target', () => {
    const target = path.join(root, 'elsewhere');
    mkdirSync(target);
    chmodSync(target, 0o777);
    symlinkSync(target, path.join(root, 'lowdose-dimse'));
    const error = refusal(() => privateTempDir('lowdose-dimse', { root }));
    expect(error.code).toBe('E_IO');
    expect(error.message).toMatch(/symbolic link/);
    expect(statSync(target).mode & 0o777).toBe(0o777);
  });

  it.runIf(posix)("refuses a folder that belongs to another user", () => {
    mkdirSync(path.join(root, 'lowdose-dicomweb'), { mode: 0o700 });
    const someoneElse = (process.getuid?.() ?? 0) + 1;
    const error = refusal(() => privateTempDir('lowdose-dicomweb', { root, uid: someoneElse }));
    expect(error.code).toBe('E_IO');
    expect(error.message).toMatch(/another user/);
  });

  it('refuses a file in the folder\'s place', () => {
    writeFileSync(path.join(root, 'lowdose-dicomweb'), 'not a folder');
    expect(refusal(() => privateTempDir('lowdose-dicomweb', { root })).code).toBe('E_IO');
  });
});

describe('pullCacheDir', () => {
  it.runIf(posix)('puts pulls in a private folder under TMPDIR, one per source', () => {
    const saved = process.env['TMPDIR'];
    process.env['TMPDIR'] = root;
    try {
      const a = pullCacheDir('dicomweb', 'http://pacs/dicom-web/studies/1.2.3');
      const b = pullCacheDir('dicomweb', 'http://pacs/dicom-web/studies/1.2.4');
      expect(path.dirname(a)).toBe(path.join(root, 'lowdose-dicomweb'));
      expect(a).not.toBe(b);
      expect(statSync(path.dirname(a)).mode & 0o777).toBe(0o700);
    } finally {
      if (saved === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = saved;
    }
  });
});

/**
 * toolkitCheckout: the commit and dirtiness of a git checkout whose top level is the package root,
 * and nothing (never an error) for a folder that is not one, or that only sits inside another
 * project's repository (lowdose installed under its node_modules). Skipped without git.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/util/package-root.js';
import { toolkitCheckout, toolkitIdentity } from '../../src/util/toolkit.js';

const hasGit = spawnSync('git', ['--version']).status === 0;
const root = mkdtempSync(join(tmpdir(), 'lowdose-toolkit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function git(dir: string, ...args: string[]): string {
  const run = spawnSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.org', '-c', 'commit.gpgsign=false', ...args], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  return run.stdout.trim();
}

describe('toolkitIdentity', () => {
  it("is the package.json's name and version", () => {
    const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { name: string; version: string };
    expect(toolkitIdentity()).toEqual({ name: pkg.name, version: pkg.version });
  });
});

describe.skipIf(!hasGit)('toolkitCheckout', () => {
  it('gives HEAD and dirty false for a clean checkout, dirty true once a tracked file changes, and ignores untracked files', () => {
    const repo = join(root, 'repo');
    mkdirSync(repo);
    git(repo, 'init', '-q');
    writeFileSync(join(repo, 'package.json'), '{}\n');
    git(repo, 'add', 'package.json');
    git(repo, 'commit', '-q', '-m', 'first');
    const head = git(repo, 'rev-parse', 'HEAD');
    writeFileSync(join(repo, 'untracked.txt'), 'x');
    expect(toolkitCheckout(repo)).toEqual({ commit: head, dirty: false });
    writeFileSync(join(repo, 'package.json'), '{ "changed": true }\n');
    expect(toolkitCheckout(repo)).toEqual({ commit: head, dirty: true });
  });

  it('gives nothing for a package inside another repository, or outside any', () => {
    const nested = join(root, 'repo', 'node_modules', 'lowdose');
    mkdirSync(nested, { recursive: true });
    expect(toolkitCheckout(nested)).toBeNull();
    const bare = join(root, 'not-a-checkout');
    mkdirSync(bare);
    expect(toolkitCheckout(bare)).toBeNull();
  });
});

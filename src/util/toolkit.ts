/**
 * Which lowdose made an output: the package's name and version (every output records them), and
 * for a QA result also the git commit of the checkout it ran from, when it runs from one.
 *
 * The commit is only ever the package's own: lowdose installed under node_modules of some other
 * project sits inside that project's repository, whose HEAD says nothing about lowdose, so a
 * commit is recorded only when the repository's top level is the package root itself. Anything
 * that goes wrong (no git, not a checkout, a slow or failing git) leaves the commit out; it never
 * fails the run that asked.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { packagePath, packageRoot } from './package-root.js';

export interface ToolkitIdentity {
  /** The package name, `lowdose`. */
  readonly name: string;
  /** The package.json version. */
  readonly version: string;
}

export interface ToolkitCheckout {
  /** `git rev-parse HEAD` of the package root. */
  readonly commit: string;
  /** Whether tracked files differ from that commit (`git status --porcelain --untracked-files=no` printed anything). */
  readonly dirty: boolean;
}

let identity: ToolkitIdentity | null = null;

/** lowdose's name and version, from its package.json (read once). */
export function toolkitIdentity(): ToolkitIdentity {
  if (identity) return identity;
  const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { name: string; version: string };
  identity = { name: pkg.name, version: pkg.version };
  return identity;
}

/** How long one git call may take before the commit is left out. */
const GIT_TIMEOUT_MS = 5000;

/**
 * The commit the package root is checked out at and whether tracked files were changed since, or
 * null when the package root is not the top level of a git checkout or git cannot say (see the
 * module comment). `root` is for tests; it defaults to the package root.
 */
export function toolkitCheckout(root: string = packageRoot()): ToolkitCheckout | null {
  const git = (...args: string[]): string | null => {
    try {
      const result = spawnSync('git', ['-C', root, ...args], {
        encoding: 'utf8',
        timeout: GIT_TIMEOUT_MS,
        // A read-only look: git status must not take the index lock another process may hold.
        env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' },
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      return result.status === 0 && typeof result.stdout === 'string' ? result.stdout : null;
    } catch {
      return null;
    }
  };
  const top = git('rev-parse', '--show-toplevel')?.trim();
  if (!top || !samePath(top, root)) return null;
  const commit = git('rev-parse', 'HEAD')?.trim();
  if (!commit || !/^[0-9a-f]{40,64}$/.test(commit)) return null;
  const status = git('status', '--porcelain', '--untracked-files=no');
  if (status === null) return null;
  return { commit, dirty: status.trim().length > 0 };
}

function samePath(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

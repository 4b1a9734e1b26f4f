/**
 * Folders of the toolkit's own under the OS temp folder (PACS pulls, the viewer's default work
 * folder) have fixed names so that a rerun finds what an earlier run left. On a shared /tmp another
 * user could create such a name first, as a link or a folder open to them, and then read what is
 * pulled there or plant files that a later run would denoise or serve. So the folder is created
 * 0700, and one that exists is used only when it is a real folder of this user (its mode is then
 * narrowed to 0700, as folders made by earlier versions were 0755).
 */
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LowdoseError } from '../errors.js';

export interface PrivateTempOptions {
  /** The parent folder (default: the OS temp folder, `$TMPDIR`). */
  readonly root?: string;
  /** The user that must own the folder (default: this process's; not checked where the platform has no uids). */
  readonly uid?: number;
}

/** `<tmp>/<name>`, created if missing, refused (E_IO) when it is not this user's private folder. */
export function privateTempDir(name: string, options: PrivateTempOptions = {}): string {
  const dir = path.join(options.root ?? os.tmpdir(), name);
  const uid = options.uid ?? process.getuid?.();
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new LowdoseError('E_IO', `cannot create the temp folder ${dir}: ${(error as Error).message}`, { path: dir, cause: error });
    }
  }
  const stat = lstatSync(dir);
  const refuse = (why: string) =>
    new LowdoseError('E_IO', `the temp folder ${dir} ${why}; remove it or point TMPDIR elsewhere (the viewer: --work)`, { path: dir });
  if (stat.isSymbolicLink()) throw refuse('is a symbolic link, not a folder');
  if (!stat.isDirectory()) throw refuse('is not a folder');
  if (uid !== undefined && stat.uid !== uid) throw refuse(`belongs to another user (uid ${stat.uid})`);
  if ((stat.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  return dir;
}

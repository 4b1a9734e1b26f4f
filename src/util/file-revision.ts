/**
 * The one answer to "has this file changed?" where lowdose keeps something it made of a file (a
 * header read, a completion marker's report, a model file's hash, a joined list) and reuses it
 * while the file is unchanged.
 */
import type { Stats } from 'node:fs';

/** What fileRevision reads of a file's stat. */
export type RevisionStats = Pick<Stats, 'size' | 'mtimeMs' | 'ctimeMs' | 'ino'>;

/**
 * What says a file is unchanged: its size, modification time, status change time and inode. The
 * ctime moves with what leaves size and mtime alone: a permission change (chmod: the file may no
 * longer be readable, or readable again), and a file rewritten in place whose mtime was put back
 * (`cp -p`, `rsync -t`, `touch -r`); the inode, with a file replaced by another (renamed over it).
 * Renaming a file moves its ctime too, so a file's revision is read after it is put in place.
 */
export function fileRevision(info: RevisionStats): string {
  return `${info.size} ${info.mtimeMs} ${info.ctimeMs} ${info.ino}`;
}

/**
 * A PACS batch's per-job lists of unreadable instances joined into `<outDir>/unreadable.tsv`
 * (src/queue/job-error-lists.ts): each job that ends writes its list and joins the batch's lists
 * under their lock, so that however the jobs' ends interleave, the last join holds every job's
 * list, in batch order; a job whose retry met none takes its entries out; another batch's lists in
 * the same folder are not this batch's.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ERRORS_FILE, ErrorListFile, parseErrorList } from '../../src/util/error-list-file.js';
import { ownerTag } from '../../src/util/owner-tag.js';
import { JOB_ERROR_LISTS, jobsWithErrorLists, joinBatchErrorLists, joinLockFolder, writeJobErrorList } from '../../src/queue/job-error-lists.js';
import { acquireFolderLock } from '../../src/util/folder-lock.js';
import { jobId } from '../../src/queue/jobs.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-job-error-lists-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Job `index`'s `n` unreadable instances. */
function entries(index: number, n: number): Array<{ path: string; code: string; message: string }> {
  return Array.from({ length: n }, (_, i) => ({ path: `/pull/${index}/${i}.dcm`, code: 'E_TRUNCATED', message: `instance 1.2.${index}.${i} of dimse://PACS@h:104/1.2.${index}: cut short` }));
}

/** What a worker does when job `index`'s attempt ends: its list written (or removed), the batch's joined. */
async function jobEnds(outDir: string, batchId: string, index: number, n: number): Promise<void> {
  const list = ErrorListFile.open();
  try {
    for (const entry of entries(index, n)) list.add(entry);
    if (await writeJobErrorList(list, outDir, jobId(batchId, index))) await joinBatchErrorLists(outDir, batchId);
  } finally {
    await list.discard();
  }
}

const joined = async (outDir: string) => parseErrorList(await readFile(path.join(outDir, ERRORS_FILE), 'utf8'));
const paths = (list: ReadonlyArray<{ path?: string | null }>) => list.map((e) => e.path);

describe("a PACS batch's job lists joined into unreadable.tsv as the jobs end", () => {
  it('16 jobs ending at once, each joining: the list holds every job\'s instances in batch order, and no working file is left', async () => {
    const outDir = path.join(root, 'concurrent');
    const batch = '20261207120000-abcdef';
    // Jobs 0, 3, 6, ... meet none: they join nothing.
    const sizes = Array.from({ length: 16 }, (_, i) => (i % 3 === 0 ? 0 : 1 + (i % 5)));
    await Promise.all(sizes.map((n, i) => jobEnds(outDir, batch, i, n)));
    expect(paths(await joined(outDir))).toEqual(paths(sizes.flatMap((n, i) => entries(i, n))));
    expect(readdirSync(outDir).filter((name) => name.startsWith('.') && name !== JOB_ERROR_LISTS)).toEqual([]);
    expect(readdirSync(path.join(outDir, JOB_ERROR_LISTS)).filter((name) => !name.endsWith('.tsv'))).toEqual([]);
  });

  it('a join waits while another holds the lists\' lock, then reads the lists as they are', async () => {
    const outDir = path.join(root, 'locked');
    const batch = '20261207120000-000005';
    await jobEnds(outDir, batch, 0, 2);
    const lock = await acquireFolderLock(joinLockFolder(outDir));
    let ended = false;
    const join = jobEnds(outDir, batch, 1, 1).then(() => {
      ended = true;
    });
    // Time enough for the join to have written, had it not waited (it polls the lock every 100 ms).
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(ended).toBe(false);
    expect(paths(await joined(outDir))).toEqual(paths(entries(0, 2)));
    // A list written while the join waits is in what it joins.
    const late = ErrorListFile.open();
    for (const entry of entries(2, 1)) late.add(entry);
    await writeJobErrorList(late, outDir, jobId(batch, 2));
    await late.discard();
    await lock.release();
    await join;
    expect(paths(await joined(outDir))).toEqual(paths([...entries(0, 2), ...entries(1, 1), ...entries(2, 1)]));
  });

  it("a retried job that met none takes its instances out; the batch's last list removed removes unreadable.tsv; another batch's lists are not joined", async () => {
    const outDir = path.join(root, 'retry');
    const batch = '20261207120000-000001';
    const other = '20261207110000-000002';
    await jobEnds(outDir, other, 0, 4);
    await jobEnds(outDir, batch, 1, 2);
    await jobEnds(outDir, batch, 0, 3);
    expect(paths(await joined(outDir))).toEqual(paths([...entries(0, 3), ...entries(1, 2)]));
    expect(await jobsWithErrorLists(outDir, batch)).toEqual([jobId(batch, 0), jobId(batch, 1)]);
    // Job 0's retry met no unreadable instance.
    await jobEnds(outDir, batch, 0, 0);
    expect(paths(await joined(outDir))).toEqual(paths(entries(1, 2)));
    await jobEnds(outDir, batch, 1, 0);
    expect(existsSync(path.join(outDir, ERRORS_FILE))).toBe(false);
    // The other batch's list stays for that batch.
    expect(await jobsWithErrorLists(outDir, other)).toEqual([jobId(other, 0)]);
  });

  it('a job index past 99999 sorts after the ones before it (batch order, not name order)', async () => {
    const outDir = path.join(root, 'order');
    const batch = '20261207120000-000003';
    for (const index of [100000, 99999, 7]) await jobEnds(outDir, batch, index, 1);
    expect(paths(await joined(outDir))).toEqual(paths([...entries(7, 1), ...entries(99999, 1), ...entries(100000, 1)]));
  });

  it("a join's working file left by a killed join goes with the next join; a live process's stays", async () => {
    const outDir = path.join(root, 'stale');
    const batch = '20261207120000-000004';
    await jobEnds(outDir, batch, 0, 1);
    // A pid that ran and is gone: a child that has exited.
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    const dead = `.${ERRORS_FILE}.${ownerTag(gone)}.tmp`;
    const live = `.${ERRORS_FILE}.${ownerTag()}.tmp`;
    for (const name of [dead, live]) writeFileSync(path.join(outDir, name), 'path\tcode\tmessage\n');
    await jobEnds(outDir, batch, 1, 1);
    expect(existsSync(path.join(outDir, dead))).toBe(false);
    expect(existsSync(path.join(outDir, live))).toBe(true);
    expect(paths(await joined(outDir))).toEqual(paths([...entries(0, 1), ...entries(1, 1)]));
  });
});

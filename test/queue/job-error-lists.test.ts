/**
 * A PACS batch's per-job lists of unreadable instances joined into `<outDir>/unreadable.tsv`
 * (src/queue/job-error-lists.ts): each job that ends writes its list and joins the batch's lists
 * under their lock, so that however the jobs' ends interleave, the last join holds every job's
 * list, in batch order; a job whose retry met none takes its entries out; another batch's lists in
 * the same folder are not this batch's.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, fstatSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ERRORS_FILE, ErrorListFile, parseErrorList } from '../../src/util/error-list-file.js';
import { ownerTag } from '../../src/util/owner-tag.js';
import { JOB_ERROR_LISTS, JOINED_MANIFEST, jobErrorListPath, jobsWithErrorLists, joinBatchErrorLists, joinLockFolder, writeJobErrorList } from '../../src/queue/job-error-lists.js';
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
    if (await writeJobErrorList(list, outDir, jobId(batchId, index))) await joinBatchErrorLists(outDir, batchId, jobId(batchId, index));
  } finally {
    await list.discard();
  }
}

/** unreadable.tsv as the contract words it: the header, then every job list's entries in batch order (none: no file). */
function joinedFromScratch(outDir: string, batchId: string, indices: readonly number[]): string | null {
  const parts = [...indices]
    .sort((a, b) => a - b)
    .map((i) => jobErrorListPath(outDir, jobId(batchId, i)))
    .filter((file) => existsSync(file))
    .map((file) => readFileSync(file, 'utf8').split('\n').slice(1).join('\n'))
    .filter((entries) => entries !== '');
  return parts.length === 0 ? null : `path\tcode\tmessage\n${parts.join('')}`;
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
    // Besides the job lists, only what the last join joined stays for the next join: no copy of the list.
    expect(readdirSync(path.join(outDir, JOB_ERROR_LISTS)).filter((name) => !name.endsWith('.tsv'))).toEqual([JOINED_MANIFEST]);
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

  it('jobs ending out of order, retried and emptied: after every join unreadable.tsv is byte for byte the lists joined from scratch in batch order', async () => {
    const outDir = path.join(root, 'incremental');
    const batch = '20261207120000-000006';
    // A seeded order of 40 job ends over 12 jobs: some end more than once (a retry with another list, or none).
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const jobs = Array.from({ length: 12 }, (_, i) => i);
    for (let step = 0; step < 40; step++) {
      const index = next() % jobs.length;
      const n = next() % 4; // 0: the attempt met none
      await jobEnds(outDir, batch, index, n);
      const file = path.join(outDir, ERRORS_FILE);
      const expected = joinedFromScratch(outDir, batch, jobs);
      expect(existsSync(file) ? readFileSync(file, 'utf8') : null, `step ${step}: job ${index} with ${n}`).toBe(expected);
    }
  });

  it("a join reads only the lists that changed since unreadable.tsv was joined, not every job's", async () => {
    const outDir = path.join(root, 'reads');
    const batch = '20261207120000-000007';
    for (let i = 0; i < 4; i++) await jobEnds(outDir, batch, i, 2);
    // Job 0's list given whole-second times (which utimes sets exactly), joined again so that the manifest holds it so.
    const first = jobErrorListPath(outDir, jobId(batch, 0));
    utimesSync(first, 1_800_000_000, 1_800_000_000);
    await joinBatchErrorLists(outDir, batch);
    // Then changed in place, same size and times: a join that reread every list would take this text.
    writeFileSync(first, readFileSync(first, 'utf8').replaceAll('/pull/0/', '/PULL/0/'));
    utimesSync(first, 1_800_000_000, 1_800_000_000);
    await jobEnds(outDir, batch, 4, 2);
    expect(paths(await joined(outDir))).toEqual(paths([0, 1, 2, 3, 4].flatMap((i) => entries(i, 2))));
  });

  it("a list rewritten in place with its size and mtime put back (cp -p, rsync -t) is read again by batch --wait's join; so is an unreadable.tsv so rewritten, joined whole", async () => {
    const outDir = path.join(root, 'rewritten-in-place');
    const batch = '20261207120000-000010';
    // Whole-second times, which utimes puts back exactly.
    const times = 1_800_000_000;
    for (let i = 0; i < 3; i++) await jobEnds(outDir, batch, i, 2);
    const first = jobErrorListPath(outDir, jobId(batch, 0));
    utimesSync(first, times, times);
    await joinBatchErrorLists(outDir, batch);
    // Past the file system's timestamp granularity, so that the rewrite's ctime is another.
    await new Promise((resolve) => setTimeout(resolve, 20));
    writeFileSync(first, readFileSync(first, 'utf8').replaceAll('/pull/0/', '/PULL/0/'));
    utimesSync(first, times, times);
    await joinBatchErrorLists(outDir, batch);
    const shown = path.join(outDir, ERRORS_FILE);
    expect(readFileSync(shown, 'utf8')).toBe(joinedFromScratch(outDir, batch, [0, 1, 2]));
    expect(readFileSync(shown, 'utf8')).toContain('/PULL/0/');
    // The joined list itself edited in place (its first entry's path), its times put back to the
    // nanosecond (touch -r): not the list the manifest describes.
    const times0 = path.join(root, 'rewritten-in-place.times');
    writeFileSync(times0, '');
    expect(spawnSync('touch', ['-r', shown, times0]).status).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    writeFileSync(shown, readFileSync(shown, 'utf8').replace('/PULL/0/', '/EDIT/0/'));
    expect(spawnSync('touch', ['-r', times0, shown]).status).toBe(0);
    await jobEnds(outDir, batch, 3, 1);
    expect(readFileSync(shown, 'utf8')).toBe(joinedFromScratch(outDir, batch, [0, 1, 2, 3]));
  });

  it("an unreadable.tsv the last join did not write (cut short, grown, or an earlier lowdose's working files beside it) is joined whole by the next join", async () => {
    const outDir = path.join(root, 'killed-join');
    const batch = '20261207120000-000008';
    const shown = path.join(outDir, ERRORS_FILE);
    for (let i = 0; i < 3; i++) await jobEnds(outDir, batch, i, 2);
    // Replaced by a copy cut short: the manifest's prefix is not in it.
    writeFileSync(shown, readFileSync(shown, 'utf8').slice(0, 30));
    await jobEnds(outDir, batch, 3, 2);
    expect(readFileSync(shown, 'utf8')).toBe(joinedFromScratch(outDir, batch, [0, 1, 2, 3]));
    // Grown by half a line.
    appendFileSync(shown, '/pull/x\tE_TRUN');
    await jobEnds(outDir, batch, 4, 1);
    expect(readFileSync(shown, 'utf8')).toBe(joinedFromScratch(outDir, batch, [0, 1, 2, 3, 4]));
    // An earlier lowdose's two working files and its manifest (one entry per working file): gone, the list joined whole.
    const lists = path.join(outDir, JOB_ERROR_LISTS);
    for (const name of ['joined-0.list', 'joined-1.list']) writeFileSync(path.join(lists, name), 'path\tcode\tmessage\n');
    writeFileSync(path.join(lists, JOINED_MANIFEST), JSON.stringify([null, { lists: [], size: 19 }]));
    writeFileSync(shown, 'path\tcode\tmessage\n');
    await jobEnds(outDir, batch, 5, 1);
    expect(readFileSync(shown, 'utf8')).toBe(joinedFromScratch(outDir, batch, [0, 1, 2, 3, 4, 5]));
    expect(readdirSync(lists).filter((name) => !name.endsWith('.tsv'))).toEqual([JOINED_MANIFEST]);
  });

  it('a reader that opened unreadable.tsv reads that join\'s list to its end while later joins replace it', async () => {
    const outDir = path.join(root, 'reader');
    const batch = '20261207120000-000010';
    for (let i = 0; i < 3; i++) await jobEnds(outDir, batch, i, 2);
    const shown = path.join(outDir, ERRORS_FILE);
    const before = readFileSync(shown);
    const reader = openSync(shown, 'r');
    try {
      // Later jobs end, and job 1 is retried with another list: the joins after it cut and append.
      for (const [index, n] of [[3, 2], [4, 1], [1, 3], [5, 2], [6, 1]] as const) await jobEnds(outDir, batch, index, n);
      expect(readFileSync(shown, 'utf8')).toBe(joinedFromScratch(outDir, batch, [0, 1, 2, 3, 4, 5, 6]));
      const info = fstatSync(reader);
      const seen = Buffer.alloc(info.size);
      readSync(reader, seen, 0, info.size, 0);
      expect(seen.toString('utf8')).toBe(before.toString('utf8'));
    } finally {
      closeSync(reader);
    }
  });

  it("a job retried with another list, then later jobs ending: each join holds the retry's list, not the one an earlier join held", async () => {
    const outDir = path.join(root, 'retried-then-more');
    const batch = '20261207120000-000009';
    // Three or four jobs before the retry (an odd and an even number of joins).
    for (const before of [3, 4]) {
      const dir = path.join(outDir, String(before));
      for (let i = 0; i < before; i++) await jobEnds(dir, batch, i, 2);
      // Job 0 retried: a list of 3 (another size, another file) replaces its 2.
      await jobEnds(dir, batch, 0, 3);
      for (const index of [before, before + 1, before + 2]) {
        await jobEnds(dir, batch, index, 1);
        expect(readFileSync(path.join(dir, ERRORS_FILE), 'utf8'), `${before} jobs, job 0 retried, job ${index} ended`).toBe(joinedFromScratch(dir, batch, [0, 1, 2, 3, 4, 5, 6]));
      }
    }
  });
});

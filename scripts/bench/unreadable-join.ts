/**
 * The cost of a PACS batch's unreadable.tsv join (src/queue/job-error-lists.ts) over a batch.
 *
 *   npx tsx scripts/bench/unreadable-join.ts [--jobs 50,200] [--entries 100] [--json]
 *
 * For each job count N: N jobs end one after another in batch order, each as its worker ends it:
 * its list of `--entries` unreadable instances written (writeJobErrorList), then the batch's lists
 * joined (joinBatchErrorLists), then a final join as `batch --wait` does; in a fresh folder under
 * the system's temporary folder. Prints the seconds of all N joins together (the lists' writes not
 * counted), the last join's, and the bytes of the joined list.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { joinBatchErrorLists, writeJobErrorList } from '../../src/queue/job-error-lists.js';
import { jobId } from '../../src/queue/jobs.js';
import { ERRORS_FILE, ErrorListFile } from '../../src/util/error-list-file.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const jobCounts = option('--jobs', '50,200').split(',').map(Number);
const perJob = Number(option('--entries', '100'));
const json = args.includes('--json');

interface Row {
  readonly jobs: number;
  readonly entriesPerJob: number;
  readonly joinSeconds: number;
  readonly finalJoinSeconds: number;
  readonly listBytes: number;
}

async function run(jobs: number): Promise<Row> {
  const outDir = mkdtempSync(path.join(tmpdir(), 'lowdose-bench-join-'));
  const batch = '20261207120000-be0c4a';
  let joining = 0;
  try {
    for (let index = 0; index < jobs; index++) {
      const list = ErrorListFile.open();
      try {
        for (let i = 0; i < perJob; i++) {
          list.add({ path: `/pull/${index}/${i}.dcm`, code: 'E_TRUNCATED', message: `instance 1.2.826.0.1.${index}.${i} of dimse://PACS@pacs:104/1.2.826.0.1.${index}: cut short in its pixel data` });
        }
        if (await writeJobErrorList(list, outDir, jobId(batch, index))) {
          const start = performance.now();
          await joinBatchErrorLists(outDir, batch, jobId(batch, index));
          joining += performance.now() - start;
        }
      } finally {
        await list.discard();
      }
    }
    const start = performance.now();
    await joinBatchErrorLists(outDir, batch);
    const final = performance.now() - start;
    return { jobs, entriesPerJob: perJob, joinSeconds: joining / 1000, finalJoinSeconds: final / 1000, listBytes: statSync(path.join(outDir, ERRORS_FILE)).size };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

const rows: Row[] = [];
for (const jobs of jobCounts) rows.push(await run(jobs));
if (json) console.log(JSON.stringify(rows, null, 2));
else {
  for (const r of rows) {
    console.log(`${r.jobs} jobs x ${r.entriesPerJob} entries: joins ${r.joinSeconds.toFixed(2)} s in all, final join ${(r.finalJoinSeconds * 1000).toFixed(0)} ms, unreadable.tsv ${(r.listBytes / 1024).toFixed(0)} KiB`);
  }
}

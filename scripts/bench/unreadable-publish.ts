/**
 * The cost of publishing a run's unreadable.tsv into its output folder after each study
 * (src/util/error-list-file.ts ErrorListFile.publish), as a run over many PACS studies does.
 *
 *   npx tsx scripts/bench/unreadable-publish.ts [--publishes 500] [--entries 200]
 *
 * `--publishes` times: `--entries` entries added, then the list published; in a fresh folder under
 * the system's temporary folder. Prints the seconds of all publishes together (the adds not
 * counted) and the bytes of the final list.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ERRORS_FILE, ErrorListFile } from '../../src/util/error-list-file.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string): number => {
  const i = args.indexOf(name);
  return Number(i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback);
};
const publishes = option('--publishes', '500');
const perPublish = option('--entries', '200');

const outDir = mkdtempSync(path.join(tmpdir(), 'lowdose-bench-publish-'));
const list = ErrorListFile.open();
let publishing = 0;
try {
  for (let study = 0; study < publishes; study++) {
    for (let i = 0; i < perPublish; i++) {
      list.add({ path: `/pull/${study}/${i}.dcm`, code: 'E_TRUNCATED', message: `instance 1.2.826.0.1.${study}.${i} of dimse://PACS@pacs:104/1.2.826.0.1.${study}: cut short in its pixel data` });
    }
    const start = performance.now();
    await list.publish(outDir);
    publishing += performance.now() - start;
  }
  const bytes = statSync(path.join(outDir, ERRORS_FILE)).size;
  console.log(`${publishes} publishes x ${perPublish} entries: ${(publishing / 1000).toFixed(2)} s in all, unreadable.tsv ${(bytes / 1e6).toFixed(1)} MB`);
} finally {
  await list.discard();
  rmSync(outDir, { recursive: true, force: true });
}

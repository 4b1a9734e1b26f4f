/**
 * What it costs a `denoise` rerun to check that a finished series was made from the same input
 * (src/pipeline/input-content.ts): every slice read and hashed once before the series is skipped.
 *
 *   npx tsx scripts/bench/input-content.ts [--series <dir> ...] [--volume ../shared/ct/lidc-0314-chest.nii.gz] [--repeats 3] [--json]
 *
 * Series: each `--series` folder (default the Mayo L192 B30f quarter-dose series, 7 slices of
 * 512 x 512 from ../shared/ldct-mayo) and a real CT volume from ../shared/ct written once as a
 * DICOM series by the toolkit's writer (as scripts/bench/denoise-series.ts does, into the same
 * folder under the system's temporary directory). Per series, the median over the repeats of:
 * reading every slice (`readMs`), reading and hashing it (`readAndHashMs`, what the rerun adds),
 * and a whole rerun that skips the series with the gaussian filter, comparing the input
 * (`rerunMs`) and with the marker's `input.content` removed, as an older lowdose wrote it, which
 * compares nothing (`rerunUncomparedMs`). The first run's hashing is inside its reading of each slice.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { clearSliceCache, readSliceImage, scanPaths } from '../../src/dicom/index.js';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { readInputContent } from '../../src/pipeline/input-content.js';
import { readNiftiVolume } from '../train/nifti-volume.js';

const { values: args } = parseArgs({
  options: {
    series: { type: 'string', multiple: true, default: [path.resolve(import.meta.dirname, '../../../shared/ldct-mayo/L192/B30f/quarter')] },
    volume: { type: 'string', default: path.resolve(import.meta.dirname, '../../../shared/ct/lidc-0314-chest.nii.gz') },
    repeats: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
const repeats = Number(args.repeats);
const log = (message: string) => {
  if (!args.json) console.error(message);
};

const volumePath = path.resolve(args.volume);
const name = path.basename(volumePath).replace(/\.nii(\.gz)?$/, '');
const volumeDir = path.join(os.tmpdir(), `lowdose-series-${name}`);
if (!existsSync(volumeDir) || readdirSync(volumeDir).length === 0) {
  log(`writing ${volumePath} as a DICOM series into ${volumeDir}`);
  const { volume } = readNiftiVolume(volumePath);
  await writeVolumeSeries(volume, volumeDir, { uidSeed: `bench-${name}`, seriesDescription: `${name} (bench)` });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const time = async (run: () => Promise<unknown>) => {
  const started = performance.now();
  await run();
  return performance.now() - started;
};

const rows = [];
for (const dir of [...args.series.map((d) => path.resolve(d)), volumeDir]) {
  const series = (await scanPaths([dir])).series[0]!;
  const out = mkdtempSync(path.join(os.tmpdir(), 'lowdose-input-content-'));
  try {
    const first = await denoisePaths([dir], { outDir: out, method: 'gaussian', writeReport: false });
    const marker = path.join(first.series[0]!.output.dir, '.lowdose-complete.json');
    const withContent = readFileSync(marker, 'utf8');
    const { input: { content: _content, ...input }, ...rest } = JSON.parse(withContent) as { input: { content?: unknown } };
    const withoutContent = JSON.stringify({ ...rest, input });
    const read: number[] = [];
    const hashed: number[] = [];
    const rerun: number[] = [];
    const uncompared: number[] = [];
    for (let r = 0; r < repeats; r++) {
      clearSliceCache();
      read.push(await time(async () => {
        for (let i = 0; i < series.slices.length; i++) await readSliceImage(series, i);
      }));
      clearSliceCache();
      hashed.push(await time(() => readInputContent(series)));
      writeFileSync(marker, withContent);
      rerun.push(await time(() => denoisePaths([dir], { outDir: out, method: 'gaussian', writeReport: false })));
      writeFileSync(marker, withoutContent);
      uncompared.push(await time(() => denoisePaths([dir], { outDir: out, method: 'gaussian', writeReport: false })));
    }
    const row = {
      series: dir,
      slices: series.slices.length,
      size: `${series.columns}x${series.rows}`,
      readMs: Math.round(median(read)),
      readAndHashMs: Math.round(median(hashed)),
      rerunMs: Math.round(median(rerun)),
      rerunUncomparedMs: Math.round(median(uncompared)),
    };
    rows.push(row);
    log(JSON.stringify(row));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
if (args.json) console.log(JSON.stringify({ repeats, series: rows }, null, 2));

/**
 * What `POST /api/studies/refresh` costs over a data folder of many PET comparisons: --series IEC
 * phantom PET series (`lowdose phantom iec`, one study each) with their Gaussian-filtered outputs
 * (`denoise --method gaussian`, report.json and all), indexed by the server's DataIndex
 * (src/server/data/data-index.ts) in this process: one cold refresh, then --repeats refreshes with
 * nothing changed, then one after a single output file is rewritten. Per refresh: wall time, this
 * process's CPU time (user + system: on a shared machine other processes inflate wall time, less
 * so CPU time), and the files opened for reading (fs open / openSync, patched), DICOM files among them.
 *
 *   npx tsx scripts/bench/index-refresh.ts [--series 50] [--size 32] [--slices 4] [--repeats 5]
 */
import fs from 'node:fs';
import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DataIndex } from '../../src/server/data/data-index.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { runPhantom } from '../../src/pipeline/phantom.js';

const { values } = parseArgs({
  options: {
    series: { type: 'string', default: '50' },
    size: { type: 'string', default: '32' },
    slices: { type: 'string', default: '4' },
    repeats: { type: 'string', default: '5' },
  },
});
const count = Number(values.series);
const size = Number(values.size);
const slices = Number(values.slices);

// Every file the process opens for reading, by name (the index's DICOM parser uses both calls).
const opened: string[] = [];
const openPromise = fs.promises.open;
const openSync = fs.openSync;
fs.promises.open = ((file: fs.PathLike, ...rest: unknown[]) => {
  opened.push(String(file));
  return (openPromise as (...a: unknown[]) => unknown)(file, ...rest);
}) as typeof fs.promises.open;
fs.openSync = ((file: fs.PathLike, ...rest: unknown[]) => {
  opened.push(String(file));
  return (openSync as (...a: unknown[]) => number)(file, ...rest);
}) as typeof fs.openSync;
syncBuiltinESMExports();

const root = await mkdtemp(path.join(os.tmpdir(), 'lowdose-index-refresh-'));
try {
  const inputs: string[] = [];
  for (let i = 0; i < count; i++) {
    const dir = path.join(root, 'pet', `s${String(i).padStart(3, '0')}`);
    await runPhantom('iec', { outDir: dir, size, slices, uidSeed: `index-refresh-${i}` });
    inputs.push(dir);
  }
  const report = await denoisePaths(inputs, { outDir: path.join(root, 'denoised'), method: 'gaussian' });
  const index = new DataIndex([root]);
  const refresh = async (label: string): Promise<{ ms: number; cpuMs: number }> => {
    opened.length = 0;
    const started = performance.now();
    const cpu = process.cpuUsage();
    await index.refresh();
    const used = process.cpuUsage(cpu);
    const ms = performance.now() - started;
    const cpuMs = (used.user + used.system) / 1000;
    const dicom = opened.filter((f) => f.endsWith('.dcm')).length;
    console.log(`${label}: ${ms.toFixed(0)} ms (CPU ${cpuMs.toFixed(0)} ms), ${opened.length} files opened (${dicom} DICOM)`);
    return { ms, cpuMs };
  };
  await refresh('cold refresh');
  const unchanged: Array<{ ms: number; cpuMs: number }> = [];
  for (let r = 0; r < Number(values.repeats); r++) unchanged.push(await refresh(`refresh ${r + 1}, nothing changed`));
  const median = (a: readonly number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  const comparisons = index.studies().studies.reduce((n, s) => n + s.comparisons.length, 0);
  console.log(
    `${comparisons} comparisons of ${report.series.length} denoised PET series; nothing changed: median ${median(unchanged.map((u) => u.ms)).toFixed(0)} ms, ` +
      `CPU ${median(unchanged.map((u) => u.cpuMs)).toFixed(0)} ms`,
  );
  // One output file rewritten (its mtime moved): that series is read again, the rest is not.
  const touched = report.series[0]!.output.files[0]!;
  const later = new Date(Date.now() + 5000);
  await utimes(touched, later, later);
  await refresh('refresh after one output file changed');
} finally {
  await rm(root, { recursive: true, force: true });
}

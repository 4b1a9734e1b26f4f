/**
 * What a rerun of `lowdose denoise` costs when every series in -o is already finished (completion
 * markers, src/pipeline/output-markers.ts): --series body phantom CT series denoised once into one
 * -o by the first --bin, then rerun by each --bin --repeats times, alternating. Per rerun: wall
 * time, peak resident memory (GNU time's maximum RSS, where /usr/bin/time is installed) and whether
 * every series was skipped. A build that decides from the model card (planSliceDenoiser) loads no
 * model for such a rerun; one that loads it pays the ONNX session on its worker thread.
 *
 *   npx tsx scripts/bench/finished-rerun.ts --bin <old build>/bin/lowdose.js --bin bin/lowdose.js
 *     [--series 4] [--size 64] [--slices 2] [--model lowdose-ct] [--repeats 5]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runPhantom } from '../../src/pipeline/phantom.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { runTimed } from './timed-cli.js';

const { values } = parseArgs({
  options: {
    bin: { type: 'string', multiple: true },
    series: { type: 'string', default: '4' },
    size: { type: 'string', default: '64' },
    slices: { type: 'string', default: '2' },
    model: { type: 'string', default: 'lowdose-ct' },
    repeats: { type: 'string', default: '5' },
  },
});
const bins = (values.bin ?? ['bin/lowdose.js']).map((b) => path.resolve(b));
const root = await mkdtemp(path.join(os.tmpdir(), 'lowdose-finished-rerun-'));
try {
  const inputs: string[] = [];
  for (let i = 0; i < Number(values.series); i++) {
    const dir = path.join(root, 'in', `s${i}`);
    await runPhantom('body', { outDir: dir, size: Number(values.size), slices: Number(values.slices), seed: i + 1, uidSeed: `finished-rerun-${i}` });
    inputs.push(dir);
  }
  const args = ['denoise', ...inputs, '-o', path.join(root, 'out'), '--model', values.model, '--steps', '1', '--json', '--no-progress'];
  const first = await runTimed(bins[0]!, args, process.env);
  if (first.code !== 0) throw new Error(`first run failed (${first.code}): ${first.stderr.slice(-2000)}`);
  console.log(`first run (${path.relative(process.cwd(), bins[0]!)}): ${first.ms.toFixed(0)} ms`);
  const times = new Map<string, number[]>(bins.map((b) => [b, []]));
  for (let r = 0; r < Number(values.repeats); r++) {
    for (const bin of bins) {
      const run = await runTimed(bin, args, process.env);
      const report = JSON.parse(run.stdout) as DenoiseReport;
      const allSkipped = run.code === 0 && report.series.length === inputs.length && report.series.every((s) => s.skipped === true);
      times.get(bin)!.push(run.ms);
      console.log(`${path.relative(process.cwd(), bin)}: ${run.ms.toFixed(0)} ms, peak RSS ${run.peakRssKib === null ? '?' : `${Math.round(run.peakRssKib / 1024)} MiB`}, ${allSkipped ? 'every series skipped' : `exit ${run.code}, not all skipped`}`);
    }
  }
  const median = (a: readonly number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  for (const [bin, ms] of times) console.log(`${path.relative(process.cwd(), bin)}: median ${median(ms).toFixed(0)} ms over ${ms.length} reruns of ${inputs.length} finished series`);
} finally {
  await rm(root, { recursive: true, force: true });
}

/**
 * Turns `lowdose bench --json` output into the Markdown tables of docs/benchmarks.md.
 *
 * Run: node bin/lowdose.js bench --json > /tmp/bench.json && npx tsx scripts/experiments/bench-table.ts /tmp/bench.json
 */
import { readFileSync } from 'node:fs';
import type { BenchReport } from '../../src/bench/index.js';

const file = process.argv[2];
if (!file) {
  console.error('usage: npx tsx scripts/experiments/bench-table.ts <bench.json>');
  process.exit(2);
}
const report = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
const m = report.machine;
// GPU times are a few ms: keep a decimal below 100 ms.
const ms = (v: number): string => v.toFixed(v < 100 ? 1 : 0);
// Reports from before the engine columns existed have none: print them only where every run has them.
const engine = report.runs.every((r) => typeof r.engineMsPerSlice === 'number');
const engineCells = (r: BenchReport['runs'][number]): string =>
  engine ? ` ${r.engineMsPerSlice.toFixed(2)} | ${r.engineCpuMsPerSlice?.toFixed(2) ?? 'n/a'} |` : '';
// Likewise the pipelined columns (two batches in flight, the network on a worker thread).
const pipelined = report.runs.every((r) => typeof r.networkIdleMsPerSlice === 'number');
const pipelinedCells = (r: BenchReport['runs'][number]): string =>
  pipelined ? ` ${ms(r.pipelinedMsPerSlice)} | ${r.networkIdleMsPerSlice.toFixed(2)} | ${r.networkThreadCpuMsPerSlice?.toFixed(2) ?? 'n/a'} |` : '';
const lines = [
  `Machine: ${m.cpuModel}, ${m.cpus} CPUs (nproc), ${m.memoryMb} MiB, ${m.platform}, node ${m.node}, onnxruntime-node ${m.onnxruntime}, ` +
    `${m.date.slice(0, 16).replace('T', ' ')} UTC, load average ${m.loadAverage} at start.`,
  '',
  `Headline (\`bench --json\`): ${report.model} on ${report.device}, ${report.size.join('x')}, ${report.steps} steps (${report.sampler}), batch ${report.batch}: ` +
    `**${report.msPerSlice} ms/slice**, ${report.slicesPerSecond} slices/s, peak RSS ${report.peakRssMb} MiB, total/model ${report.totalOverModel}` +
    (engine ? `, engine ${report.engineMsPerSlice} ms/slice (${report.engineCpuMsPerSlice ?? 'n/a'} ms CPU)` : '') +
    (pipelined ? `; two batches in flight ${report.pipelinedMsPerSlice} ms/slice, network idle ${report.networkIdleMsPerSlice} ms/slice.` : '.'),
  '',
  `| model | device | size | batch | steps | ms/slice | slices/s | model ms/slice | total/model |${engine ? ' engine ms/slice | engine CPU ms/slice |' : ''}${pipelined ? ' pipelined ms/slice | network idle ms/slice | network thread CPU ms/slice |' : ''} peak RSS MiB |`,
  `| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |${engine ? ' ---: | ---: |' : ''}${pipelined ? ' ---: | ---: | ---: |' : ''} ---: |`,
  ...report.runs.map(
    (r) =>
      `| ${r.model} | ${r.device} | ${r.size.join('x')} | ${r.batch} | ${r.steps} | ${ms(r.msPerSlice)} | ${r.slicesPerSecond.toFixed(2)} | ` +
      `${ms(r.modelMsPerSlice)} | ${r.totalOverModel?.toFixed(3) ?? 'n/a'} |${engineCells(r)}${pipelinedCells(r)} ${r.peakRssMb.toFixed(0)} |`,
  ),
  '',
  ...report.devices.map((d) => `- ${d.model}, \`--device ${d.requested}\`: ${d.used ? `ran on ${d.used}` : `unavailable: ${d.reason}`}`),
  // The runtime gives the same reasons for every model: list each once.
  ...[...new Set(report.devices.flatMap((d) => d.skipped.map((s) => `- ${s.device} passed over: ${s.reason}`)))],
];
console.log(lines.join('\n'));

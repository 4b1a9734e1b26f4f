/** The human form of a bench report: machine, devices, one table row per configuration. */
import type { BenchReport } from './run.js';
import { textTable } from '../util/text-table.js';

export function formatBenchReport(report: BenchReport): string {
  const m = report.machine;
  const lines = [
    `machine: ${m.cpuModel}, ${m.cpus} CPUs, ${m.memoryMb} MiB, ${m.platform}, node ${m.node}, onnxruntime-node ${m.onnxruntime ?? '?'}` +
      (report.threads ? `, ${report.threads} threads` : '') +
      `, load average ${m.loadAverage}`,
  ];
  for (const d of report.devices) {
    const skipped = d.skipped.map((s) => `${s.device} unavailable: ${s.reason}`);
    lines.push(`${d.model} --device ${d.requested}: ${d.used ? `ran on ${d.used}` : `unavailable: ${d.reason}`}`);
    for (const s of skipped) lines.push(`  ${s}`);
  }
  for (const s of report.skippedModels) lines.push(`${s.model}: skipped (${s.reason})`);
  const header = ['model', 'device', 'size', 'sampler', 'batch', 'steps', 'ms/slice', 'slices/s', 'model ms/slice', 'total/model', 'engine ms/slice', 'engine CPU ms/slice', 'pipelined ms/slice', 'network idle ms/slice', 'network thread CPU ms/slice', 'peak RSS MiB'];
  const rows = report.runs.map((r) => [
    r.model,
    r.device,
    `${r.size[0]}x${r.size[1]}`,
    [r.sampler, ...(r.consistency > 0 ? [`consistency ${r.consistency}`] : []), ...(r.orientations > 1 ? [`orientations ${r.orientations}`] : [])].join(' + '),
    String(r.batch),
    String(r.steps),
    r.msPerSlice.toFixed(1),
    r.slicesPerSecond.toFixed(2),
    r.modelMsPerSlice.toFixed(1),
    r.totalOverModel === null ? 'n/a' : r.totalOverModel.toFixed(3),
    r.engineMsPerSlice.toFixed(2),
    r.engineCpuMsPerSlice === null ? 'n/a' : r.engineCpuMsPerSlice.toFixed(2),
    r.pipelinedMsPerSlice.toFixed(1),
    r.networkIdleMsPerSlice.toFixed(2),
    r.networkThreadCpuMsPerSlice === null ? 'n/a' : r.networkThreadCpuMsPerSlice.toFixed(2),
    r.peakRssMb.toFixed(0),
  ]);
  lines.push('', ...table(header, rows));
  lines.push(
    '',
    `headline (${report.model}, ${report.device}, ${report.size.join('x')}, ${report.steps} steps, batch ${report.batch}): ` +
      `${report.msPerSlice} ms/slice, ${report.slicesPerSecond} slices/s, engine ${report.engineMsPerSlice} ms/slice ` +
      `(${report.engineCpuMsPerSlice ?? 'n/a'} ms CPU); two batches in flight (network on its ${report.networkThread} thread): ` +
      `${report.pipelinedMsPerSlice} ms/slice, network idle ${report.networkIdleMsPerSlice} ms/slice; peak RSS ${report.peakRssMb} MiB`,
  );
  return lines.join('\n');
}

/** Columns padded to their widest cell; a column whose every cell is a number (or n/a) right-aligned. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const numeric = (c: number) => rows.length > 0 && rows.every((r) => /^[\d.x/na-]+$/.test(r[c]!) && /\d/.test(r[c]!));
  return textTable(header.map((h, c) => ({ header: h, right: numeric(c) })), rows, { rule: true });
}

/**
 * Bytes on the wire per slice, as `lowdose serve` sends them uncompressed, gzip and brotli, and the
 * server time each takes.
 *
 *   npx tsx scripts/bench/slice-bytes.ts <folder>... [--repeat 5] [--json]
 *
 * Serves the folders with `buildApp` (no socket: `app.inject`), and for every series found asks
 * for its middle slice with `Accept-Encoding: identity`, `gzip` and `br`, checks that each decodes
 * to the same bytes, and prints bytes and the median time to answer (read from the server's slice
 * cache after the first request, so the time is encoding and compression).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { SeriesDetail, StudiesResponse } from '../../src/server/api-types.js';
import { buildApp } from '../../src/server/app.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const repeat = option('--repeat', 5);
const json = args.includes('--json');
const folders = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--repeat');
if (folders.length === 0) {
  process.stderr.write('usage: npx tsx scripts/bench/slice-bytes.ts <folder>... [--repeat 5] [--json]\n');
  process.exit(2);
}

const work = mkdtempSync(path.join(os.tmpdir(), 'lowdose-slice-bytes-'));
const app = await buildApp({ data: folders, workDir: work });
try {
  const { studies } = (await app.inject({ url: '/api/studies' })).json() as StudiesResponse;
  const rows: Array<Record<string, unknown>> = [];
  for (const summary of studies.flatMap((s) => s.series)) {
    const series = (await app.inject({ url: `/api/series/${summary.id}` })).json() as SeriesDetail;
    const url = `/api/series/${series.id}/slices/${Math.floor(series.slices / 2)}?v=${series.rev}`;
    const row: Record<string, unknown> = { series: series.description || series.id, size: `${series.rows}x${series.columns}`, units: series.units };
    let identity: Buffer | null = null;
    for (const encoding of ['identity', 'gzip', 'br'] as const) {
      const times: number[] = [];
      let body: Buffer = Buffer.alloc(0);
      for (let k = 0; k < repeat + 1; k++) {
        const started = performance.now();
        const response = await app.inject({ url, headers: { 'accept-encoding': encoding } });
        if (k > 0) times.push(performance.now() - started);
        body = response.rawPayload;
        const sent = response.headers['content-encoding'] ?? 'identity';
        if (sent !== encoding) throw new Error(`${url}: asked for ${encoding}, got ${String(sent)}`);
      }
      const plain = encoding === 'gzip' ? zlib.gunzipSync(body) : encoding === 'br' ? zlib.brotliDecompressSync(body) : body;
      identity ??= plain;
      if (!plain.equals(identity)) throw new Error(`${url}: ${encoding} does not decode to the uncompressed slice`);
      times.sort((a, b) => a - b);
      row[encoding] = { bytes: body.length, ratio: Number((body.length / identity.length).toFixed(3)), ms: Number(times[Math.floor(times.length / 2)]!.toFixed(1)) };
    }
    rows.push(row);
    if (!json) process.stdout.write(`${JSON.stringify(row)}\n`);
  }
  if (json) process.stdout.write(`${JSON.stringify({ slices: rows })}\n`);
} finally {
  await app.close();
  rmSync(work, { recursive: true, force: true });
}

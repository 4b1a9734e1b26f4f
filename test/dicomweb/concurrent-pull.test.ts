/**
 * Two `denoise <URL>` runs of one study pull into the same folder (util/pull-cache.ts) side by side
 * (util/folder-claims.ts only keeps the folder until the last one is done). Here two real node
 * processes run pullSeries (src/dicomweb/study.ts) into one folder against a DICOMweb server that
 * answers each instance only once both have asked for it, so both write the same instance at the
 * same moment. Each must succeed and every file must be whole; with one shared temporary name
 * (`<uid>.dcm.part`) the second writer truncated the first's file and its rename failed (ENOENT).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildMultipart } from '../../src/dicomweb/multipart.js';
import { seriesCacheDir } from '../../src/util/pull-cache.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-concurrent-pull-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const STUDY = '1.2.826.0.1.3680043.8.498.1';
const SERIES = '1.2.826.0.1.3680043.8.498.2';
const UIDS = Array.from({ length: 8 }, (_, i) => `1.2.826.0.1.3680043.8.498.3.${i + 1}`);
/** Large enough that two writes of one instance overlap in time. */
const INSTANCE_BYTES = 8 * 1024 * 1024;
/** How long an instance's answer waits for the second reader at most. */
const BARRIER_MS = 1500;

/** The bytes of an instance: its UID's digest repeated, so each file's content can be checked. */
const instanceBytes = (uid: string): Buffer => Buffer.alloc(INSTANCE_BYTES, createHash('sha256').update(uid).digest());

/**
 * A DICOMweb server of one series whose instance answers wait until `readers` requests for that
 * instance have arrived, then go out together.
 */
async function startBarrierServer(readers: number): Promise<{ base: string; close: () => Promise<void> }> {
  const waiting = new Map<string, http.ServerResponse[]>();
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    if (url === `/studies/${STUDY}/series/${SERIES}/instances`) {
      res.writeHead(200, { 'content-type': 'application/dicom+json' }).end(JSON.stringify(UIDS.map((uid) => ({ '00080018': { vr: 'UI', Value: [uid] } }))));
      return;
    }
    const uid = UIDS.find((u) => url === `/studies/${STUDY}/series/${SERIES}/instances/${u}`);
    if (!uid) {
      res.writeHead(404).end();
      return;
    }
    const queue = [...(waiting.get(uid) ?? []), res];
    waiting.set(uid, queue);
    const answer = () => {
      if (waiting.get(uid) !== queue) return;
      waiting.delete(uid);
      const { body, contentType } = buildMultipart([instanceBytes(uid)]);
      for (const r of queue) r.writeHead(200, { 'content-type': contentType }).end(body);
    };
    // A reader that stopped (a failed run) must not hold the other one up for ever.
    if (queue.length < readers) setTimeout(answer, BARRIER_MS);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** One `denoise <URL>` run's pull, in its own process: prints {ok, retrieved} or {ok: false, message}. */
const PULLER = `
const { DicomwebClient } = await import('./src/dicomweb/client.ts');
const { pullSeries } = await import('./src/dicomweb/study.ts');
const [base, dir] = process.argv.slice(1);
const series = { studyInstanceUid: '${STUDY}', seriesInstanceUid: '${SERIES}', modality: 'CT', description: '', seriesNumber: 1, instances: ${UIDS.length}, url: base + '/studies/${STUDY}/series/${SERIES}' };
const client = new DicomwebClient({ retries: 0, timeoutMs: 30000 });
// Loaded: say so and wait for the word, so that both runs ask for the series together.
console.log('ready');
await new Promise((resolve) => process.stdin.once('data', resolve));
try {
  const pulled = await pullSeries(client, series, dir);
  console.log(JSON.stringify({ ok: true, retrieved: pulled.retrieved }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, message: String(error && error.message) }));
} finally {
  await client.close();
}
`;

interface PullResult {
  readonly ok: boolean;
  readonly retrieved?: number;
  readonly message?: string;
}

/** Starts a puller; `ready` resolves once it has loaded, `go()` lets it pull, `done` is its result. */
function startPuller(base: string, dir: string): { ready: Promise<void>; go: () => void; done: Promise<PullResult> } {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', PULLER, base, dir], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let loaded: () => void;
  const ready = new Promise<void>((resolve) => (loaded = resolve));
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    if (stdout.startsWith('ready\n')) loaded();
  });
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<PullResult>((resolve, reject) =>
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`puller exited ${code}: ${stderr}`));
      else resolve(JSON.parse(line) as PullResult);
    }),
  );
  return { ready, go: () => child.stdin.end('go\n'), done };
}

describe('two runs pulling one series into one folder at the same time', () => {
  it('both succeed, every instance file is whole and no temporary is left behind', async () => {
    const server = await startBarrierServer(2);
    const dir = path.join(root, 'pull');
    try {
      const pullers = [startPuller(server.base, dir), startPuller(server.base, dir)];
      await Promise.all(pullers.map((p) => p.ready));
      for (const p of pullers) p.go();
      const results = await Promise.all(pullers.map((p) => p.done));
      expect(results.map((r) => r.message ?? 'ok')).toEqual(['ok', 'ok']);
      // Both asked for every instance (none was on disk when they listed the series).
      expect(results.map((r) => r.retrieved)).toEqual([UIDS.length, UIDS.length]);
      const seriesDir = seriesCacheDir(dir, SERIES);
      expect(readdirSync(seriesDir).sort()).toEqual(UIDS.map((uid) => `${uid}.dcm`).sort());
      for (const uid of UIDS) {
        const bytes = readFileSync(path.join(seriesDir, `${uid}.dcm`));
        expect(bytes.equals(instanceBytes(uid)), uid).toBe(true);
      }
    } finally {
      await server.close();
    }
  }, 30_000);
});

/**
 * Memory of the C-MOVE storage SCP (src/dimse/store-scp.ts) under a hostile sender: this process
 * runs the SCP, a child process sends, and the SCP's resident memory is sampled every 10 ms.
 *
 *   npx tsx scripts/bench/store-scp-memory.ts --attack pdu --mib 256
 *     a P-DATA-TF header announcing 4 GiB, then --mib MiB of zeros as fast as the SCP takes them
 *   npx tsx scripts/bench/store-scp-memory.ts --attack instance --mib 256 [--max-instance-mib 1024] [--associations N]
 *     one C-STORE of a CT-like instance with --mib MiB of pixel data (test/helpers/store-sender.ts),
 *     on each of N associations opened at once (default 1)
 *
 * Received instances are kept as denoise keeps them (cacheStore: Part 10 files under a pull folder,
 * here a temporary folder removed at the end). Prints the SCP's resident memory before, its peak,
 * how each sender's C-STORE ended and what the SCP reports (refused connections, failure, counts,
 * the sizes of the files kept).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startStoreScp } from '../../src/dimse/store-scp.js';
import { cacheStore } from '../../src/dimse/study.js';
import { seriesCacheDir } from '../../src/util/pull-cache.js';
import { storeInstance } from '../../test/helpers/store-sender.js';

const { values } = parseArgs({
  options: {
    attack: { type: 'string', default: 'pdu' },
    mib: { type: 'string', default: '256' },
    'max-instance-mib': { type: 'string' },
    associations: { type: 'string', default: '1' },
    role: { type: 'string', default: 'scp' },
    port: { type: 'string' },
  },
});
const MiB = 2 ** 20;
const bytes = Number(values.mib) * MiB;

async function sendPdu(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunk = Buffer.alloc(MiB);
    let written = 0;
    const header = Buffer.from([0x04, 0, 0xff, 0xff, 0xff, 0xf0]);
    socket.on('error', () => {});
    socket.on('close', () => resolve(`closed by the SCP after ${(written / MiB).toFixed(1)} MiB written`));
    const pump = () => {
      while (written < bytes) {
        const ok = socket.write(written === 0 ? header : chunk);
        written += written === 0 ? header.length : chunk.length;
        if (!ok) return void socket.once('drain', pump);
      }
      socket.end(() => resolve(`all ${(written / MiB).toFixed(1)} MiB written, the SCP kept the connection`));
    };
    socket.on('connect', pump);
  });
}

async function sendInstance(port: number, index: number): Promise<string> {
  const { status, error } = await storeInstance(port, bytes, { sopInstanceUid: `1.2.3.4.${index + 1}`, callingAet: 'HOSTILE', calledAet: 'LOWDOSE', timeoutMs: 60_000 });
  if (error !== null) return `network error: ${error}`;
  return status === null ? 'no C-STORE answer (association ended)' : `C-STORE answered 0x${status.toString(16).padStart(4, '0')}`;
}

/** Each of `count` associations' outcome, the same ones counted together: "2 x C-STORE answered 0x0000". */
async function sendInstances(port: number, count: number): Promise<string> {
  const outcomes = await Promise.all(Array.from({ length: count }, (_, i) => sendInstance(port, i)));
  const tally = new Map<string, number>();
  for (const o of outcomes) tally.set(o, (tally.get(o) ?? 0) + 1);
  return [...tally].map(([o, n]) => (count === 1 ? o : `${n} x ${o}`)).join('; ');
}

if (values.role === 'sender') {
  const port = Number(values.port);
  const outcome = values.attack === 'pdu' ? await sendPdu(port) : await sendInstances(port, Number(values.associations));
  process.stdout.write(outcome);
  process.exit(0);
}

const port = await new Promise<number>((resolve) => {
  const probe = net.createServer().listen(0, '127.0.0.1', () => {
    const { port: p } = probe.address() as net.AddressInfo;
    probe.close(() => resolve(p));
  });
});
const pullFolder = mkdtempSync(path.join(os.tmpdir(), 'lowdose-bench-scp-'));
// pullSeries makes the folder of the series it retrieves before the C-MOVE: the sender's series (test/helpers/store-sender.ts).
mkdirSync(seriesCacheDir(pullFolder, '1.2.3.4'));
const scp = await startStoreScp(port, 'LOWDOSE', cacheStore(pullFolder), 60_000, {
  peerAddresses: ['127.0.0.1'],
  ...(values['max-instance-mib'] ? { maxInstanceBytes: Number(values['max-instance-mib']) * MiB } : {}),
});
global.gc?.();
const before = process.memoryUsage().rss;
let peak = before;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
const started = performance.now();
const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--role', 'sender', '--attack', values.attack!, '--mib', values.mib!, '--associations', values.associations!, '--port', String(port)], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let outcome = '';
child.stdout.on('data', (d) => (outcome += String(d)));
await new Promise((resolve) => child.on('exit', resolve));
await new Promise((resolve) => setTimeout(resolve, 500));
clearInterval(sampler);
await scp.close();
const keptFiles = readdirSync(pullFolder, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
const keptBytes = keptFiles.map((e) => statSync(path.join(e.parentPath, e.name)).size);
const leftBehind = keptFiles.filter((e) => !e.name.endsWith('.dcm') || e.name.startsWith('.')).map((e) => e.name);
rmSync(pullFolder, { recursive: true, force: true });
console.log(
  JSON.stringify(
    {
      attack: values.attack,
      sentMiB: Number(values.mib),
      associations: Number(values.associations),
      seconds: +((performance.now() - started) / 1000).toFixed(1),
      rssBeforeMiB: +(before / MiB).toFixed(0),
      rssPeakMiB: +(peak / MiB).toFixed(0),
      sender: outcome,
      refused: scp.refused ?? null,
      failure: scp.failure?.message ?? null,
      counts: scp.counts,
      keptBytes,
      leftBehind,
    },
    null,
    2,
  ),
);
process.exit(0);

/**
 * How long a cheap request waits while the server does a heavy one: sends one slow request (a
 * large figure, say) to a running `lowdose serve` and, from just before it until it is answered, a
 * `GET /api/health` every `--every` ms; prints the slow request's time and the health checks'
 * worst and median latency. A server whose event loop stays free answers them in a few ms.
 *
 *   npx tsx scripts/bench/event-loop.ts <server url> <slow path> [--every 50] [--post <json body>]
 *
 * e.g. `npx tsx scripts/bench/event-loop.ts http://127.0.0.1:8080 '/api/figure.png?series=<id>'`
 * (docs/viewer.md, "Limits per request", has the numbers and how they were measured).
 */
import http from 'node:http';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const every = Number(option('--every') ?? 50);
const body = option('--post');
const [base, slowPath] = args.filter((a, i) => !a.startsWith('--') && !['--every', '--post'].includes(args[i - 1] ?? ''));
if (!base || !slowPath) {
  process.stderr.write('usage: npx tsx scripts/bench/event-loop.ts <server url> <slow path> [--every 50] [--post <json body>]\n');
  process.exit(2);
}

/**
 * One request, its body read and dropped as it comes (a 100 MB figure is not held in this process,
 * whose event loop times the health checks too); compressed as a browser asks.
 */
function timed(path: string, post?: string): Promise<{ ms: number; status: number; bytes: number }> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'accept-encoding': 'gzip, deflate, br' };
    if (post !== undefined) headers['content-type'] = 'application/json';
    const request = http.request(new URL(path, base), { method: post === undefined ? 'GET' : 'POST', headers }, (response) => {
      let bytes = 0;
      response.on('data', (chunk: Buffer) => (bytes += chunk.length));
      response.on('end', () => resolve({ ms: performance.now() - start, status: response.statusCode ?? 0, bytes }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(post);
  });
}

// Warm: the server's threads started and the health route compiled before anything is measured.
await timed('/api/health');
const latencies: number[] = [];
const pending: Array<Promise<void>> = [];
let slowDone = false;
const tick = setInterval(() => {
  if (slowDone) return;
  pending.push(timed('/api/health').then((r) => void latencies.push(r.ms)));
}, every);
const slow = await timed(slowPath, body);
slowDone = true;
clearInterval(tick);
await Promise.all(pending);
latencies.sort((a, b) => a - b);
const median = latencies.length ? latencies[Math.floor(latencies.length / 2)]! : NaN;
const worst = latencies.length ? latencies[latencies.length - 1]! : NaN;
process.stdout.write(
  `${slowPath}: ${slow.status}, ${slow.bytes} bytes (as sent, compressed) in ${slow.ms.toFixed(0)} ms\n` +
    `GET /api/health every ${every} ms meanwhile: ${latencies.length} answered, worst ${worst.toFixed(0)} ms, median ${median.toFixed(1)} ms\n`,
);

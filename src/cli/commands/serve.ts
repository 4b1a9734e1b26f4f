/**
 * `lowdose serve [--host 127.0.0.1] [--port 8080] [--data <dir>...] [--work <dir>] [--models <dir>...]
 * [--dicomweb <url> --dicomweb-auth ... | --dimse dimse://AET@host:port --calling-aet ... --move-port ...]`:
 * the comparison viewer and its API (docs/viewer.md), and with --dicomweb or --dimse the studies of
 * that PACS (docs/pacs.md), one PACS per server. The only place the server listens; it runs until
 * SIGINT / SIGTERM, finishing running jobs' cancellation before it exits 130 / 143.
 */
import type { Command } from 'commander';
import { LowdoseError } from '../../errors.js';
import { parseDicomwebBase } from '../../dicomweb/url.js';
import { parseDimseUrl, type DimsePeer } from '../../dimse/url.js';
import { flagList, optionsGiven } from '../pacs-option-scope.js';
import { addDicomwebOptions, DICOMWEB_OPTION_FLAGS, dicomwebClientOptions, type DicomwebCliOptions } from '../dicomweb-options.js';
import { addDimseOptions, addMoveOptions, DIMSE_OPTION_FLAGS, dimseClientOptions, MOVE_OPTION_FLAGS, moveOptions, type DimseCliOptions, type MoveCliOptions } from '../dimse-options.js';
import { DEFAULT_MAX_JOB_PASSES, DEFAULT_PASS_WEIGHT } from '../../pipeline/compute-budget.js';
import { MEMORY_BUDGET_ENV, parseMemorySize } from '../../pipeline/memory-budget.js';
import { formatBytes } from '../../util/bytes.js';
import { buildApp, LOOPBACK_HOSTS } from '../../server/app.js';
import { DEFAULT_HOST, DEFAULT_PORT, defaultDataDirs, defaultWorkDir, PACS_CACHE_BYTES, parseAllowedHost, parsePacsCacheSize, parseTrustedProxy } from '../../server/config.js';
import { openQueue } from '../../queue/batch.js';
import { describeTarget, parseRedisUrl } from '../../queue/connection.js';
import { queueRunner } from '../../queue/runner.js';
import type { CommandRegistrar } from '../command.js';
import { createOutput, parseIntOption, usageError } from '../output.js';
import { SIGNAL_EXIT, startUnlessStopped, stopOnSignal } from '../stop-on-signal.js';
import { collect, collectParsed } from '../repeatable-options.js';

interface ServeOptions extends DicomwebCliOptions, DimseCliOptions, MoveCliOptions {
  dicomweb?: string;
  dimse?: string;
  host: string;
  port: number;
  data?: string[];
  work?: string;
  models?: string[];
  memoryBudget?: number;
  maxJobPasses?: number;
  pacsCacheSize?: number;
  redis?: string;
  quiet?: boolean;
  json?: boolean;
  trustProxy?: string[];
  allowHost?: string[];
}

/** The Host names answered: loopback's (and --host's), plus --allow-host's; null (any) for a non-loopback --host alone. */
function allowedHosts(opts: ServeOptions, loopback: boolean): readonly string[] | null {
  if (opts.allowHost === undefined) return loopback ? LOOPBACK_HOSTS : null;
  const host = opts.host.toLowerCase();
  return [...new Set([...LOOPBACK_HOSTS, ...(loopback ? [] : [host.includes(':') && !host.startsWith('[') ? `[${host}]` : host]), ...opts.allowHost])];
}

/** The PACS of --dimse: its address alone (the viewer picks studies and series). */
function servedPeer(url: string): DimsePeer {
  const target = parseDimseUrl(url);
  if (target.studyInstanceUid !== null) throw usageError(`--dimse ${url}: give the PACS's address (dimse://<AE title>@host:port), without UIDs; the viewer lists its studies`);
  return { aet: target.aet, host: target.host, port: target.port };
}

export const register: CommandRegistrar = (program: Command, setExitCode) => {
  const command = program
    .command('serve')
    .description('start the web viewer and API (default http://127.0.0.1:8080)')
    .option('--host <host>', 'address to listen on; anything but loopback exposes patient images to the network', DEFAULT_HOST)
    .option('--port <port>', 'TCP port (0: any free port)', parseIntOption('--port', 0, 65535), DEFAULT_PORT)
    .option('--data <dir>', 'folder of studies to serve; repeat for several (default: ./demo-output if present, and the fixtures)', collect)
    .option('--work <dir>', `where uploads and job outputs go (default ${defaultWorkDir()})`)
    .option('--models <dir>', 'extra folder of model cards that jobs may name; repeat for several', collect)
    .option(
      '--memory-budget <size>',
      `memory one denoise job may use, e.g. 8G; bigger jobs are refused with 400 (default: $${MEMORY_BUDGET_ENV}, else half of this machine's memory)`,
      (text: string) => parseMemorySize(text, '--memory-budget'),
    )
    .option(
      '--max-job-passes <n>',
      `network work one denoise job may ask for, in 512²-equivalent lowdose-ct passes: each pass counts its pixels (tiles, padding and a fixed graph batch's filling as the network sees them) / 512², times the network's measured cost per pixel against lowdose-ct (the model card's quality.passCost, from scripts/bench/pass-cost.ts; ${DEFAULT_PASS_WEIGHT} where a card has none), so a lowdose-ct pass on a 512 x 512 slice is 1, on 1024 x 1024 4, a lowdose-ct-latent pass on a 512 x 512 slice about 0.23 (its 128 x 128 latent at weight about 3.6), and its encoder and decoder runs count too (slices x tiles x steps x samples x orientations, x 2 with guidance); bigger jobs are refused with 400 (default: ${DEFAULT_MAX_JOB_PASSES}, about 4 hours of lowdose-ct on 512 x 512 slices at the 112 to 117 ms a pass of an idle 2-core CPU, longer on a loaded one: docs/robustness.md)`,
      parseIntOption('--max-job-passes', 1, Number.MAX_SAFE_INTEGER),
    )
    .option('--redis <url>', 'run denoise jobs on the `lowdose worker`s of this Redis queue (workers must see --work at the same path)')
    .option(
      '--trust-proxy <address>',
      'a reverse proxy in front of this server (IP, CIDR range or loopback; repeat for several) whose X-Forwarded-For / -Proto / -Host headers are believed: per-client limits by the real client, writes from the https origin it serves',
      collectParsed(parseTrustedProxy),
    )
    .option('--allow-host <name>', 'a further host name requests may address (repeat for several), e.g. the name a reverse proxy passes on in Host; with it, only these, loopback and --host are answered', collectParsed(parseAllowedHost))
    .option('--quiet', 'log warnings and errors only')
    .option('--json', 'print { "url" } on stdout once listening')
    .option('--dicomweb <url>', 'DICOMweb server whose studies the viewer lists, opens and stores denoised series to (QIDO-RS / WADO-RS / STOW-RS); its credentials stay on this server')
    .option('--dimse <url>', 'DIMSE PACS (dimse://<AE title>@host:port) whose studies the viewer lists (C-FIND), opens (C-GET, or C-MOVE with --move-port) and stores denoised series to (C-STORE); not with --dicomweb: one PACS per server')
    .option(
      '--pacs-cache-size <size>',
      `with --dicomweb or --dimse: room on disk for the series pulled from the PACS that later opens and servers on this --work reuse (<work>/pacs-cache), e.g. 20G; the least recently opened go first; 0: no cache, each series opened is pulled anew (default: ${formatBytes(PACS_CACHE_BYTES)})`,
      parsePacsCacheSize,
    );
  addMoveOptions(addDimseOptions(addDicomwebOptions(command)), 'with --dimse').action(async (opts: ServeOptions) => {
    const out = createOutput(Boolean(opts.json));
    const data = opts.data ?? defaultDataDirs();
    const loopback = LOOPBACK_HOSTS.includes(opts.host.toLowerCase());
    if (opts.dicomweb !== undefined && opts.dimse !== undefined) throw usageError('--dicomweb and --dimse: a server browses one PACS; start one server for each');
    if (opts.pacsCacheSize !== undefined && opts.dicomweb === undefined && opts.dimse === undefined) throw usageError('--pacs-cache-size goes with --dicomweb or --dimse (the cache holds series pulled from a PACS)');
    for (const [flag, given] of [
      ['--dicomweb <url>', opts.dicomweb !== undefined ? [] : optionsGiven(command, DICOMWEB_OPTION_FLAGS)],
      ['--dimse dimse://<AE title>@host:port', opts.dimse !== undefined ? [] : optionsGiven(command, [...DIMSE_OPTION_FLAGS, ...MOVE_OPTION_FLAGS])],
    ] as const) {
      if (given.length > 0) throw usageError(`${flagList(given)} go${given.length === 1 ? 'es' : ''} with ${flag}`);
    }
    // Retry messages go to the server log like its other warnings (never the credentials).
    const dicomweb = opts.dicomweb !== undefined ? { base: parseDicomwebBase(opts.dicomweb), client: dicomwebClientOptions(opts, () => {}) } : null;
    const dimse = opts.dimse !== undefined ? { peer: servedPeer(opts.dimse), options: { ...dimseClientOptions(opts), ...moveOptions(opts) } } : null;
    const target = opts.redis !== undefined ? parseRedisUrl(opts.redis) : null;
    // The one SIGINT / SIGTERM handler of the server's life: before it listens it stops the wait for
    // Redis (E_CANCELLED), once it listens it closes the server; either way the exit status is the
    // signal's (130 / 143), as every other command's.
    const stop = stopOnSignal('the server', (message) => out.info(message), 'running jobs are cancelled and PACS requests in flight stopped, then it exits');
    let queue: Awaited<ReturnType<typeof openQueue>> | null = null;
    if (target) {
      queue = await startUnlessStopped(stop, out, setExitCode, (signal) => openQueue(target, signal), (why) => `the server did not start: ${why}; nothing was served`).catch((error: unknown) => {
        stop.dispose();
        throw error;
      });
      if (queue === null) return stop.dispose();
    }
    let pooled = 0;
    const app = await buildApp({
      // With a queue, the workers bound how many jobs run: the server does not hold them back
      // one per device (each job is its own device queue here).
      ...(queue ? { denoise: queueRunner(queue), queueDevice: () => `pool-${++pooled}` } : {}),
      data,
      ...(opts.work ? { workDir: opts.work } : {}),
      ...(opts.models ? { modelDirs: opts.models } : {}),
      ...(opts.memoryBudget !== undefined ? { memoryBudget: opts.memoryBudget } : {}),
      ...(opts.maxJobPasses !== undefined ? { maxJobPasses: opts.maxJobPasses } : {}),
      ...(opts.pacsCacheSize !== undefined ? { pacsCacheBytes: opts.pacsCacheSize } : {}),
      ...(dicomweb ? { dicomweb } : {}),
      ...(dimse ? { dimse } : {}),
      // Logs go to stderr: stdout is for --json.
      logger: { level: opts.quiet ? 'warn' : 'info', stream: process.stderr },
      // Listening beyond loopback without --allow-host means the user chose which names reach it.
      allowedHosts: allowedHosts(opts, loopback),
      ...(opts.trustProxy ? { trustProxy: opts.trustProxy } : {}),
    });
    const address = await app.listen({ host: opts.host, port: opts.port });
    const url = address.replace('://[::1]', '://localhost');
    out.info(`lowdose viewer at ${url}  (data: ${data.length} folder(s); memory budget per job ${formatBytes(app.config.memoryBudget.bytes)}, at most ${app.config.maxJobPasses} 512²-equivalent lowdose-ct passes per job; Ctrl-C stops)`);
    if (target) out.info(`denoise jobs go to the workers on ${describeTarget(target)}`);
    if (app.pacs) {
      const cache = app.pacs.caching ? `PACS cache ${app.config.pacsCacheDir}, at most ${formatBytes(app.config.pacsCacheBytes)}` : 'no PACS cache';
      out.info(`studies from the ${app.pacs.protocol === 'dimse' ? `DIMSE PACS (${dimse?.options.movePort === undefined ? 'C-GET' : `C-MOVE to port ${dimse.options.movePort}`})` : 'DICOMweb server'} ${app.pacs.base} (${cache})`);
    }
    if (!loopback) out.warn(`listening on ${opts.host}: anyone who can reach this address can see the images`);
    if (!app.config.viewerDir) out.warn('the viewer is not built (run `npm run build`); only the API is served');
    out.result({ url });
    if (app.pacs) {
      // Told now rather than at the first search: a wrong password, an unknown AE title or an unreachable server.
      const pacs = app.pacs;
      // Stopped (the server stopping before the PACS answered): nothing to say of the PACS.
      void pacs.check().catch((error: unknown) => (error instanceof LowdoseError && error.code === 'E_CANCELLED') || out.warn(`the ${pacs.protocol === 'dimse' ? 'DIMSE PACS' : 'DICOMweb server'} does not answer as expected: ${(error as Error).message}`));
    }
    // Runs until the signal (at once if it came while the server started): the server closes first
    // (its jobs cancelled, its PACS requests stopped, its requests answered), then the queue.
    await new Promise<void>((resolve) => (stop.signal.aborted ? resolve() : stop.signal.addEventListener('abort', () => resolve(), { once: true })));
    await app.close();
    await queue?.close();
    stop.dispose();
    setExitCode(SIGNAL_EXIT[stop.received ?? 'SIGINT']);
  });
};

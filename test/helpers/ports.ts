/**
 * Loopback ports for the test servers (Orthanc, redis-server, storage SCPs). A port from
 * `freePort` is free when chosen and released at once, so another process may take it before the
 * server binds it: `withFreshPorts` starts the server again on fresh ports when it exits before it
 * is ready. `closedPort` is a port nothing can listen on while it is held: connecting to it is
 * refused, for the "nothing listens here" cases.
 */
import net from 'node:net';

/** Picks a port: `freePort` unless a test injects another chooser (e.g. one that returns a taken port first). */
export type PortChooser = () => Promise<number>;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Thrown by a start attempt whose server ended before it was ready (a taken port, typically): worth another try on fresh ports. */
export class ExitedBeforeReady extends Error {}

/**
 * Runs `start` with `count` ports from `choosePort`; when it throws ExitedBeforeReady, again with
 * fresh ports, `attempts` times in all. Any other error ends at once. When every attempt failed,
 * the error names the ports tried and the last attempt's message.
 */
export async function withFreshPorts<T>(
  what: string,
  count: number,
  start: (ports: number[]) => Promise<T>,
  { attempts = 4, choosePort = freePort }: { attempts?: number; choosePort?: PortChooser | undefined } = {},
): Promise<T> {
  const tried: number[][] = [];
  let last: ExitedBeforeReady | undefined;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const ports: number[] = [];
    for (let k = 0; k < count; k++) ports.push(await choosePort());
    tried.push(ports);
    try {
      return await start(ports);
    } catch (error) {
      if (!(error instanceof ExitedBeforeReady)) throw error;
      last = error;
    }
  }
  throw new Error(`${what} exited before it was ready on each of the ports tried (${tried.map((p) => p.join('+')).join(', ')}); last: ${last?.message}`);
}

/** A held port that nothing listens on: `release()` frees it. */
export interface ClosedPort {
  readonly port: number;
  release(): Promise<void>;
}

/**
 * A port no process can listen on until `release()`: the local end of a loopback connection this
 * process holds (bound, not listening), so connecting to it is refused and binding it fails with
 * EADDRINUSE. A port from `freePort` instead could be taken by another test's server, and then
 * answer.
 */
export async function closedPort(): Promise<ClosedPort> {
  const accepted: net.Socket[] = [];
  const server = net.createServer((socket) => accepted.push(socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    client.once('error', reject);
    client.once('connect', () => resolve());
  });
  return {
    port: client.localPort!,
    release: async () => {
      client.destroy();
      for (const socket of accepted) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * For a server the code under test opens itself on a port the test chose (the C-MOVE storage SCP
 * of `denoise --move-port`), which withFreshPorts cannot start for it: picks a port, lets `point`
 * tell the other side (the PACS's modality, a proxy's target), runs, and when `taken` says the port
 * was taken by the time the run bound it, does it all again on a fresh port, `attempts` times in
 * all; the last run's result is returned either way.
 */
export async function onFreshPort<T>(
  point: (port: number) => Promise<void> | void,
  run: (port: number) => Promise<T>,
  taken: (result: T, port: number) => boolean,
  { attempts = 4, choosePort = freePort }: { attempts?: number; choosePort?: PortChooser } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = await choosePort();
    await point(port);
    const result = await run(port);
    if (!taken(result, port) || attempt >= attempts) return result;
  }
}

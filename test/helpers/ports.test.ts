/**
 * The test servers come up even when another process takes the port chosen for them first: a
 * stand-in occupies the first port the injected chooser returns, and the helper must start on
 * another one, or say which ports it tried.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasRedis, startRedis } from '../queue/redis-server.js';
import { findOrthanc, startOrthanc } from './orthanc.js';
import { closedPort, freePort, onFreshPort, type PortChooser } from './ports.js';

/** A chooser that returns `taken` for its first `times` calls, then free ports; `asked` counts the calls. */
function takenFirst(taken: number, times: number): PortChooser & { asked: number } {
  const chooser = Object.assign(async () => (chooser.asked++ < times ? taken : freePort()), { asked: 0 });
  return chooser;
}

async function listening(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return (server.address() as net.AddressInfo).port;
}

function connectError(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

let dir: string;
let blocker: net.Server;
let taken: number;
/** An HTTP server on a taken port that answers every request 200 with a JSON object, as another Orthanc would. */
let impostor: http.Server;
let impostorPort: number;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-ports-'));
  blocker = net.createServer((socket) => socket.destroy());
  taken = await listening(blocker);
  impostor = http.createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"Name":"another server"}'));
  impostorPort = await listening(impostor);
});

afterAll(async () => {
  await new Promise((resolve) => blocker.close(resolve));
  await new Promise((resolve) => impostor.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!findOrthanc())('startOrthanc on a port another process took', () => {
  it('starts again on fresh ports when its HTTP port is taken', async () => {
    const chooser = takenFirst(taken, 1);
    const orthanc = await startOrthanc(path.join(dir, 'http-taken'), { choosePort: chooser });
    try {
      // At least two attempts of two ports: a fresh port from freePort can be taken by a parallel test
      // before Orthanc binds it, which costs another attempt (seen under the CI's load).
      expect(chooser.asked).toBeGreaterThanOrEqual(4);
      expect(chooser.asked % 2).toBe(0);
      expect(orthanc.http).not.toContain(`:${taken}`);
      expect((await orthanc.rest('/system')).ok).toBe(true);
    } finally {
      await orthanc.stop();
    }
  });

  it('starts again on fresh ports when its DICOM port is taken', async () => {
    const chooser: PortChooser & { asked: number } = Object.assign(async () => (chooser.asked++ === 1 ? taken : freePort()), { asked: 0 });
    const orthanc = await startOrthanc(path.join(dir, 'dicom-taken'), { choosePort: chooser });
    try {
      expect(chooser.asked).toBeGreaterThanOrEqual(4); // as above: another attempt when a fresh port was taken meanwhile
      expect(chooser.asked % 2).toBe(0);
      expect(orthanc.dicomPort).not.toBe(taken);
      expect(await connectError(orthanc.dicomPort)).toBe('connected');
    } finally {
      await orthanc.stop();
    }
  });

  it('does not take another HTTP server on its port for itself', async () => {
    const chooser = takenFirst(impostorPort, 1);
    const orthanc = await startOrthanc(path.join(dir, 'impostor'), { choosePort: chooser });
    try {
      expect(orthanc.http).not.toContain(`:${impostorPort}`);
      expect(((await (await orthanc.rest('/system')).json()) as { Name: string }).Name).toMatch(/^lowdose-test-/);
    } finally {
      await orthanc.stop();
    }
  });

  it('names the ports it tried when every attempt finds them taken', async () => {
    await expect(startOrthanc(path.join(dir, 'all-taken'), { choosePort: async () => taken })).rejects.toThrow(
      new RegExp(`Orthanc exited before it was ready on each of the ports tried \\(${Array(4).fill(`${taken}\\+${taken}`).join(', ')}\\); last: Orthanc exited .*already in use`, 's'),
    );
  });
});

describe.skipIf(!hasRedis)('startRedis on a port another process took', () => {
  it('starts again on a fresh port and answers there', async () => {
    const chooser = takenFirst(taken, 1);
    const redis = await startRedis({ choosePort: chooser });
    try {
      expect(chooser.asked).toBeGreaterThanOrEqual(2); // another attempt when a fresh port was taken meanwhile
      expect(redis.port).not.toBe(taken);
      expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
      const pong = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(redis.port, '127.0.0.1', () => socket.write('PING\r\n'));
        socket.once('data', (chunk) => {
          socket.destroy();
          resolve(chunk.toString());
        });
        socket.once('error', reject);
      });
      expect(pong).toBe('+PONG\r\n');
    } finally {
      await redis.stop();
    }
  });

  it('names the ports it tried when every attempt finds them taken', async () => {
    await expect(startRedis({ choosePort: async () => taken })).rejects.toThrow(
      new RegExp(`redis-server exited before it was ready on each of the ports tried \\(${Array(4).fill(taken).join(', ')}\\); last: .*Address already in use`, 's'),
    );
  });
});

describe('onFreshPort', () => {
  /** Listens on `port` as the code under test would, and says how it went. */
  const listenOn = (port: number) =>
    new Promise<string>((resolve) => {
      const server = net.createServer();
      server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve('listening')));
    });

  it('runs again on a fresh port, pointed there first, when the chosen one was taken by the time the run bound it', async () => {
    const chooser = takenFirst(taken, 1);
    const pointed: number[] = [];
    const result = await onFreshPort((port) => void pointed.push(port), listenOn, (outcome) => outcome === 'EADDRINUSE', { choosePort: chooser });
    expect(result).toBe('listening');
    expect(pointed).toHaveLength(2);
    expect(pointed[0]).toBe(taken);
    expect(pointed[1]).not.toBe(taken);
  });

  it('gives the last result after its attempts when every port is taken', async () => {
    const pointed: number[] = [];
    const result = await onFreshPort((port) => void pointed.push(port), listenOn, (outcome) => outcome === 'EADDRINUSE', { choosePort: async () => taken, attempts: 3 });
    expect(result).toBe('EADDRINUSE');
    expect(pointed).toEqual([taken, taken, taken]);
  });
});

describe('closedPort', () => {
  it('refuses connections and cannot be listened on while held', async () => {
    const nothing = await closedPort();
    try {
      expect(await connectError(nothing.port)).toBe('ECONNREFUSED');
      const server = net.createServer();
      const listenError = await new Promise<string>((resolve) => {
        server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
        server.listen(nothing.port, '127.0.0.1', () => server.close(() => resolve('listening')));
      });
      expect(listenError).toBe('EADDRINUSE');
    } finally {
      await nothing.release();
    }
  });
});

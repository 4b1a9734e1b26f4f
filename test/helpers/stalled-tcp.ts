/**
 * A TCP server that takes connections and reads what comes but never writes a byte (a hung Redis
 * behind a load balancer, a process stopped with SIGSTOP): the tests that stop a command waiting
 * for its peer's first answer see when the request came and when the client dropped the connection.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface StalledTcp {
  readonly port: number;
  /** Resolves once a client has sent its first bytes (it waits for the answer from then on). */
  readonly asked: Promise<void>;
  /** Resolves once a client has closed a connection it opened. */
  readonly dropped: Promise<void>;
  close(): Promise<void>;
}

export async function startStalledTcp(): Promise<StalledTcp> {
  const sockets = new Set<net.Socket>();
  let asked = () => {};
  let dropped = () => {};
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('data', () => asked());
    socket.on('close', () => {
      sockets.delete(socket);
      dropped();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    asked: new Promise<void>((resolve) => (asked = resolve)),
    dropped: new Promise<void>((resolve) => (dropped = resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A loopback TCP proxy that can turn into a black hole: while `blackhole()`
 * is on, bytes from either side are read and dropped, so each end keeps an
 * open connection that never hears back (a dead link that sent no reset, as
 * TCP sees a cable pulled or a NAT entry dropped). New connections are
 * forwarded again after `restore()`.
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  blackhole(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  /** Pairs whose traffic is dropped. */
  const holed = new WeakSet<Socket>();
  let holing = false;

  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    const relay = (from: Socket, to: Socket) =>
      from.on('data', (data: Buffer) => {
        if (!holed.has(from) && !to.destroyed) to.write(data);
      });
    relay(client, upstream);
    relay(upstream, client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    if (holing) {
      holed.add(client);
      holed.add(upstream);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    blackhole() {
      holing = true;
      for (const socket of sockets) holed.add(socket);
    },
    restore() {
      holing = false;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

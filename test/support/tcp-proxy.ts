/**
 * A TCP proxy on 127.0.0.1 that a test controls, for WebSocket clients whose
 * network fails: `cut()` drops every open connection and refuses new ones
 * (each is closed as soon as it arrives) until `resume()`; `delayMs` holds
 * every chunk that long in both directions (order kept); `target` says where
 * new connections go (another node). `blackhole()` turns it into a dead link
 * that sent no reset: bytes from either side of every open connection, and of
 * connections made until `restore()`, are read and dropped, so each end keeps
 * an open connection that never hears back (a pulled cable, a dropped NAT
 * entry). Connections made after `restore()` are forwarded again.
 */
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** `ws://127.0.0.1:<port>`, for a phoenix client's endpoint. */
  readonly wsBase: string;
  /** The port new connections are forwarded to. */
  target: number;
  /** Latency added to every chunk, each way, in ms. */
  delayMs: number;
  /** Connections accepted and forwarded so far. */
  readonly forwarded: number;
  /** Connections closed on arrival while cut. */
  readonly refused: number;
  readonly isCut: boolean;
  cut(): void;
  resume(): void;
  blackhole(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: number): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  /** Every socket not yet closed, so `close()` leaves nothing open whatever state a pair is in. */
  const sockets = new Set<Socket>();
  let cut = false;
  let holing = false;
  /** Sockets whose traffic is dropped: open at `blackhole()`, or made before `restore()`. */
  const holed = new WeakSet<Socket>();
  let forwarded = 0;
  let refused = 0;

  const pipe = (from: Socket, to: Socket): void => {
    from.on('data', (chunk: Buffer) => {
      if (holed.has(from)) return;
      if (proxy.delayMs <= 0) to.write(chunk);
      // The same delay for every chunk: timers of equal length fire in the order they were set.
      else setTimeout(() => to.destroyed || to.write(chunk), proxy.delayMs);
    });
  };

  const server = createServer((client) => {
    if (cut) {
      refused++;
      client.destroy();
      return;
    }
    forwarded++;
    client.setNoDelay(true);
    const upstream = connect(proxy.target, '127.0.0.1');
    upstream.setNoDelay(true);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    for (const socket of pair) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    }
    const drop = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of pair) {
      socket.on('error', drop);
      socket.on('close', drop);
    }
    if (holing) {
      holed.add(client);
      holed.add(upstream);
    }
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const proxy: TcpProxy = {
    port,
    wsBase: `ws://127.0.0.1:${port}`,
    target,
    delayMs: 0,
    get forwarded() {
      return forwarded;
    },
    get refused() {
      return refused;
    },
    get isCut() {
      return cut;
    },
    cut() {
      cut = true;
      for (const pair of pairs) {
        for (const socket of pair) {
          if (socket.destroyed) continue;
          // resetAndDestroy: the peers see the connection fail, as on a real network drop. A socket
          // that is no longer open both ways is only destroyed: Node 20 spins on resetAndDestroy of
          // one whose peer has already ended it (seen after a client had quit through the proxy).
          if (socket.readyState === 'open') socket.resetAndDestroy();
          else socket.destroy();
        }
      }
      pairs.clear();
    },
    resume() {
      cut = false;
    },
    blackhole() {
      holing = true;
      for (const [client, upstream] of pairs) {
        holed.add(client);
        holed.add(upstream);
      }
    },
    restore() {
      holing = false;
    },
    close() {
      proxy.cut();
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}

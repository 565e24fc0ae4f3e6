/**
 * A tiny HTTP proxy on 127.0.0.1 for long-poll tests: it forwards each
 * request to the next of its targets in turn (a balancer without
 * stickiness), refuses every WebSocket upgrade with 403 (a proxy that
 * breaks WebSockets), can hold requests for a while (a client whose
 * network stalls) and can rewrite their paths. A client that aborts a request aborts it upstream too.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

export interface TestProxy {
  readonly port: number;
  /** `ws://127.0.0.1:<port>`, for a phoenix client's endpoint. */
  readonly wsBase: string;
  readonly httpBase: string;
  /** Requests forwarded to each target, by target index. */
  readonly hits: number[];
  /** WebSocket upgrades refused. */
  readonly refusedUpgrades: number;
  /** Rewrites the path (and query) of the requests it is set for; null forwards them as they come. */
  mapPath: ((path: string) => string) | null;
  /** Holds new requests until `resume()`. */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function startProxy(targets: number[]): Promise<TestProxy> {
  const hits = targets.map(() => 0);
  let next = 0;
  let refusedUpgrades = 0;
  let held: Array<() => void> | null = null;

  const forward = (incoming: IncomingMessage, outgoing: ServerResponse): void => {
    if (outgoing.destroyed) return;
    const index = next++ % targets.length;
    hits[index]!++;
    const upstream = request(
      {
        host: '127.0.0.1',
        port: targets[index],
        method: incoming.method,
        path: proxy.mapPath === null ? incoming.url : proxy.mapPath(incoming.url ?? '/'),
        headers: incoming.headers,
        agent: false,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    upstream.on('error', () => outgoing.destroy());
    outgoing.on('close', () => {
      if (!outgoing.writableFinished) upstream.destroy();
    });
    incoming.pipe(upstream);
  };

  const server = createServer((incoming, outgoing) => {
    if (held !== null) held.push(() => forward(incoming, outgoing));
    else forward(incoming, outgoing);
  });
  server.on('upgrade', (_request: IncomingMessage, socket: Duplex) => {
    refusedUpgrades++;
    socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const proxy: TestProxy = {
    port,
    wsBase: `ws://127.0.0.1:${port}`,
    httpBase: `http://127.0.0.1:${port}`,
    hits,
    mapPath: null,
    get refusedUpgrades() {
      return refusedUpgrades;
    },
    pause() {
      held ??= [];
    },
    resume() {
      const waiting = held ?? [];
      held = null;
      for (const go of waiting) go();
    },
    close() {
      proxy.resume();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}

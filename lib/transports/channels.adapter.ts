/**
 * `ChannelsAdapter`: attaches nestjs-channels' WebSocket transport to the
 * app's HTTP server, and keeps ordinary `@WebSocketGateway` classes working
 * (it is a `WsAdapter`).
 *
 * How an upgrade travels: one `upgrade` listener on the HTTP server routes
 * by path. A channels mount's `<path>/websocket` goes through the origin
 * check, `vsn` negotiation and the socket handler's `connect` before the handshake completes; a refusal answers 403, a
 * `connect` that outlives `connectTimeout` 503. Any other path goes to the
 * `ws` gateway registered for it, matched as Nest's `WsAdapter` matches, or
 * is destroyed as it does.
 *
 * Plain HTTP goes through `handleHttpRequest`, a request listener on the Node
 * HTTP server in front of the framework's own, so it works the same on
 * Express and Fastify: `<path>/longpoll` goes to the mount's long-poll server
 * (longpoll.server.ts) when long-poll is on, `<path>/websocket` gets 400
 * (P-07), anything else goes on to the app.
 */
import { Logger, type INestApplication } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { IncomingHttpHeaders, IncomingMessage, RequestListener, ServerResponse, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { ChannelsHost } from '../channels.host.js';
import { describe, MESSAGES } from '../channels.messages.js';
import type { ConnectInfo } from '../interfaces/socket-handler.interface.js';
import type { ChannelsMount } from '../socket/channels-mount.js';
import { parseConnectParams, parseCookies, type ConnectOutcome } from '../socket/socket-acceptor.js';
import { publishLimit } from '../telemetry/telemetry.js';
import { writeEmpty } from './longpoll-http.js';
import { LongPollServer } from './longpoll.server.js';
import { compileOriginCheck, originOf } from './origin-check.js';
import { negotiateSubprotocols } from './subprotocols.js';
import { WebSocketTransport } from './websocket.transport.js';

const GATEWAY_PORT = 0;

type OriginCheck = ReturnType<typeof compileOriginCheck>;

/** Accepted connect outcomes waiting for their handshake to complete, keyed by request. */
const pending = new WeakMap<
  IncomingMessage,
  { outcome: ConnectOutcome & { accepted: true }; mount: ChannelsMount; subprotocol: string | null }
>();

/** ws asks which offered subprotocol to answer with: the one `verify` chose, or none. */
function chosenSubprotocol(_offered: Set<string>, request: IncomingMessage): string | false {
  return pending.get(request)?.subprotocol ?? false;
}

/** The HTTP status of a refused upgrade. */
type RefusalStatus = 400 | 403 | 500 | 503;

const logger = new Logger('ChannelsAdapter');

function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  (this as WebSocket & { transport: WebSocketTransport }).transport.connection?.receive(data, isBinary);
}

function onClose(this: WebSocket): void {
  void (this as WebSocket & { transport: WebSocketTransport }).transport.connection?.transportClosed();
}

function onError(this: WebSocket, error: Error & { code?: string }): void {
  // ws closes the socket itself (1009 for an oversized frame, 1007 for bad UTF-8); the close event follows.
  const transport = (this as WebSocket & { transport: WebSocketTransport }).transport;
  logger.warn(`WebSocket error from ${transport.peer}: ${error.code ?? ''} ${error.message}`);
  if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
    publishLimit('maxFrameSize', transport.maxFrameSize, 'close', null, transport.peer, transport.name);
  }
}

/**
 * @example app.useWebSocketAdapter(new ChannelsAdapter(app));
 * @publicApi
 */
export class ChannelsAdapter extends WsAdapter {
  private hostRef: ChannelsHost | null = null;
  /** One ws server (noServer) per mount, made on its first upgrade. */
  private readonly servers = new Map<ChannelsMount, WebSocketServer>();
  /** One long-poll server per mount that serves long-poll, made on its first request. */
  private readonly longpollServers = new Map<ChannelsMount, LongPollServer>();
  private readonly http: HttpServer;
  private readonly upgradeListener = (request: IncomingMessage, socket: Duplex, head: Buffer): void =>
    this.routeUpgrade(request, socket, head);
  /** The HTTP server's request listeners before ours (the framework's), called for what we do not answer. */
  private readonly frameworkListeners: RequestListener[];
  private readonly requestListener = (request: IncomingMessage, response: ServerResponse): void => {
    let handled: boolean;
    try {
      handled = this.handleHttpRequest(request, response);
    } catch (error) {
      // A bug of ours must cost this request only, never the process (nothing above us catches).
      logger.error(`HTTP ${request.method} ${request.url} failed: ${(error as Error)?.stack ?? describe(error)}`);
      if (!response.headersSent) response.writeHead(500, { 'content-length': 0 });
      response.end();
      return;
    }
    if (!handled) for (const listener of this.frameworkListeners) listener.call(this.http, request, response);
  };

  constructor(private readonly app: INestApplication) {
    super(app);
    this.http = app.getHttpServer() as HttpServer;
    this.http.on('upgrade', this.upgradeListener);
    // Our paths are answered ahead of the framework: the framework's own request listener (Express,
    // Fastify) only sees the rest. A long-poll round trip is three HTTP requests, and going through
    // Express's router first halved the replies per second (bench, reqreply over long-poll).
    this.frameworkListeners = this.http.listeners('request') as RequestListener[];
    this.http.removeAllListeners('request');
    this.http.on('request', this.requestListener);
    // Lets start-up say whether the channels mounts are really reachable.
    this.host?.adapterAttached();
  }

  // ── Nest's WsAdapter for ordinary gateways, behind our one upgrade listener ──

  protected override ensureHttpServerExists(port: number, httpServer?: HttpServer): HttpServer | undefined {
    if (port === GATEWAY_PORT) {
      // Gateways on the app's own server are routed by `routeUpgrade`; WsAdapter's listener
      // would destroy every upgrade it does not own, ours included.
      if (!this.httpServersRegistry.has(port)) this.httpServersRegistry.set(port, this.http);
      return this.http;
    }
    return super.ensureHttpServerExists(port, httpServer);
  }

  override async dispose(): Promise<void> {
    this.http.off('upgrade', this.upgradeListener);
    this.http.off('request', this.requestListener);
    for (const listener of this.frameworkListeners) this.http.on('request', listener);
    for (const wss of this.servers.values()) wss.close();
    this.servers.clear();
    const longpoll = [...this.longpollServers.values()];
    this.longpollServers.clear();
    await Promise.all(longpoll.map((server) => server.close()));
    await super.dispose();
  }

  // ── Routing ──────────────────────────────────────────────────────────────

  private get host(): ChannelsHost | null {
    if (this.hostRef === null) {
      try {
        this.hostRef = this.app.get(ChannelsHost, { strict: false });
      } catch {
        // No ChannelsModule in this app: only gateways are served.
        return null;
      }
    }
    return this.hostRef;
  }

  private routeUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    let pathname: string;
    try {
      pathname = pathOf(request);
    } catch (error) {
      // As Nest's WsAdapter answers an upgrade whose URL it cannot parse.
      logger.warn(`upgrade for ${describe(request.url)} has a URL that cannot be parsed: ${describe(error)}`);
      abort(socket, 400);
      return;
    }
    try {
      const mount = this.host?.mountForWebsocket(pathname);
      if (mount !== undefined) {
        this.upgradeChannels(mount, request, socket, head);
        return;
      }
      // Gateways on the app's server, whatever the time they were registered, matched as WsAdapter matches them.
      for (const wss of (this.wsServersRegistry.get(GATEWAY_PORT) ?? []) as Array<WebSocketServer & { path: string }>) {
        if (wss.path === pathname) {
          wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
          return;
        }
      }
      socket.destroy();
    } catch (error) {
      logger.warn(`upgrade for ${request.url} failed: ${describe(error)}`);
      socket.destroy();
    }
  }

  /**
   * Answers plain HTTP for the channels mounts: long-poll, and 400 on a
   * WebSocket path (P-07). Returns false for any other request, which the
   * caller hands on to the app. Works on Node's own request and response, so
   * any HTTP framework can call it first.
   */
  handleHttpRequest(request: IncomingMessage, response: ServerResponse): boolean {
    const host = this.host;
    if (host === null) return false;
    // Every HTTP request of the app passes here: a plain string cut, no URL parsing.
    const pathname = rawPathOf(request.url);
    const longpollMount = host.mountForLongpoll(pathname);
    if (longpollMount !== undefined) {
      if (!longpollMount.isReady) {
        writeEmpty(response, 503);
        return true;
      }
      this.longpollFor(longpollMount).handle(request, response);
      return true;
    }
    if (host.mountForWebsocket(pathname) === undefined) return false;
    let body = '';
    if (request.method === 'GET') {
      const connection = String(request.headers.connection ?? '').toLowerCase();
      body = connection.split(',').some((token) => token.trim() === 'upgrade')
        ? "'upgrade' header must contain 'websocket'"
        : "'connection' header must contain 'upgrade'";
    }
    response.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    response.end(body);
    return true;
  }

  private longpollFor(mount: ChannelsMount): LongPollServer {
    let server = this.longpollServers.get(mount);
    if (server === undefined) {
      server = new LongPollServer(mount, () => this.host?.isDraining ?? false);
      this.longpollServers.set(mount, server);
    }
    return server;
  }

  // ── The channels upgrade ───────────────────────────────

  private upgradeChannels(mount: ChannelsMount, request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (request.method !== 'GET') {
      abort(socket, 400);
      return;
    }
    if (this.host?.isDraining || !mount.isReady) {
      abort(socket, 503);
      return;
    }
    const wss = this.serverFor(mount);
    wss.handleUpgrade(request, socket, head, (ws) => this.opened(ws, request));
  }

  private serverFor(mount: ChannelsMount): WebSocketServer {
    let wss = this.servers.get(mount);
    if (wss === undefined) {
      const options = mount.options;
      const checkOrigin = compileOriginCheck(options.checkOrigin);
      wss = new WebSocketServer({
        noServer: true,
        clientTracking: false,
        maxPayload: options.maxFrameSize,
        perMessageDeflate: options.perMessageDeflate,
        handleProtocols: chosenSubprotocol,
        // Runs after ws has validated the handshake headers and before it answers 101. A refusal is
        // answered here rather than through `done(false, 403)`, because ws would put a "Forbidden"
        // body on it and the protocol wants the 403 empty (P-05, P-06, P-08).
        verifyClient: (info: { req: IncomingMessage }, done: (ok: boolean) => void) => {
          this.verify(mount, checkOrigin, info.req).then(
            (refusal) => (refusal === null ? done(true) : abort(info.req.socket, refusal)),
            (error: unknown) => {
              logger.error(`connect failed unexpectedly: ${describe(error)}`);
              abort(info.req.socket, 500);
            },
          );
        },
      });
      this.servers.set(mount, wss);
    }
    return wss;
  }

  /** Origin, subprotocols and auth token, then connect: null to go on, or the status to refuse the upgrade with. */
  private async verify(mount: ChannelsMount, checkOrigin: OriginCheck, request: IncomingMessage): Promise<RefusalStatus | null> {
    const origin = originOf(request.headers);
    if (!checkOrigin(origin, request.headers.host)) {
      logger.error(MESSAGES.originRefused(origin, mount.options.path));
      return 403;
    }
    const offer = negotiateSubprotocols(request.headers['sec-websocket-protocol'], mount.options);
    if (!offer.ok) {
      logger.error(`refusing the upgrade on ${mount.options.websocketPath} with ${offer.status}: ${offer.why}`);
      return offer.status;
    }
    const info = new UpgradeInfo(request, offer.authToken);
    const outcome = await mount.accept(parseConnectParams(queryOf(info)), info);
    if (!outcome.accepted) return outcome.status;
    pending.set(request, { outcome, mount, subprotocol: offer.selected });
    return null;
  }

  private opened(ws: WebSocket, request: IncomingMessage): void {
    const accepted = pending.get(request);
    pending.delete(request);
    if (accepted === undefined) {
      ws.terminate();
      return;
    }
    const { outcome, mount } = accepted;
    const transport = new WebSocketTransport(ws, request.socket, mount.options.maxBufferedBytes, mount.options.maxFrameSize);
    (ws as WebSocket & { transport: WebSocketTransport }).transport = transport;
    ws.on('message', onMessage);
    ws.on('close', onClose);
    ws.on('error', onError);
    if (this.host?.isDraining) {
      transport.close(1012, 'server shutting down');
      return;
    }
    transport.connection = mount.open(outcome.serializer, outcome.state, transport);
  }
}

/** The path of a request URL, cut at the query. */
function rawPathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** A path of plain segments, which a WHATWG URL keeps as it is: no dots, escapes or characters it would encode. */
const PLAIN_PATH = /^(?:\/[\w~-]*)+$/;
/** `Host` headers known to make a valid URL base, so a plain path needs no URL parse (bounded: cleared when full). */
const GOOD_HOSTS = new Set<string>();
const GOOD_HOSTS_MAX = 64;

/** The request's path exactly as Nest's `WsAdapter` reads it (a WHATWG URL's pathname); throws on a URL it cannot parse. */
function pathOf(request: IncomingMessage): string {
  const host = request.headers.host;
  const path = rawPathOf(request.url);
  if (host !== undefined && GOOD_HOSTS.has(host) && PLAIN_PATH.test(path)) return path;
  const pathname = new URL(request.url ?? '/', `ws://${host}/`).pathname;
  if (host !== undefined) {
    if (GOOD_HOSTS.size >= GOOD_HOSTS_MAX) GOOD_HOSTS.clear();
    GOOD_HOSTS.add(host);
  }
  return pathname;
}

/** Query strings of only these characters read the same raw and as a WHATWG URL's `search`. */
const PLAIN_QUERY = /^[\w.~=&-]*$/;

/** The query `connect`'s params come from: the URL's `search`, read from the request line when that is the same. */
function queryOf(info: UpgradeInfo): string {
  const url = info.request.url ?? '/';
  const at = url.indexOf('?');
  const raw = at === -1 ? '' : url.slice(at + 1);
  return PLAIN_QUERY.test(raw) ? raw : info.uri.search.slice(1);
}

/**
 * `ConnectInfo` of a WebSocket upgrade. The URL, the peer address and the
 * cookies are made when first read: most `connect`s read none of them, and
 * the peer address costs a system call.
 */
class UpgradeInfo implements ConnectInfo {
  readonly transport = 'websocket';
  readonly headers: IncomingHttpHeaders;
  private uriValue: URL | null = null;
  private peerValue: { readonly address: string; readonly port: number } | null = null;
  private cookiesValue: Readonly<Record<string, string | undefined>> | null = null;

  constructor(
    readonly request: IncomingMessage,
    readonly authToken: string | null,
  ) {
    this.headers = request.headers;
  }

  get uri(): URL {
    return (this.uriValue ??= new URL(this.request.url ?? '/', `http://${this.headers.host ?? 'localhost'}`));
  }

  get peerData(): { readonly address: string; readonly port: number } {
    return (this.peerValue ??= { address: this.request.socket.remoteAddress ?? '', port: this.request.socket.remotePort ?? 0 });
  }

  get cookies(): Readonly<Record<string, string | undefined>> {
    return (this.cookiesValue ??= parseCookies(this.headers));
  }

  toJSON(): ConnectInfo {
    return { peerData: this.peerData, uri: this.uri, headers: this.headers, cookies: this.cookies, transport: this.transport, authToken: this.authToken };
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Answers an upgrade with `status` and an empty body, then closes the socket. */
function abort(socket: Duplex, status: number): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  // Destroy once the answer is flushed: destroying at once could drop it before it leaves.
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * Plain HTTP against the app, for the handshake's failure answers (PROTOCOL.md
 * 1.4): the status and body of a refused or malformed upgrade, which a
 * WebSocket client hides; and for long-poll requests by hand.
 */
import { randomBytes } from 'node:crypto';
import { request, type IncomingHttpHeaders } from 'node:http';

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpRequestOptions {
  method?: string;
  /** Path and query, e.g. `/socket/websocket?vsn=2.0.0`. */
  path: string;
  headers?: Record<string, string>;
  /** Adds valid WebSocket upgrade headers (Connection, Upgrade, version, key). */
  upgrade?: boolean;
  /** A request body (sent with its content-length). */
  body?: string | Buffer;
  timeoutMs?: number;
}

/** One request; resolves with status 101 (and an empty body) when the server upgrades. */
export function httpRequest(httpBase: string, options: HttpRequestOptions): Promise<HttpAnswer> {
  const { method = 'GET', path, upgrade = false, timeoutMs = 3000 } = options;
  const headers: Record<string, string> = upgrade
    ? {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        ...options.headers,
      }
    : { ...options.headers };
  // The path goes out exactly as given (no URL normalisation), so tests can send odd request targets.
  const base = new URL(httpBase);
  return new Promise((resolve, reject) => {
    const req = request({ host: base.hostname, port: base.port, path, method, headers, agent: false });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no HTTP answer within ${timeoutMs}ms to ${method} ${path}`));
    }, timeoutMs);
    req.on('upgrade', (response, socket) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: response.statusCode ?? 0, headers: response.headers, body: '' });
    });
    req.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        clearTimeout(timer);
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      response.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(options.body);
  });
}

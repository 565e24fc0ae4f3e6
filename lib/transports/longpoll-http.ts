/**
 * The HTTP side shared by the long-poll server and its relay: the answer
 * writers and the POST statuses. Outcomes travel in the JSON `status` with
 * HTTP 200; only a request that fails as HTTP gets another HTTP status.
 */
import type { ServerResponse } from 'node:http';

/** POST statuses of the JSON answer; `badBase64` is answered as an HTTP 500. */
export const POST_STATUS = { ok: 200, timeout: 408, gone: 410, badBase64: 500 } as const;

/** The frames of one POST: NDJSON lines, or one text frame for any other content type. */
export interface PostedFrames {
  readonly lines: readonly string[];
  readonly ndjson: boolean;
}

const BASE_HEADERS = {
  'access-control-allow-origin': '*',
  'cache-control': 'no-store',
} as const;

/** Writes a long-poll JSON answer: always HTTP 200, the outcome in `status`. */
export function writeJson(response: ServerResponse, body: object): void {
  writeJsonText(response, JSON.stringify(body));
}

/** `writeJson` for an answer already in JSON text. */
export function writeJsonText(response: ServerResponse, text: string): void {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(200, {
    ...BASE_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/** Writes an HTTP-level failure (400, 500, 503) with an empty body. */
export function writeEmpty(response: ServerResponse, status: number, extra: Record<string, string> = {}): void {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, { ...BASE_HEADERS, ...extra, 'content-length': 0 });
  response.end();
}


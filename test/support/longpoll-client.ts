/**
 * Long-poll by hand: GET and POST on
 * `<path>/longpoll`, the JSON answer parsed, for wire-level tests of what the
 * `phoenix` client's LongPoll hides.
 */
import type { INestApplication } from '@nestjs/common';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { ChannelsHost } from '../../lib/channels.host.js';
import { httpRequest } from './http-request.js';

export interface LongPollAnswer {
  /** The HTTP status (200 unless the request itself failed). */
  http: number;
  headers: IncomingHttpHeaders;
  /** The JSON body, or null when the body is not JSON. */
  json: { status: number; token?: string; messages?: string[] } | null;
  raw: string;
}

export interface LongPollRequest {
  /** The mount path. @default '/socket' */
  path?: string;
  /** The query, e.g. `vsn=2.0.0&user=ann` (the session token goes in `token`). */
  query?: string;
  /** The session token: in the `token` query param, or in `x-phoenix-longpoll-token` with `tokenIn: 'header'`. */
  token?: string;
  tokenIn?: 'query' | 'header';
  headers?: Record<string, string>;
  timeoutMs?: number;
}

function target(options: LongPollRequest): { path: string; headers: Record<string, string> } {
  const { path = '/socket', query = 'vsn=2.0.0', token, tokenIn = 'query' } = options;
  const headers: Record<string, string> = { ...options.headers };
  const params = [query];
  if (token !== undefined) {
    if (tokenIn === 'header') headers['x-phoenix-longpoll-token'] = token;
    else params.push(`token=${encodeURIComponent(token)}`);
  }
  return { path: `${path}/longpoll?${params.filter((p) => p !== '').join('&')}`, headers };
}

function parsed(answer: { status: number; headers: IncomingHttpHeaders; body: string }): LongPollAnswer {
  let json: LongPollAnswer['json'] = null;
  try {
    json = answer.body === '' ? null : JSON.parse(answer.body);
  } catch {
    // not JSON: the test asserts on `raw`
  }
  return { http: answer.status, headers: answer.headers, json, raw: answer.body };
}

/** One poll (or a session creation without a token). */
export async function lpGet(httpBase: string, options: LongPollRequest = {}): Promise<LongPollAnswer> {
  const { path, headers } = target(options);
  return parsed(await httpRequest(httpBase, { path, headers, timeoutMs: options.timeoutMs ?? 5000 }));
}

/** One POST: `lines` joined with `\n` as NDJSON, or `body` with its own content type. */
export async function lpPost(
  httpBase: string,
  options: LongPollRequest & { lines?: Array<string | unknown[]>; body?: string | Buffer; contentType?: string | null },
): Promise<LongPollAnswer> {
  const { path, headers } = target(options);
  const body = options.body ?? (options.lines ?? []).map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n');
  const contentType = options.contentType === undefined ? 'application/x-ndjson' : options.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  return parsed(await httpRequest(httpBase, { method: 'POST', path, headers, body, timeoutMs: options.timeoutMs ?? 5000 }));
}

/** Creates a session and returns its token (asserts the 410 answer of). */
export async function lpSession(httpBase: string, options: LongPollRequest = {}): Promise<string> {
  const answer = await lpGet(httpBase, options);
  assert.equal(answer.json?.status, 410, `a new session answers 410, got ${answer.raw}`);
  assert.equal(typeof answer.json?.token, 'string');
  return answer.json!.token!;
}

/** Polls until `count` messages arrived (each poll answers 200 or 204); returns them parsed, oldest first. */
export async function lpMessages(httpBase: string, token: string, count: number, options: LongPollRequest = {}, timeoutMs = 5000): Promise<any[]> {
  const deadline = Date.now() + timeoutMs;
  const seen: any[] = [];
  while (seen.length < count) {
    if (Date.now() > deadline) throw new Error(`only ${seen.length} of ${count} long-poll messages within ${timeoutMs}ms: ${JSON.stringify(seen)}`);
    const answer = await lpGet(httpBase, { ...options, token });
    assert.ok(answer.json?.status === 200 || answer.json?.status === 204, `a poll answers 200 or 204, got ${answer.raw}`);
    for (const message of answer.json.messages ?? []) seen.push(JSON.parse(message));
  }
  return seen;
}

/** Long-poll sessions the app holds. */
export function longPollSessions(app: INestApplication): number {
  let count = 0;
  for (const mount of app.get(ChannelsHost).mounts) {
    for (const connection of mount.connections) if (connection.transport.name === 'longpoll') count++;
  }
  return count;
}

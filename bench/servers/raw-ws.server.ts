/**
 * The raw `ws` baseline: no framework, just enough Phoenix V2 to run the
 * scenarios, and broadcasts done the fastest practical way in Node: encode
 * the message once, frame it once (ws's `Sender.frame`), and write the same
 * bytes to every subscriber's socket, corked for the whole burst.
 *
 *   node --expose-gc dist/bench/servers/raw-ws.server.js   → prints READY <port>
 *
 * Handles: heartbeat (ok reply), phx_join (ok reply), phx_leave (ok reply),
 * `ping` (ok reply with the payload), `blast` {n, size} (n broadcasts
 * `[null,null,topic,"msg",{i,body}]` to the topic, then an ok reply).
 */
import http from 'node:http';
import type { AddressInfo, Socket as NetSocket } from 'node:net';
import * as wsNamespace from 'ws';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { announce, countUpgrades, exitOnSignals, handleBenchRequest } from './bench-hooks.js';

/** ws exports `Sender` at run time; @types/ws does not declare it. */
interface SenderStatic {
  frame(
    data: Buffer,
    options: { opcode: number; fin: boolean; mask: boolean; readOnly: boolean; rsv1: boolean },
  ): Buffer[];
}
const Sender = (wsNamespace as unknown as { Sender: SenderStatic }).Sender;

const FRAME_OPTIONS = { opcode: 1, fin: true, mask: false, readOnly: true, rsv1: false };

/** Encodes and frames one text message; the result is written as-is to many sockets. */
function frameOnce(text: string): Buffer {
  const parts = Sender.frame(Buffer.from(text), FRAME_OPTIONS);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

interface Conn extends WebSocket {
  benchTopics?: Set<string>;
}

const OPEN = 1;
const subscribers = new Map<string, Set<Conn>>();

function rawSocketOf(ws: Conn): NetSocket {
  return (ws as unknown as { _socket: NetSocket })._socket;
}

function reply(ws: Conn, joinRef: unknown, ref: unknown, topic: unknown, status: string, response: unknown): void {
  if (ws.readyState !== OPEN) return;
  ws.send(JSON.stringify([joinRef, ref, topic, 'phx_reply', { status, response }]));
}

function join(ws: Conn, topic: string): void {
  let set = subscribers.get(topic);
  if (set === undefined) {
    set = new Set();
    subscribers.set(topic, set);
  }
  set.add(ws);
  (ws.benchTopics ??= new Set()).add(topic);
}

function leave(ws: Conn, topic: string): void {
  subscribers.get(topic)?.delete(ws);
  ws.benchTopics?.delete(topic);
}

function blast(topic: string, n: number, size: number): void {
  const set = subscribers.get(topic);
  if (set === undefined) return;
  const sockets: NetSocket[] = [];
  for (const ws of set) {
    if (ws.readyState !== OPEN) continue;
    const raw = rawSocketOf(ws);
    if (raw.destroyed) continue;
    raw.cork();
    sockets.push(raw);
  }
  const body = 'x'.repeat(size);
  const head = `[null,null,${JSON.stringify(topic)},"msg",`;
  for (let i = 0; i < n; i++) {
    const frame = frameOnce(head + JSON.stringify({ i, body }) + ']');
    for (let k = 0; k < sockets.length; k++) sockets[k]!.write(frame);
  }
  for (let k = 0; k < sockets.length; k++) sockets[k]!.uncork();
}

function onMessage(this: Conn, data: RawData, isBinary: boolean): void {
  if (isBinary) return;
  let frame: unknown;
  try {
    frame = JSON.parse((data as Buffer).toString());
  } catch {
    this.close(1011);
    return;
  }
  if (!Array.isArray(frame) || frame.length < 5) {
    this.close(1011);
    return;
  }
  const [joinRef, ref, topic, event, payload] = frame as [unknown, unknown, string, string, any];
  switch (event) {
    case 'heartbeat':
      reply(this, null, ref, topic, 'ok', {});
      return;
    case 'phx_join':
      join(this, topic);
      reply(this, joinRef, ref, topic, 'ok', {});
      return;
    case 'phx_leave':
      leave(this, topic);
      reply(this, joinRef, ref, topic, 'ok', {});
      return;
    case 'ping':
      reply(this, joinRef, ref, topic, 'ok', payload);
      return;
    case 'blast': {
      const n = Math.min(Math.max(0, Number(payload?.n) | 0), 10_000_000);
      const size = Math.min(Math.max(0, Number(payload?.size) | 0), 16 * 1024 * 1024);
      blast(topic, n, size);
      reply(this, joinRef, ref, topic, 'ok', { n });
      return;
    }
    default:
      reply(this, joinRef, ref, topic, 'error', { reason: 'unmatched event' });
  }
}

function onClose(this: Conn): void {
  const topics = this.benchTopics;
  if (topics === undefined) return;
  for (const t of topics) subscribers.get(t)?.delete(this);
  topics.clear();
}

function onError(): void {
  // 'close' follows.
}

function onConnection(ws: Conn): void {
  ws.on('message', onMessage);
  ws.on('close', onClose);
  ws.on('error', onError);
}

exitOnSignals();
const server = http.createServer((req, res) => {
  if (!handleBenchRequest(req, res)) {
    res.writeHead(404, { connection: 'close' });
    res.end();
  }
});
countUpgrades(server);
const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false, maxPayload: 1024 * 1024 });
wss.on('connection', onConnection);
server.listen(0, '127.0.0.1', () => announce((server.address() as AddressInfo).port));

/**
 * Preflight: before anything is timed, each server is driven once by the
 * official client of its protocol (`phoenix` for the Phoenix servers, with
 * its LongPoll transport for our long-poll server, `socket.io-client` for Socket.IO): join, `ping`, and a 3-message `blast`
 * whose messages must arrive intact. The load workers only count frames,
 * so this is where we make sure the frames they count are the right ones.
 */
import { LongPoll, Socket as PhoenixSocket } from 'phoenix';
import { io } from 'socket.io-client';
import WebSocket from 'ws';

const TIMEOUT_MS = 5000;

function within<T>(p: Promise<T>, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(`${what}: ${JSON.stringify(e)}`));
      },
    );
  });
}

function expectMessages(got: unknown[], size: number): void {
  const body = 'x'.repeat(size);
  const ok = got.length === 3 && got.every((m, i) => JSON.stringify(m) === JSON.stringify({ i, body }));
  if (!ok) throw new Error(`blast: expected 3 messages {i, body}, got ${JSON.stringify(got).slice(0, 300)}`);
}

async function checkPhoenix(port: number, longPoll: boolean): Promise<void> {
  const socket = new PhoenixSocket(`ws://127.0.0.1:${port}/socket`, {
    transport: (longPoll ? LongPoll : WebSocket) as unknown as new (endpoint: string) => object,
    reconnectAfterMs: () => 60_000,
    logger: undefined,
  });
  socket.connect();
  try {
    const channel = socket.channel('bench:check', {});
    await within(
      new Promise((resolve, reject) => channel.join().receive('ok', resolve).receive('error', reject)),
      'phx_join',
    );
    const pong = await within(
      new Promise((resolve, reject) => channel.push('ping', { hello: 'bench' }).receive('ok', resolve).receive('error', reject)),
      'ping',
    );
    if (JSON.stringify(pong) !== '{"hello":"bench"}') throw new Error(`ping: expected the payload back, got ${JSON.stringify(pong)}`);
    const got: unknown[] = [];
    channel.on('msg', (m: unknown) => {
      got.push(m);
    });
    await within(
      new Promise((resolve, reject) => channel.push('blast', { n: 3, size: 7 }).receive('ok', resolve).receive('error', reject)),
      'blast',
    );
    await new Promise((r) => setTimeout(r, 100));
    expectMessages(got, 7);
  } finally {
    socket.disconnect();
  }
}

async function checkSocketIo(port: number): Promise<void> {
  const socket = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false });
  try {
    const joined = (await within(socket.emitWithAck('join', { topic: 'bench:check' }), 'join')) as { status?: string };
    if (joined?.status !== 'ok') throw new Error(`join: expected {status:'ok'}, got ${JSON.stringify(joined)}`);
    const pong = await within(socket.emitWithAck('ping', { hello: 'bench' }), 'ping');
    if (JSON.stringify(pong) !== '{"hello":"bench"}') throw new Error(`ping: expected the payload back, got ${JSON.stringify(pong)}`);
    const got: unknown[] = [];
    socket.on('msg', (m: unknown) => got.push(m));
    await within(socket.emitWithAck('blast', { n: 3, size: 7 }), 'blast');
    await new Promise((r) => setTimeout(r, 100));
    expectMessages(got, 7);
  } finally {
    socket.close();
  }
}

/** Throws with a reason when the server on `port` does not speak its protocol as the bench expects. */
export async function preflight(dialect: 'phx' | 'sio' | 'lp', port: number): Promise<void> {
  if (dialect === 'sio') await checkSocketIo(port);
  else await checkPhoenix(port, dialect === 'lp');
}

/**
 * The channels of the soak app (test/soak/soak-app.ts). Unlike the e2e
 * fixtures they keep no record of what they saw, so memory measured after a
 * soak is the library's, and every delay a client can ask for is capped, so
 * no client-chosen timer outlives the run.
 *
 * - `fuzz:*`: one event per verb of the API (reply, push, broadcast,
 *   intercept, info, ref, subscribe, presence, stop, crash), for the fuzzers.
 *   Topics ending in `:refuse`, `:crash` or `:stop` steer the join.
 * - `chat:*`: what the well-behaved clients use: `msg` broadcasts
 *   `{ from, seq, body }` to the topic, `from` being the connection's `user`
 *   assign, so no other client can pass for a well-behaved one.
 */
import { Injectable } from '@nestjs/common';
import {
  Channel,
  ChannelError,
  ChannelsEndpoint,
  HandleIn,
  HandleInfo,
  HandleOut,
  Intercept,
  Join,
  Presence,
  Terminate,
  noreply,
  reply,
  stop,
  type ChannelSocket,
  type ConnectInfo,
  type Socket,
  type SocketHandler,
} from '../../lib/index.js';

/** The longest delay a client may ask any handler for. */
const MAX_DELAY_MS = 20;
/** External topics a fuzz channel may subscribe to: a small fixed set. */
const EXTERNAL_TOPICS = 8;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function delayOf(payload: unknown): number {
  const ms = Number((payload as { ms?: unknown } | null)?.ms);
  return Number.isFinite(ms) ? Math.min(Math.max(0, Math.trunc(ms)), MAX_DELAY_MS) : 0;
}

function externalTopic(payload: unknown): string {
  const n = Number((payload as { n?: unknown } | null)?.n);
  return `fuzz-ext:${Number.isFinite(n) ? Math.abs(Math.trunc(n)) % EXTERNAL_TOPICS : 0}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/**
 * Connect params: `refuse` refuses, `throw` throws, `user` becomes the
 * `user` assign (cut to 64 characters), `id` the socket id `soak:<id>`.
 */
@Injectable()
export class SoakSocket implements SocketHandler {
  connect(params: Record<string, unknown>, socket: Socket, _info: ConnectInfo): boolean {
    if (params.throw !== undefined) throw new Error('connect exploded on purpose');
    if (params.refuse !== undefined) return false;
    socket.assign('user', String(params.user ?? 'anon').slice(0, 64));
    if (typeof params.id === 'string' && params.id !== '') socket.assign('socketId', `soak:${params.id.slice(0, 64)}`);
    return true;
  }

  id(socket: Socket): string | null {
    return (socket.assigns.socketId as string | undefined) ?? null;
  }
}

@Channel('fuzz:*', { logJoin: false })
@Intercept(['intercepted'])
export class FuzzChannel {
  constructor(
    private readonly presence: Presence,
    private readonly endpoint: ChannelsEndpoint,
  ) {}

  @Join()
  async join(topic: string, payload: unknown, socket: ChannelSocket) {
    if (topic.endsWith(':refuse')) throw new ChannelError({ reason: 'refused on purpose' });
    if (topic.endsWith(':crash')) throw new Error('join exploded on purpose');
    if (topic.endsWith(':stop')) return stop('normal');
    const delay = delayOf(payload);
    if (delay > 0) await sleep(delay);
    if (isRecord(payload) && payload.track === true) socket.send({ track: true });
    return isRecord(payload) && 'echo' in payload ? { echo: payload.echo ?? null } : undefined;
  }

  @HandleIn('ping')
  ping(payload: unknown) {
    return payload;
  }

  @HandleIn('slow')
  async slow(payload: unknown) {
    await sleep(delayOf(payload));
    return payload;
  }

  @HandleIn('crash')
  crash(): never {
    throw new Error('handler exploded on purpose');
  }

  @HandleIn('async_crash')
  async asyncCrash(): Promise<never> {
    await sleep(1);
    throw new Error('async handler exploded on purpose');
  }

  @HandleIn('stop')
  stopIt(payload: unknown) {
    const reason = isRecord(payload) ? (payload.reason ?? 'normal') : 'normal';
    return isRecord(payload) && payload.reply === true ? stop(reason, reply('ok', { bye: true })) : stop(reason);
  }

  @HandleIn('error_reply')
  errorReply(payload: unknown) {
    return reply('error', { got: payload });
  }

  @HandleIn('channel_error')
  channelError() {
    throw new ChannelError({ reason: 'nope' });
  }

  @HandleIn('push')
  push(payload: unknown, socket: ChannelSocket) {
    socket.push('pushed', isRecord(payload) ? payload : { value: payload ?? null });
    return reply('ok');
  }

  @HandleIn('broadcast')
  async broadcast(payload: unknown, socket: ChannelSocket) {
    await socket.broadcast('shout', isRecord(payload) ? payload : { value: payload ?? null });
    return reply('ok');
  }

  @HandleIn('broadcast_from')
  async broadcastFrom(payload: unknown, socket: ChannelSocket) {
    await socket.broadcastFrom('shout', isRecord(payload) ? payload : { value: payload ?? null });
    return reply('ok');
  }

  @HandleIn('intercepted')
  async intercepted(payload: unknown, socket: ChannelSocket) {
    await socket.broadcast('intercepted', isRecord(payload) ? payload : { value: payload ?? null });
    return reply('ok');
  }

  @HandleIn('later')
  later(payload: unknown, socket: ChannelSocket) {
    const ref = socket.ref();
    setTimeout(() => ref.reply('ok', { later: true }), delayOf(payload));
    return noreply();
  }

  @HandleIn('noreply')
  nothing() {
    return noreply();
  }

  @HandleIn('binary_echo')
  binaryEcho(data: unknown) {
    return reply('ok', Buffer.isBuffer(data) ? data : { notBinary: true });
  }

  @HandleIn('binary_push')
  binaryPush(_payload: unknown, socket: ChannelSocket) {
    socket.push('bin', Buffer.from([1, 2, 3]));
    return reply('ok');
  }

  @HandleIn('send_self')
  sendSelf(payload: unknown, socket: ChannelSocket) {
    socket.send({ echo: payload ?? null });
    return reply('ok');
  }

  @HandleIn('subscribe')
  async subscribe(payload: unknown, socket: ChannelSocket) {
    await socket.subscribe(externalTopic(payload));
    return reply('ok');
  }

  @HandleIn('unsubscribe')
  async unsubscribe(payload: unknown, socket: ChannelSocket) {
    await socket.unsubscribe(externalTopic(payload));
    return reply('ok');
  }

  @HandleIn('external')
  async external(payload: unknown) {
    await this.endpoint.broadcast(externalTopic(payload), 'ext', isRecord(payload) ? payload : { value: payload ?? null });
    return reply('ok');
  }

  @HandleIn('track')
  async track(payload: unknown, socket: ChannelSocket) {
    const key = isRecord(payload) && (typeof payload.key === 'string' || typeof payload.key === 'number') ? payload.key : socket.assigns.user;
    const meta = isRecord(payload) && isRecord(payload.meta) ? payload.meta : {};
    try {
      return { ref: await this.presence.track(socket, key, meta) };
    } catch (error) {
      throw new ChannelError({ code: (error as { code?: string }).code ?? null });
    }
  }

  @HandleIn('untrack')
  async untrack(payload: unknown, socket: ChannelSocket) {
    const key = isRecord(payload) && (typeof payload.key === 'string' || typeof payload.key === 'number') ? payload.key : socket.assigns.user;
    try {
      await this.presence.untrack(socket, key);
      return {};
    } catch (error) {
      throw new ChannelError({ code: (error as { code?: string }).code ?? null });
    }
  }

  @HandleIn('list')
  list(_payload: unknown, socket: ChannelSocket) {
    return this.presence.list(socket.topic);
  }

  /** Disconnects every connection with socket id `soak:<payload.id>` (P-54 from a handler). */
  @HandleIn('disconnect_id')
  async disconnectId(payload: unknown) {
    const id = isRecord(payload) && typeof payload.id === 'string' ? payload.id.slice(0, 64) : '';
    await this.endpoint.disconnect(`soak:${id}`);
    return reply('ok');
  }

  @HandleOut('intercepted')
  out(payload: Record<string, unknown>, socket: ChannelSocket) {
    if (payload.drop === true) return;
    if (payload.stop === true) return stop('normal');
    socket.push('intercepted', { ...payload, user: socket.assigns.user });
    return undefined;
  }

  @HandleInfo()
  async info(message: unknown, socket: ChannelSocket) {
    if (isRecord(message) && message.track === true) {
      await this.presence.track(socket, String(socket.assigns.user), {});
      socket.push('presence_state', await this.presence.list(socket.topic));
      return;
    }
    socket.push('info', { kind: isRecord(message) && 'echo' in message ? 'echo' : 'broadcast' });
  }

  @Terminate()
  terminate() {
    // Nothing to record: the soak measures the library's memory, not a fixture's.
  }
}

@Channel('chat:*', { logJoin: false })
export class ChatChannel {
  @Join()
  join(_topic: string, _payload: unknown, socket: ChannelSocket) {
    return { user: socket.assigns.user };
  }

  /**
   * `{ seq, body }` → broadcast `msg` `{ from: <user assign>, seq, body }` (a
   * body over 256 characters is dropped); replies ok, or error with the
   * error's code when the PubSub refuses (Redis down).
   */
  @HandleIn('msg')
  async msg(payload: unknown, socket: ChannelSocket) {
    const seq = isRecord(payload) && typeof payload.seq === 'number' ? payload.seq : null;
    const body = isRecord(payload) && typeof payload.body === 'string' && payload.body.length <= 256 ? payload.body : null;
    try {
      await socket.broadcast('msg', { from: socket.assigns.user, seq, body });
    } catch (error) {
      return reply('error', { code: (error as { code?: string }).code ?? null });
    }
    return reply('ok');
  }

  @HandleIn('ping')
  ping(payload: unknown) {
    return payload;
  }
}

export const SOAK_CHANNELS = [FuzzChannel, ChatChannel];

import {
  Channel,
  ChannelError,
  HandleIn,
  HandleInfo,
  HandleOut,
  Intercept,
  Join,
  Presence,
  Terminate,
  reply,
  type ChannelSocket,
  type TerminateReason,
} from '../lib/index.js';
import { Logger } from '@nestjs/common';
import { ChatService } from './chat.service.js';

/**
 * The chat: `room:lobby` and any `room:*`; `room:private` refuses everyone.
 * Who is in each room is tracked with `Presence`: one entry per user, one
 * meta per tab (with the transport it came over). Each room keeps its last
 * 500 messages for 5 minutes, so a tab whose connection drops gets what it
 * missed when it rejoins (the page joins through `withHistory`).
 */
@Channel('room:*', { history: { size: 500, ttlMs: 5 * 60_000 } })
@Intercept(['new_msg'])
export class RoomChannel {
  private readonly logger = new Logger(RoomChannel.name);

  constructor(
    private readonly chat: ChatService,
    private readonly presence: Presence,
  ) {}

  @Join()
  join(topic: string, _payload: unknown, socket: ChannelSocket) {
    if (topic === 'room:private') throw new ChannelError({ reason: 'unauthorized' });
    socket.send({ type: 'after_join' });
    return { welcome: topic, history: this.chat.recent(topic) };
  }

  @HandleIn('ping')
  ping(payload: unknown) {
    return payload;
  }

  @HandleIn('new_msg')
  async newMsg(payload: { body?: unknown }, socket: ChannelSocket) {
    if (typeof payload?.body !== 'string' || payload.body.trim() === '') {
      return reply('error', { reason: 'body must be a non-empty string' });
    }
    const message = { body: payload.body.slice(0, 2000), user: String(socket.assigns.user), at: Date.now() };
    this.chat.record(socket.topic, message);
    await socket.broadcast('new_msg', message);
    return undefined;
  }

  /** Marks each subscriber's own messages, so the page can style them. */
  @HandleOut('new_msg')
  out(payload: { user: string }, socket: ChannelSocket) {
    socket.push('new_msg', { ...payload, mine: payload.user === socket.assigns.user });
  }

  /**
   * After the join reply: track this tab (it leaves by itself when the
   * channel ends, however it ends), then push the room's presences, which the
   * client's `Presence` waits for after every (re)join.
   */
  @HandleInfo()
  async info(message: { type?: string }, socket: ChannelSocket) {
    if (message?.type !== 'after_join') return;
    await this.presence.track(socket, socket.assigns.user, { online_at: Date.now(), transport: socket.assigns.transport });
    socket.push('presence_state', await this.presence.list(socket));
    socket.push('hello', { user: socket.assigns.user });
  }

  @Terminate()
  terminate(reason: TerminateReason, socket: ChannelSocket) {
    this.logger.debug(`${socket.assigns.user} left ${socket.topic}: ${JSON.stringify(reason)}`);
  }
}

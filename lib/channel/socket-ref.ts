import type { Ref } from '../serializers/message.js';
import type { ChannelServer } from './channel-server.js';

/**
 * A handle for replying later to one client message, from any code
 * (`socket.ref()`). Replying after the channel or its
 * connection has gone is a no-op with a debug log.
 *
 * @publicApi
 */
export class SocketRef {
  constructor(
    private readonly server: ChannelServer,
    readonly topic: string,
    readonly joinRef: Ref,
    readonly ref: Ref,
  ) {}

  /** Sends `{status, response: payload}` (`{}` when no payload) for this message's ref. */
  reply(status: string, payload: unknown = {}): void {
    this.server.replyLater(this.ref, status, payload);
  }
}

import { Logger } from '@nestjs/common';
import { MESSAGES, describe } from '../channels.messages.js';
import type { Broadcast } from '../serializers/message.js';
import type { OutFrame, Serializer } from '../serializers/serializer.interface.js';

/**
 * One encoded broadcast, shared by every subscriber on the same serializer.
 * `wire` is a slot the transport may fill with its own ready-to-write form
 * (the WebSocket transport keeps the framed bytes there), so framing, like
 * encoding, happens once per broadcast and not once per socket.
 */
export interface SharedFrame {
  readonly data: OutFrame;
  wire: unknown;
}

/** A serializer's slot once encoding this broadcast has failed: not tried again. */
const UNENCODABLE = Symbol('unencodable');

const logger = new Logger('PubSub');

/**
 * The fastlane of PROTOCOL.md 5.5: a broadcast is encoded at most once per
 * serializer, lazily, on the first subscriber that needs it. One cache is
 * made per dispatched broadcast.
 */
export class FastlaneCache {
  private readonly frames: Array<SharedFrame | typeof UNENCODABLE | undefined> = [];

  constructor(readonly broadcast: Broadcast) {}

  /**
   * The encoded frame for this serializer, or null when the serializer
   * refuses the broadcast: that is logged once, on the first subscriber,
   * and every other subscriber on the same serializer is skipped at once.
   */
  frameFor(serializer: Serializer): SharedFrame | null {
    const frame = this.frames[serializer.id];
    if (frame !== undefined) return frame === UNENCODABLE ? null : frame;
    const { topic, event, payload } = this.broadcast;
    try {
      const encoded: SharedFrame = { data: serializer.encodeBroadcast(topic, event, payload), wire: undefined };
      this.frames[serializer.id] = encoded;
      return encoded;
    } catch (error) {
      this.frames[serializer.id] = UNENCODABLE;
      logger.error(MESSAGES.broadcastUnencodable(event, topic, serializer.vsn, describe(error)));
      return null;
    }
  }
}

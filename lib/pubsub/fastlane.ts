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

/**
 * The fastlane of PROTOCOL.md 5.5: a broadcast is encoded at most once per
 * serializer, lazily, on the first subscriber that needs it. One cache is
 * made per dispatched broadcast.
 */
export class FastlaneCache {
  private readonly frames: Array<SharedFrame | undefined> = [];

  constructor(readonly broadcast: Broadcast) {}

  /** The encoded frame for this serializer; throws `SerializationError` as the serializer does. */
  frameFor(serializer: Serializer): SharedFrame {
    let frame = this.frames[serializer.id];
    if (frame === undefined) {
      const { topic, event, payload } = this.broadcast;
      frame = { data: serializer.encodeBroadcast(topic, event, payload), wire: undefined };
      this.frames[serializer.id] = frame;
    }
    return frame;
  }
}

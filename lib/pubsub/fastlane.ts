import { Logger } from '@nestjs/common';
import { MESSAGES, describe } from '../channels.messages.js';
import type { Broadcast } from '../serializers/message.js';
import type { OutFrame, Serializer } from '../serializers/serializer.interface.js';

/**
 * One encoded broadcast, shared by every subscriber on the same serializer.
 * A transport may keep its own ready-to-write form of it in a `FrameSlot` it
 * owns (the WebSocket transport keeps the framed bytes there), so framing,
 * like encoding, happens once per broadcast and not once per socket.
 *
 * @publicApi
 */
export class SharedFrame {
  /** @internal The values of `FrameSlot`s, by slot index; null until a transport keeps one. */
  slots: unknown[] | null = null;

  constructor(readonly data: OutFrame) {}
}

let slotCount = 0;

/**
 * A typed place on every `SharedFrame` that one transport owns: made once, at
 * module level, by the transport that reads and writes it.
 */
export class FrameSlot<T> {
  private readonly index = slotCount++;

  get(frame: SharedFrame): T | undefined {
    const slots = frame.slots;
    return slots === null ? undefined : (slots[this.index] as T | undefined);
  }

  set(frame: SharedFrame, value: T): void {
    (frame.slots ??= [])[this.index] = value;
  }
}

const logger = new Logger('PubSub');

/**
 * The fastlane: a broadcast is encoded at most once per
 * serializer, lazily, on the first subscriber that needs it. One cache is
 * made per dispatched broadcast, keyed on the serializer object itself. An
 * app has one or two serializers, so the first two live in fields and any
 * others in a short list, searched in order.
 */
export class FastlaneCache {
  private serializer0: Serializer | null = null;
  private frame0: SharedFrame | null = null;
  private serializer1: Serializer | null = null;
  private frame1: SharedFrame | null = null;
  private more: Array<{ readonly serializer: Serializer; readonly frame: SharedFrame | null }> | null = null;

  constructor(readonly broadcast: Broadcast) {}

  /**
   * The encoded frame for this serializer, or null when the serializer
   * refuses the broadcast: that is logged once, on the first subscriber,
   * and every other subscriber on the same serializer is skipped at once
   * (a remembered null).
   */
  frameFor(serializer: Serializer): SharedFrame | null {
    if (this.serializer0 === serializer) return this.frame0;
    if (this.serializer1 === serializer) return this.frame1;
    if (this.more !== null) {
      for (const entry of this.more) if (entry.serializer === serializer) return entry.frame;
    }
    const frame = this.encode(serializer);
    if (this.serializer0 === null) {
      this.serializer0 = serializer;
      this.frame0 = frame;
    } else if (this.serializer1 === null) {
      this.serializer1 = serializer;
      this.frame1 = frame;
    } else (this.more ??= []).push({ serializer, frame });
    return frame;
  }

  private encode(serializer: Serializer): SharedFrame | null {
    const { topic, event, payload, position } = this.broadcast;
    try {
      return new SharedFrame(serializer.encodeBroadcast(topic, event, payload, position ?? null));
    } catch (error) {
      logger.error(MESSAGES.broadcastUnencodable(event, topic, serializer.vsn, describe(error)));
      return null;
    }
  }
}

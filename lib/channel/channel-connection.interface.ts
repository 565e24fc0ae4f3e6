import type { PubSub } from '../pubsub/pubsub.js';
import type { SharedFrame } from '../pubsub/fastlane.js';
import type { OutFrame, Serializer } from '../serializers/serializer.interface.js';
import type { ChannelServer } from './channel-server.js';

/**
 * The connection as a channel sees it. `socket/` implements it; `channel/`
 * never imports `socket/` (imports point one way, STYLE.md 1).
 */
export interface ChannelConnection {
  readonly serializer: Serializer;
  /** The connection's assigns, copied into each channel at join. */
  readonly assigns: Readonly<Record<string, any>>;
  readonly id: string | null;
  readonly pubsub: PubSub;
  readonly shutdownTimeoutMs: number;
  /** Tasks one channel's mailbox may hold (`maxQueuedMessages`). */
  readonly maxQueuedMessages: number;
  /** Pushes per second one channel takes from its client (`maxMessagesPerSecond`; Infinity: no limit). */
  readonly maxMessagesPerSecond: number;
  /** False once the transport is closing or closed: writes are dropped. */
  readonly isOpen: boolean;
  /** A human-readable peer for log lines. */
  readonly peer: string;
  /** The transport's name (`'websocket'`, `'longpoll'`, `'test'`), for telemetry. */
  readonly transportName: string;
  write(frame: OutFrame): void;
  writeShared(frame: SharedFrame): void;
  /** The channel ended: drop it from the table if it is still the one registered for its topic. */
  channelEnded(channel: ChannelServer): void;
  /** A mailbox passed `maxQueuedMessages` (`where` names it): the connection closes with 1008. */
  overflow(where: string): void;
  /** A client message (join, push, leave) entered a mailbox: it counts against `maxPendingReplies` until its handler starts. */
  messageQueued(): void;
  /** `count` client messages left their mailboxes: their handlers started, or they were dropped. */
  messagesDequeued(count: number): void;
}

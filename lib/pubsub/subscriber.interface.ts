import type { Broadcast } from '../serializers/message.js';
import type { FastlaneCache } from './fastlane.js';

/**
 * Anything a PubSub delivers broadcasts to on this node: a joined channel
 * (which fastlanes or intercepts), a connection's socket-id subscription, or
 * a plain listener from `ChannelsEndpoint.subscribe`.
 *
 * `deliver` runs inside the dispatch loop: it must not throw and must not
 * await. Work that takes time is queued (a channel's mailbox).
 */
export interface Subscriber {
  deliver(broadcast: Broadcast, fastlane: FastlaneCache): void;
}

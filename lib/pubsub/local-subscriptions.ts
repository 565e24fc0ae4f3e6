import { Logger } from '@nestjs/common';
import { INTERNAL_TOPIC_PREFIX } from '../channels.constants.js';
import { stackOf } from '../channels.messages.js';
import type { Broadcast } from '../serializers/message.js';
import { channels as telemetry, type BroadcastEvent } from '../telemetry/telemetry.js';
import { FastlaneCache } from './fastlane.js';
import type { Subscriber } from './subscriber.interface.js';

/**
 * The subscribers of one node, by topic, and the dispatch loop every PubSub
 * shares: one `FastlaneCache` per broadcast, every subscriber but the
 * excluded sender, one bad subscriber never stops the others.
 */
export class LocalSubscriptions {
  private readonly logger = new Logger('PubSub');
  private readonly byTopic = new Map<string, Set<Subscriber>>();

  /** Adds; returns true when this is the topic's first local subscriber. */
  add(topic: string, subscriber: Subscriber): boolean {
    let set = this.byTopic.get(topic);
    if (set === undefined) {
      set = new Set();
      this.byTopic.set(topic, set);
      set.add(subscriber);
      return true;
    }
    set.add(subscriber);
    return false;
  }

  /** Removes; returns true when the topic has no local subscriber left. */
  remove(topic: string, subscriber: Subscriber): boolean {
    const set = this.byTopic.get(topic);
    if (set === undefined || !set.delete(subscriber)) return false;
    if (set.size === 0) {
      this.byTopic.delete(topic);
      return true;
    }
    return false;
  }

  /** True while the topic has a local subscriber. */
  has(topic: string): boolean {
    return this.byTopic.has(topic);
  }

  /** How many local subscribers the topic has. */
  count(topic: string): number {
    return this.byTopic.get(topic)?.size ?? 0;
  }

  /** Every topic with a local subscriber (e.g. to re-subscribe after a reconnect). */
  topics(): IterableIterator<string> {
    return this.byTopic.keys();
  }

  /** Delivers to every local subscriber of the topic except `from`; the `broadcast` telemetry event when someone listens. */
  dispatch(broadcast: Broadcast, from: Subscriber | null): void {
    // The library's own topics (Presence's replication) are not the app's broadcasts.
    if (telemetry.broadcast.hasSubscribers && !broadcast.topic.startsWith(INTERNAL_TOPIC_PREFIX)) {
      this.timedDispatch(broadcast, from);
      return;
    }
    const set = this.byTopic.get(broadcast.topic);
    if (set !== undefined) this.deliver(set, broadcast, from);
  }

  private timedDispatch(broadcast: Broadcast, from: Subscriber | null): void {
    const startedAt = performance.now();
    const set = this.byTopic.get(broadcast.topic);
    const subscribers = set === undefined ? 0 : this.deliver(set, broadcast, from);
    const event: BroadcastEvent = {
      durationMs: performance.now() - startedAt,
      topic: broadcast.topic,
      event: broadcast.event,
      subscribers,
    };
    telemetry.broadcast.publish(event);
  }

  /** Returns how many subscribers it was delivered to. */
  private deliver(set: Set<Subscriber>, broadcast: Broadcast, from: Subscriber | null): number {
    const cache = new FastlaneCache(broadcast);
    let delivered = 0;
    for (const subscriber of set) {
      if (subscriber === from) continue;
      delivered++;
      try {
        subscriber.deliver(broadcast, cache);
      } catch (error) {
        // `deliver` is not supposed to throw; if one does, the others must still get the broadcast.
        this.logger.error(
          `a subscriber of ${broadcast.topic} threw on ${broadcast.event}: ${stackOf(error)}`,
        );
      }
    }
    return delivered;
  }
}

import { hostname } from 'node:os';
import { LocalSubscriptions } from './local-subscriptions.js';
import { PubSub } from './pubsub.js';
import type { Subscriber } from './subscriber.interface.js';

/** One settled promise for every broadcast: nothing to wait for on one node. */
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * The in-memory PubSub: one node, no network. The default.
 *
 * @publicApi
 */
export class LocalPubSub extends PubSub {
  readonly node: string;
  private readonly subscriptions = new LocalSubscriptions();

  constructor(options: { node?: string } = {}) {
    super();
    this.node = options.node ?? `${hostname()}:${process.pid}`;
  }

  subscribe(topic: string, subscriber: Subscriber): void {
    this.subscriptions.add(topic, subscriber);
  }

  unsubscribe(topic: string, subscriber: Subscriber): void {
    this.subscriptions.remove(topic, subscriber);
  }

  /** With one node, every broadcast is a local one. */
  broadcast(topic: string, event: string, payload: unknown, from: Subscriber | null = null): Promise<void> {
    return this.localBroadcast(topic, event, payload, from);
  }

  localBroadcast(topic: string, event: string, payload: unknown, from: Subscriber | null = null): Promise<void> {
    this.subscriptions.dispatch({ topic, event, payload }, from);
    return RESOLVED;
  }
}

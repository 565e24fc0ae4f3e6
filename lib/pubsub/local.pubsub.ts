import { hostname } from 'node:os';
import { HISTORY_MESSAGES } from '../history/history.messages.js';
import type { HistoryPolicy, HistoryPosition, HistoryPubSub, HistoryRead } from '../history/history.types.js';
import { MemoryHistory } from '../history/memory-history.js';
import { SerializationError } from '../errors/errors.js';
import { isBinaryPayload } from '../serializers/message.js';
import { LocalSubscriptions } from './local-subscriptions.js';
import { PubSub } from './pubsub.js';
import type { Subscriber } from './subscriber.interface.js';

/** One settled promise for every broadcast: nothing to wait for on one node. */
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * The in-memory PubSub: one node, no network. The default.
 *
 * Topics whose channel asks for history keep their recent broadcasts in
 * memory: each broadcast gets its position and is stored in the same
 * synchronous call that dispatches it.
 *
 * @publicApi
 */
export class LocalPubSub extends PubSub implements HistoryPubSub {
  readonly node: string;
  private readonly subscriptions = new LocalSubscriptions();
  private history: MemoryHistory | null = null;

  constructor(options: { node?: string } = {}) {
    super();
    this.node = options.node ?? `${hostname()}:${process.pid}`;
  }

  subscribe(topic: string, subscriber: Subscriber): void {
    this.subscriptions.add(topic, subscriber);
  }

  unsubscribe(topic: string, subscriber: Subscriber): void {
    // A client that lost its connection rejoins within ttlMs of leaving: its topic's epoch must still be there.
    if (this.subscriptions.remove(topic, subscriber)) this.history?.touch(topic);
  }

  /** With one node, every broadcast is a local one, kept first when its topic has history. */
  broadcast(topic: string, event: string, payload: unknown, from: Subscriber | null = null): Promise<void> {
    const history = this.history;
    const options = history === null ? null : history.policy(topic);
    if (options === null) return this.localBroadcast(topic, event, payload, from);
    if (isBinaryPayload(payload)) return Promise.reject(new SerializationError(HISTORY_MESSAGES.binary(event, topic)));
    const position = history!.append(topic, options, event, payload);
    this.subscriptions.dispatch({ topic, event, payload, position }, from);
    return RESOLVED;
  }

  localBroadcast(topic: string, event: string, payload: unknown, from: Subscriber | null = null): Promise<void> {
    this.subscriptions.dispatch({ topic, event, payload }, from);
    return RESOLVED;
  }

  useHistory(policy: HistoryPolicy): void {
    this.history = new MemoryHistory(policy, (topic) => this.subscriptions.has(topic));
  }

  readHistory(topic: string, since: HistoryPosition | null): HistoryRead {
    const history = this.history;
    const options = history === null ? null : history.policy(topic);
    if (options === null) throw new Error(HISTORY_MESSAGES.notKept(topic));
    return history!.read(topic, options, since);
  }

  override close(): Promise<void> {
    this.history?.close();
    return RESOLVED;
  }
}

import type { Subscriber } from './subscriber.interface.js';

/**
 * The PubSub contract, and the injection token of the PubSub provider.
 *
 * A PubSub carries broadcasts between the subscribers of a topic, on this
 * node (`localBroadcast`) or on every node it reaches (`broadcast`). It
 * dispatches to local subscribers synchronously, inside the publishing call,
 * through `LocalSubscriptions.dispatch`, so a broadcast is encoded once per
 * serializer on each node (the fastlane).
 *
 * `subscribe` may return a promise: it settles once broadcasts from other
 * nodes will reach the subscriber (a join replies only after that).
 * `broadcast` rejects with `PubSubUnavailableError` when it cannot publish,
 * and then delivers nowhere; the one exception is a failure learnt only after
 * local delivery (a connection lost while the publish was in flight).
 *
 * Presence runs on top of this contract and needs two more things of a
 * PubSub that spans nodes: `node` must be unique per live node, and
 * `isConnected` / `onConnectionChange` must tell when this node stops (and
 * starts again) reaching the others, so that a node cut off from the others
 * does not declare them dead. A single-node PubSub keeps the defaults
 * (always connected).
 *
 * @publicApi
 */
export abstract class PubSub {
  /** This node's name. */
  abstract readonly node: string;

  /** Starts delivering `topic`'s broadcasts to `subscriber`; a promise settles once other nodes' reach it too. */
  abstract subscribe(topic: string, subscriber: Subscriber): void | Promise<void>;

  /** Stops delivering `topic`'s broadcasts to `subscriber`. */
  abstract unsubscribe(topic: string, subscriber: Subscriber): void | Promise<void>;

  /** Publishes to every node; `from` is skipped (broadcast_from). */
  abstract broadcast(topic: string, event: string, payload: unknown, from?: Subscriber | null): Promise<void>;

  /** Delivers on this node only; `from` is skipped. */
  abstract localBroadcast(topic: string, event: string, payload: unknown, from?: Subscriber | null): Promise<void>;

  /**
   * False while this node cannot reach the other nodes (its link to them is
   * down); broadcasts then fail. @default true (always connected)
   */
  get isConnected(): boolean {
    return true;
  }

  /**
   * Calls `listener` with the new `isConnected` each time it changes;
   * returns a function that removes the listener. The default never calls
   * (a PubSub that is always connected has nothing to report).
   */
  onConnectionChange(_listener: (connected: boolean) => void): () => void {
    return noop;
  }

  /** Called once when the application starts; connect here. */
  init(): Promise<void> {
    return Promise.resolve();
  }

  /** Called once when the application shuts down; release connections here. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function noop(): void {}

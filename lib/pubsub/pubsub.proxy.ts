import { ChannelsError, ERROR_CODE } from '../errors/errors.js';
import { PubSub } from './pubsub.js';
import type { Subscriber } from './subscriber.interface.js';

/**
 * What `@Inject(PubSub)` resolves to: the app's one PubSub, chosen at module
 * init from the mounts' options (several `forRoot` mounts share it, and only
 * then is it known which one was given).
 */
export class PubSubProxy extends PubSub {
  private target: PubSub | null = null;

  /** @internal */
  bind(target: PubSub): void {
    this.target = target;
  }

  /** The PubSub behind the proxy. */
  get delegate(): PubSub {
    if (this.target === null) {
      throw new ChannelsError(ERROR_CODE.closed, 'the PubSub is not ready: ChannelsModule has not been initialised yet');
    }
    return this.target;
  }

  get node(): string {
    return this.delegate.node;
  }

  override get isConnected(): boolean {
    return this.delegate.isConnected;
  }

  override onConnectionChange(listener: (connected: boolean) => void): () => void {
    return this.delegate.onConnectionChange(listener);
  }

  subscribe(topic: string, subscriber: Subscriber): void | Promise<void> {
    return this.delegate.subscribe(topic, subscriber);
  }

  unsubscribe(topic: string, subscriber: Subscriber): void | Promise<void> {
    return this.delegate.unsubscribe(topic, subscriber);
  }

  broadcast(topic: string, event: string, payload: unknown, from?: Subscriber | null): Promise<void> {
    return this.delegate.broadcast(topic, event, payload, from);
  }

  localBroadcast(topic: string, event: string, payload: unknown, from?: Subscriber | null): Promise<void> {
    return this.delegate.localBroadcast(topic, event, payload, from);
  }
}

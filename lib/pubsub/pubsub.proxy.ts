import { Logger } from '@nestjs/common';
import { ChannelsError, ERROR_CODE } from '../errors/errors.js';
import { observe, settle } from '../errors/observe.js';
import { PubSub } from './pubsub.js';
import type { Subscriber } from './subscriber.interface.js';

const logger = new Logger('PubSub');

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

  // Whatever PubSub is behind it, the promises handed to the app are observed: a rejection nobody
  // awaits is logged, never an unhandled rejection.

  subscribe(topic: string, subscriber: Subscriber): void | Promise<void> {
    return observe(settle(() => this.delegate.subscribe(topic, subscriber)), logger, 'PubSub subscribe', topic);
  }

  unsubscribe(topic: string, subscriber: Subscriber): void | Promise<void> {
    return observe(settle(() => this.delegate.unsubscribe(topic, subscriber)), logger, 'PubSub unsubscribe', topic);
  }

  broadcast(topic: string, event: string, payload: unknown, from?: Subscriber | null): Promise<void> {
    return observe(settle(() => this.delegate.broadcast(topic, event, payload, from)), logger, 'PubSub broadcast', topic);
  }

  localBroadcast(topic: string, event: string, payload: unknown, from?: Subscriber | null): Promise<void> {
    return observe(settle(() => this.delegate.localBroadcast(topic, event, payload, from)), logger, 'PubSub broadcast', topic);
  }
}

import { Injectable, Logger } from '@nestjs/common';
import { ChannelsHost } from '../channels.host.js';
import { MESSAGES, describe } from '../channels.messages.js';
import { WIRE } from '../channels.constants.js';
import { ChannelsError, ERROR_CODE, PubSubUnavailableError } from '../errors/errors.js';
import type { FastlaneCache } from '../pubsub/fastlane.js';
import type { Subscriber } from '../pubsub/subscriber.interface.js';
import { isBroadcastPayload, type Broadcast } from '../serializers/message.js';

class ListenerSubscriber implements Subscriber {
  constructor(
    private readonly listener: (broadcast: Broadcast) => void,
    private readonly logger: Logger,
  ) {}

  deliver(broadcast: Broadcast, _fastlane: FastlaneCache): void {
    try {
      this.listener(broadcast);
    } catch (error) {
      this.logger.error(`a ChannelsEndpoint.subscribe listener on ${broadcast.topic} threw: ${describe(error)}`);
    }
  }
}

/**
 * Broadcasts and disconnects from anywhere in the app.
 *
 * @example await endpoint.broadcast(`room:${id}`, 'new_msg', post);
 * @publicApi
 */
@Injectable()
export class ChannelsEndpoint {
  private readonly logger = new Logger('ChannelsEndpoint');

  constructor(private readonly host: ChannelsHost) {}

  /** Broadcasts on `topic` on every node; rejects (and delivers nowhere) when the PubSub cannot publish. */
  broadcast(topic: string, event: string, payload: unknown): Promise<void> {
    return this.guard(topic, event, payload, () => this.host.pubsub.broadcast(topic, event, payload));
  }

  /** Broadcasts on `topic` on this node only. */
  localBroadcast(topic: string, event: string, payload: unknown): Promise<void> {
    return this.guard(topic, event, payload, () => this.host.pubsub.localBroadcast(topic, event, payload));
  }

  /** Calls `listener` with each broadcast on `topic`; resolves to an unsubscribe function. */
  async subscribe(topic: string, listener: (broadcast: Broadcast) => void): Promise<() => Promise<void>> {
    const subscriber = new ListenerSubscriber(listener, this.logger);
    await this.host.pubsub.subscribe(topic, subscriber);
    return async () => {
      await this.host.pubsub.unsubscribe(topic, subscriber);
    };
  }

  /** Closes every connection whose socket id is `socketId`, on every node the PubSub reaches (P-54). */
  disconnect(socketId: string): Promise<void> {
    return this.guard(socketId, WIRE.disconnect, {}, () => this.host.pubsub.broadcast(socketId, WIRE.disconnect, {}));
  }

  private guard(topic: string, event: string, payload: unknown, publish: () => Promise<void>): Promise<void> {
    if (!isBroadcastPayload(payload)) {
      return Promise.reject(
        new ChannelsError(ERROR_CODE.serialization, MESSAGES.badPushPayload(`ChannelsEndpoint broadcast('${event}')`, payload)),
      );
    }
    let published: Promise<void>;
    try {
      published = publish();
    } catch (error) {
      published = Promise.reject(error);
    }
    // A rejection nobody awaits must not take the process down: this handler marks it handled,
    // while a caller that awaits still sees it. An outage is logged once by the PubSub itself,
    // so its per-broadcast failures stay at debug.
    published.catch((error: unknown) => {
      const line = `broadcast '${event}' on ${topic} failed: ${describe(error)}`;
      if (error instanceof PubSubUnavailableError) this.logger.debug(line);
      else this.logger.warn(line);
    });
    return published;
  }
}

import { Injectable, Logger } from '@nestjs/common';
import { ChannelsHost } from '../channels.host.js';
import { MESSAGES, describe } from '../channels.messages.js';
import { WIRE } from '../channels.constants.js';
import { ChannelsError, ERROR_CODE } from '../errors/errors.js';
import { observe, settle } from '../errors/observe.js';
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
  subscribe(topic: string, listener: (broadcast: Broadcast) => void): Promise<() => Promise<void>> {
    const subscriber = new ListenerSubscriber(listener, this.logger);
    const unsubscribe = (): Promise<void> =>
      observe(settle(() => this.host.pubsub.unsubscribe(topic, subscriber)), this.logger, 'ChannelsEndpoint unsubscribe', topic);
    return observe(
      settle(() => this.host.pubsub.subscribe(topic, subscriber)).then(() => unsubscribe),
      this.logger,
      'ChannelsEndpoint subscribe',
      topic,
    );
  }

  /** Closes every connection whose socket id is `socketId`, on every node the PubSub reaches (P-54). */
  disconnect(socketId: string): Promise<void> {
    return this.guard(socketId, WIRE.disconnect, {}, () => this.host.pubsub.broadcast(socketId, WIRE.disconnect, {}));
  }

  /** Every promise handed out is observed: a rejection nobody awaits is logged, never fatal to the process. */
  private guard(topic: string, event: string, payload: unknown, publish: () => Promise<void>): Promise<void> {
    const published = isBroadcastPayload(payload)
      ? settle(publish)
      : Promise.reject(
          new ChannelsError(ERROR_CODE.serialization, MESSAGES.badPushPayload(`ChannelsEndpoint broadcast('${event}')`, payload)),
        );
    return observe(published, this.logger, `ChannelsEndpoint broadcast '${event}'`, topic);
  }
}

import { Inject, Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { CHANNELS_MOUNT_OPTIONS } from '../channels.constants.js';
import { MESSAGES } from '../channels.messages.js';
import type { ResolvedChannelsOptions } from '../interfaces/channels-module-options.interface.js';
import type { ConnectInfo, SocketHandler } from '../interfaces/socket-handler.interface.js';
import type { PubSub } from '../pubsub/pubsub.js';
import type { ChannelRegistry } from '../registry/channel.registry.js';
import type { Serializer } from '../serializers/serializer.interface.js';
import { SocketAcceptor, type ConnectOutcome } from './socket-acceptor.js';
import { SocketConnection, type MountContext } from './socket-connection.js';
import type { SocketState } from './socket-state.js';
import type { Transport } from './transport.interface.js';

/**
 * One `ChannelsModule.forRoot` mount: its options, socket handler, channel
 * registry and live connections. Transports ask it to accept a connection
 * and to open one over themselves.
 */
@Injectable()
export class ChannelsMount implements MountContext {
  readonly connections = new Set<SocketConnection>();
  private ready: { registry: ChannelRegistry; pubsub: PubSub; acceptor: SocketAcceptor } | null = null;
  private readonly logger = new Logger('ChannelsMount');

  constructor(
    @Inject(CHANNELS_MOUNT_OPTIONS) readonly options: ResolvedChannelsOptions,
    private readonly moduleRef: ModuleRef,
  ) {}

  get name(): string {
    return this.options.path;
  }

  get registry(): ChannelRegistry {
    return this.setup.registry;
  }

  get pubsub(): PubSub {
    return this.setup.pubsub;
  }

  get isReady(): boolean {
    return this.ready !== null;
  }

  private get setup() {
    if (this.ready === null) throw new Error(`channels mount ${this.name} used before module init`);
    return this.ready;
  }

  /** @internal Called by ChannelsHost at module init. */
  async configure(registry: ChannelRegistry, pubsub: PubSub): Promise<void> {
    const handler = await this.resolveHandler();
    this.ready = { registry, pubsub, acceptor: new SocketAcceptor(this.options, handler) };
  }

  /**
   * @internal Called by ChannelsHost once the HTTP server listens: says what
   * this mount serves, or why clients will find nothing there.
   */
  announce(adapterInstalled: boolean): void {
    const { websocketPath, longpoll, longpollPath } = this.options;
    const at = longpoll === null ? websocketPath : `${websocketPath} and ${longpollPath}`;
    if (!adapterInstalled) this.logger.warn(MESSAGES.adapterMissing(at));
    else if (this.registry.size === 0) this.logger.warn(MESSAGES.noChannels(at));
    else this.logger.log(MESSAGES.serving(this.registry.size, this.registry.patterns, at));
  }

  /** Logs a join no channel pattern matches, with the patterns this mount serves. */
  unmatchedJoin(topic: string): void {
    this.logger.warn(MESSAGES.unmatchedJoin(topic, this.name, this.registry.patterns));
  }

  /** Runs the connect step (vsn, connect, id). */
  accept(params: Record<string, any>, info: ConnectInfo): Promise<ConnectOutcome> {
    return this.setup.acceptor.accept(params, info);
  }

  /** Opens an accepted connection over a transport. */
  open(serializer: Serializer, state: SocketState, transport: Transport): SocketConnection {
    const connection = new SocketConnection(this, serializer, state, transport);
    connection.start();
    return connection;
  }

  private async resolveHandler(): Promise<SocketHandler | null> {
    const type = this.options.socket;
    if (type === null) return null;
    try {
      return this.moduleRef.get(type, { strict: false });
    } catch {
      // Not registered as a provider: build it with its dependencies, as Nest would.
      return this.moduleRef.create(type);
    }
  }
}

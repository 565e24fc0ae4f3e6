import { Inject, Injectable, Logger, type Type } from '@nestjs/common';
import { DiscoveryService, ModuleRef } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { CHANNELS_MOUNT_OPTIONS } from '../channels.constants.js';
import { MESSAGES } from '../channels.messages.js';
import { ChannelsConfigurationError } from '../errors/errors.js';
import type { ResolvedChannelsOptions } from '../interfaces/channels-module-options.interface.js';
import type { ConnectInfo, SocketHandler } from '../interfaces/socket-handler.interface.js';
import type { PubSub } from '../pubsub/pubsub.js';
import type { EnhancedCall } from '../registry/channel-definition.js';
import { CONNECT_ARGS, ChannelContextCreator } from '../registry/channel-context-creator.js';
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
  /** One timer for every connection's heartbeat timeout (rather than one per connection); runs while connections live. */
  private idleSweep: NodeJS.Timeout | null = null;
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

  /** @internal Called by ChannelsHost at module init, with the app-wide services it holds. */
  async configure(registry: ChannelRegistry, pubsub: PubSub, discovery: DiscoveryService, contextCreator: ChannelContextCreator): Promise<void> {
    const acceptor = await this.prepareAcceptor(discovery, contextCreator);
    this.ready = { registry, pubsub, acceptor };
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

  /**
   * Starts the idle sweep if it is not running: every tenth of
   * `heartbeatTimeout` it asks each live connection whether it has been
   * silent for the timeout, so a silent connection closes between one and
   * 1.1 timeouts after its last frame. It stops once no connection is left.
   */
  watchIdle(): void {
    if (this.idleSweep !== null) return;
    const everyMs = Math.max(1, Math.ceil(this.options.heartbeatTimeoutMs / 10));
    this.idleSweep = setInterval(this.sweepIdle, everyMs);
    this.idleSweep.unref();
  }

  private readonly sweepIdle = (): void => {
    if (this.connections.size === 0) {
      if (this.idleSweep !== null) clearInterval(this.idleSweep);
      this.idleSweep = null;
      return;
    }
    const now = Date.now();
    // A connection that closes here leaves the set; deleting the current entry keeps a Set's iteration valid.
    for (const connection of this.connections) connection.checkIdle(now);
  };

  /** Logs a join no channel pattern matches, with the patterns this mount serves. */
  unmatchedJoin(topic: string): void {
    this.logger.warn(MESSAGES.unmatchedJoin(topic, this.name, this.registry.patterns));
  }

  /** Runs the connect step (vsn, guards and connect, id). */
  accept(params: Record<string, any>, info: ConnectInfo): Promise<ConnectOutcome> {
    return this.setup.acceptor.accept(params, info);
  }

  /** Opens an accepted connection over a transport. */
  open(serializer: Serializer, state: SocketState, transport: Transport): SocketConnection {
    const connection = new SocketConnection(this, serializer, state, transport);
    connection.start();
    return connection;
  }

  /**
   * The socket handler, as its own host module provides it, and its
   * `connect` behind the guards (and other enhancers) on its class or method
   * or app-wide, as Nest calls gateway handlers.
   */
  private async prepareAcceptor(discovery: DiscoveryService, contextCreator: ChannelContextCreator): Promise<SocketAcceptor> {
    const type = this.options.socket;
    if (type === null) return new SocketAcceptor(this.options, null);
    const wrappers = discovery.getProviders().filter((wrapper) => wrapper.metatype === type && !wrapper.isAlias);
    if (new Set(wrappers.map((wrapper) => wrapper.host)).size > 1) {
      throw new ChannelsConfigurationError(MESSAGES.socketHandlerInModules(type.name, wrappers.map((w) => w.host?.name).join(', ')));
    }
    const wrapper = wrappers[0];
    const handler = await this.handlerInstance(type, wrapper);
    let guarded: EnhancedCall | null = null;
    if (contextCreator.needsContext(type, 'connect')) {
      if (wrapper === undefined) {
        throw new ChannelsConfigurationError(MESSAGES.socketHandlerNotProvided(type.name));
      }
      guarded = contextCreator.prepare({ type, method: 'connect', inquirerId: wrapper.id, positional: CONNECT_ARGS })(handler);
    }
    return new SocketAcceptor(this.options, handler, guarded);
  }

  private async handlerInstance(type: Type<SocketHandler>, wrapper: InstanceWrapper | undefined): Promise<SocketHandler> {
    if (wrapper !== undefined && wrapper.isDependencyTreeStatic() && !wrapper.isTransient) return wrapper.instance as SocketHandler;
    // Not a provider (built with what this mount's module can inject, as before), or a transient provider (one instance for the mount).
    const moduleRef = wrapper?.host?.getProviderByKey(ModuleRef).instance as ModuleRef | undefined;
    return (moduleRef ?? this.moduleRef).create(type);
  }
}

/**
 * The app-wide side of nestjs-channels (one per app, whatever the number of
 * mounts): at module init it explores the channels, picks the PubSub and
 * configures every mount; at shutdown it drains every connection.
 */
import {
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { DiscoveryService, HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'node:net';
import { describe } from './channels.messages.js';
import { ChannelsConfigurationError } from './errors/errors.js';
import { historyPolicy } from './history/history-policy.js';
import { HISTORY_MESSAGES } from './history/history.messages.js';
import { supportsHistory } from './history/history.types.js';
import { resolvePresenceOptions } from './presence/presence-options.js';
import { PRESENCE_MESSAGES } from './presence/presence.messages.js';
import { PresenceTracker } from './presence/presence.tracker.js';
import type { ResolvedPresenceOptions } from './presence/presence.types.js';
import { LocalPubSub } from './pubsub/local.pubsub.js';
import type { PubSub } from './pubsub/pubsub.js';
import { PubSubProxy } from './pubsub/pubsub.proxy.js';
import { ChannelContextCreator } from './registry/channel-context-creator.js';
import { ChannelExplorer } from './registry/channel.explorer.js';
import { ChannelRegistry } from './registry/channel.registry.js';
import { ChannelsMount } from './socket/channels-mount.js';

@Injectable()
export class ChannelsHost
  implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  readonly pubsubProxy = new PubSubProxy();
  /** The app's one presence tracker (behind the injectable `Presence`), started once the PubSub is. */
  readonly presence = new PresenceTracker();
  private readonly logger = new Logger('ChannelsHost');
  private mountList: ChannelsMount[] = [];
  private draining = false;
  private adapterInstalled = false;
  /** The HTTP server whose `listening` event we wait for, to say what is served there. */
  private listeningOn: Server | null = null;
  private readonly announce = (): void => {
    for (const mount of this.mountList) mount.announce(this.adapterInstalled);
  };

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly explorer: ChannelExplorer,
    private readonly contextCreator: ChannelContextCreator,
    private readonly httpAdapterHost: HttpAdapterHost,
  ) {}

  /** @internal Called by `ChannelsAdapter` when it attaches to this app's HTTP server. */
  adapterAttached(): void {
    this.adapterInstalled = true;
  }

  get mounts(): readonly ChannelsMount[] {
    return this.mountList;
  }

  get pubsub(): PubSub {
    return this.pubsubProxy.delegate;
  }

  /** True once shutdown began: transports refuse new connections. */
  get isDraining(): boolean {
    return this.draining;
  }

  async onModuleInit(): Promise<void> {
    const definitions = this.explorer.explore();
    const mounts = this.discovery
      .getProviders()
      .map((wrapper) => wrapper.instance)
      .filter((instance): instance is ChannelsMount => instance instanceof ChannelsMount);
    const paths = new Set<string>();
    for (const mount of mounts) {
      if (paths.has(mount.options.websocketPath)) {
        throw new ChannelsConfigurationError(`two ChannelsModule mounts use the path ${mount.options.path}`);
      }
      paths.add(mount.options.websocketPath);
    }
    const given = mounts.map((mount) => mount.options.pubsub).filter((pubsub): pubsub is PubSub => pubsub !== null);
    if (new Set(given).size > 1) {
      throw new ChannelsConfigurationError('an app has one PubSub: give the pubsub option on one ChannelsModule mount only');
    }
    // Every mount's channel set is checked before the PubSub connects: a bad configuration starts nothing.
    const registries = mounts.map((mount) => {
      const selected = mount.options.channels;
      return new ChannelRegistry(this.explorer.select(mount.options.path, selected, definitions), selected !== null);
    });
    const pubsub = given[0] ?? new LocalPubSub();
    const presenceOptions = mounts
      .map((mount) => mount.options.presence)
      .filter((options): options is ResolvedPresenceOptions => options !== null);
    if (presenceOptions.length > 1) throw new ChannelsConfigurationError(PRESENCE_MESSAGES.twoMounts());
    const history = historyPolicy(definitions);
    if (history !== null) {
      if (!supportsHistory(pubsub)) {
        const names = definitions.filter((definition) => definition.history !== null).map((definition) => definition.name);
        throw new ChannelsConfigurationError(HISTORY_MESSAGES.unsupported(pubsub.constructor.name, names.join(', ')));
      }
      pubsub.useHistory(history);
    }
    this.pubsubProxy.bind(pubsub);
    await pubsub.init();
    await this.presence.start(pubsub, presenceOptions[0] ?? resolvePresenceOptions());
    for (const [index, mount] of mounts.entries()) {
      await mount.configure(registries[index]!, pubsub, this.discovery, this.contextCreator);
    }
    this.mountList = mounts;
  }

  /**
   * Once the app's HTTP server listens, each mount says what it serves, or
   * why clients will find nothing (no `ChannelsAdapter`, no channel). An app
   * that never listens (the test kit, an application context) says nothing.
   */
  onApplicationBootstrap(): void {
    const server = this.httpAdapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (server === undefined || typeof server.once !== 'function') return;
    if (server.listening) {
      this.announce();
      return;
    }
    this.listeningOn = server;
    server.once('listening', this.announce);
  }

  /** The mount whose WebSocket path is `pathname`, if any. */
  mountForWebsocket(pathname: string): ChannelsMount | undefined {
    for (const mount of this.mountList) if (mount.options.websocketPath === pathname) return mount;
    return undefined;
  }

  /** The mount serving long-poll at `pathname`, if any. */
  mountForLongpoll(pathname: string): ChannelsMount | undefined {
    for (const mount of this.mountList) {
      if (mount.options.longpoll !== null && mount.options.longpollPath === pathname) return mount;
    }
    return undefined;
  }

  /** Drain: refuse new connections, end every channel `{ shutdown: 'draining' }`, close 1012. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    const draining: Promise<void>[] = [];
    for (const mount of this.mountList) {
      for (const connection of [...mount.connections]) draining.push(connection.drain());
    }
    if (draining.length > 0) this.logger.log(`draining ${draining.length} connection(s)`);
    await Promise.all(draining);
  }

  async onApplicationShutdown(): Promise<void> {
    this.listeningOn?.off('listening', this.announce);
    this.listeningOn = null;
    try {
      // Before the PubSub closes: the drained channels' leaves and a goodbye still reach the other nodes.
      await this.presence.stop();
    } catch (error) {
      this.logger.warn(`stopping Presence failed: ${(error as Error)?.message ?? String(error)}`);
    }
    try {
      await this.pubsubProxy.delegate.close();
    } catch (error) {
      this.logger.warn(`closing the PubSub failed: ${describe(error)}`);
    }
  }
}

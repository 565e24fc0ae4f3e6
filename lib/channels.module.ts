import { Global, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { CHANNELS_MOUNT_OPTIONS } from './channels.constants.js';
import { ChannelsHost } from './channels.host.js';
import { resolveOptions } from './channels.options.js';
import { ChannelsEndpoint } from './endpoint/channels-endpoint.js';
import { ChannelsConfigurationError } from './errors/errors.js';
import type {
  ChannelsModuleAsyncOptions,
  ChannelsModuleOptions,
  ChannelsOptionsFactory,
} from './interfaces/channels-module-options.interface.js';
import { Presence } from './presence/presence.js';
import { PubSub } from './pubsub/pubsub.js';
import { ChannelContextCreator } from './registry/channel-context-creator.js';
import { ChannelExplorer } from './registry/channel.explorer.js';
import { ChannelMetadataAccessor } from './registry/channel-metadata.accessor.js';
import { ChannelsMount } from './socket/channels-mount.js';

/** What exists once per app, however many mounts: explorer, host, endpoint, Presence, the PubSub token. */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [
    ChannelMetadataAccessor,
    ChannelContextCreator,
    ChannelExplorer,
    ChannelsHost,
    ChannelsEndpoint,
    Presence,
    { provide: PubSub, useFactory: (host: ChannelsHost) => host.pubsubProxy, inject: [ChannelsHost] },
  ],
  exports: [ChannelsEndpoint, Presence, PubSub, ChannelsHost],
})
class ChannelsCoreModule {}

/**
 * Mounts Phoenix channels on a path. Each call is one mount with its own
 * socket handler and channel set; the PubSub, `ChannelsEndpoint` and
 * `Presence` are shared by all mounts of the app.
 *
 * @example ChannelsModule.forRoot({ path: '/socket', socket: UserSocket })
 * @publicApi
 */
@Module({})
export class ChannelsModule {
  static forRoot(options: ChannelsModuleOptions = {}): DynamicModule {
    const resolved = resolveOptions(options);
    return ChannelsModule.mount([{ provide: CHANNELS_MOUNT_OPTIONS, useValue: resolved }], []);
  }

  /**
   * A mount whose options come from a provider: `useFactory` with `inject`,
   * `useClass` or `useExisting` (a `ChannelsOptionsFactory`).
   *
   * @example
   * ChannelsModule.forRootAsync({ imports: [ConfigModule], inject: [ConfigService],
   *   useFactory: (config: ConfigService) => ({ path: config.get('SOCKET_PATH') }) })
   * @example ChannelsModule.forRootAsync({ imports: [ConfigModule], useClass: ChannelsConfig })
   */
  static forRootAsync(options: ChannelsModuleAsyncOptions): DynamicModule {
    const given = [options?.useFactory, options?.useClass, options?.useExisting].filter((x) => x !== undefined);
    if (given.length !== 1 || (options.useFactory !== undefined && typeof options.useFactory !== 'function')) {
      throw new ChannelsConfigurationError(
        `ChannelsModule.forRootAsync needs useFactory, useClass or useExisting (exactly one); got ${given.length === 0 ? 'none' : given.length}`,
      );
    }
    const resolve = (given: ChannelsModuleOptions) => resolveOptions({ ...given, socket: given?.socket ?? options.socket });
    const providers: Provider[] = [];
    if (options.useFactory !== undefined) {
      const factory = options.useFactory;
      providers.push({
        provide: CHANNELS_MOUNT_OPTIONS,
        useFactory: async (...args: unknown[]) => resolve(await factory(...args)),
        inject: options.inject ?? [],
      });
    } else {
      const factoryType = (options.useClass ?? options.useExisting)!;
      if (options.useClass !== undefined) providers.push({ provide: factoryType, useClass: factoryType });
      providers.push({
        provide: CHANNELS_MOUNT_OPTIONS,
        useFactory: async (factory: ChannelsOptionsFactory) => resolve(await factory.createChannelsOptions()),
        inject: [factoryType],
      });
    }
    return ChannelsModule.mount(providers, options.imports ?? []);
  }

  private static mount(optionsProviders: Provider[], imports: NonNullable<DynamicModule['imports']>): DynamicModule {
    return {
      module: ChannelsModule,
      imports: [ChannelsCoreModule, ...imports],
      providers: [...optionsProviders, ChannelsMount],
      exports: [ChannelsCoreModule],
    };
  }
}

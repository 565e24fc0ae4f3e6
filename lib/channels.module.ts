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
} from './interfaces/channels-module-options.interface.js';
import { Presence } from './presence/presence.js';
import { PubSub } from './pubsub/pubsub.js';
import { ChannelExplorer } from './registry/channel.explorer.js';
import { ChannelMetadataAccessor } from './registry/channel-metadata.accessor.js';
import { ChannelsMount } from './socket/channels-mount.js';

/** What exists once per app, however many mounts: explorer, host, endpoint, Presence, the PubSub token. */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [
    ChannelMetadataAccessor,
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
    return ChannelsModule.mount({ provide: CHANNELS_MOUNT_OPTIONS, useValue: resolved }, []);
  }

  static forRootAsync(options: ChannelsModuleAsyncOptions): DynamicModule {
    if (typeof options?.useFactory !== 'function') {
      throw new ChannelsConfigurationError('ChannelsModule.forRootAsync needs useFactory');
    }
    return ChannelsModule.mount(
      {
        provide: CHANNELS_MOUNT_OPTIONS,
        useFactory: async (...args: unknown[]) => {
          const given = await options.useFactory(...args);
          return resolveOptions({ ...given, socket: given?.socket ?? options.socket });
        },
        inject: options.inject ?? [],
      },
      options.imports ?? [],
    );
  }

  private static mount(optionsProvider: Provider, imports: NonNullable<DynamicModule['imports']>): DynamicModule {
    return {
      module: ChannelsModule,
      imports: [ChannelsCoreModule, ...imports],
      providers: [optionsProvider, ChannelsMount],
      exports: [ChannelsCoreModule],
    };
  }
}

import { SetMetadata } from '@nestjs/common';
import { CHANNEL_METADATA } from '../channels.constants.js';
import type { ChannelOptions } from '../interfaces/channels-module-options.interface.js';

export interface ChannelMetadata {
  readonly pattern: string;
  readonly options: ChannelOptions;
}

/**
 * Every class decorated with `@Channel` in this process, so that start-up can
 * name the ones no module lists as a provider. Read through the accessor.
 */
export const DECLARED_CHANNELS = new Set<Function>();

/**
 * Marks a class as a channel for topics matching `pattern`: an exact topic,
 * or a prefix ending in `*` (`'room:*'`). The class must also be listed as a
 * provider; its constructor dependencies are ordinary Nest DI.
 *
 * @publicApi
 */
export function Channel(pattern: string, options: ChannelOptions = {}): ClassDecorator {
  const metadata: ChannelMetadata = { pattern, options };
  const setMetadata = SetMetadata(CHANNEL_METADATA, metadata);
  return (target) => {
    DECLARED_CHANNELS.add(target);
    setMetadata(target);
  };
}

import { SetMetadata } from '@nestjs/common';
import { CHANNEL_METADATA } from '../channels.constants.js';
import type { ChannelOptions } from '../interfaces/channels-module-options.interface.js';

export interface ChannelMetadata {
  readonly pattern: string;
  readonly options: ChannelOptions;
}

/**
 * Marks a class as a channel for topics matching `pattern`: an exact topic,
 * or a prefix ending in `*` (`'room:*'`). The class must also be listed as a
 * provider; its constructor dependencies are ordinary Nest DI.
 *
 * @publicApi
 */
export function Channel(pattern: string, options: ChannelOptions = {}): ClassDecorator {
  const metadata: ChannelMetadata = { pattern, options };
  return SetMetadata(CHANNEL_METADATA, metadata);
}

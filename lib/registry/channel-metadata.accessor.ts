import { Injectable } from '@nestjs/common';
import {
  CHANNEL_METADATA,
  HANDLE_INFO_METADATA,
  HANDLE_IN_METADATA,
  HANDLE_OUT_METADATA,
  INTERCEPT_METADATA,
  JOIN_METADATA,
  TERMINATE_METADATA,
} from '../channels.constants.js';
import { DECLARED_CHANNELS, type ChannelMetadata } from '../decorators/channel.decorator.js';

/** The one reader of channel metadata; tolerant of odd targets. */
@Injectable()
export class ChannelMetadataAccessor {
  channel(target: unknown): ChannelMetadata | undefined {
    if (typeof target !== 'function') return undefined;
    return Reflect.getMetadata(CHANNEL_METADATA, target) as ChannelMetadata | undefined;
  }

  /** Every class decorated with `@Channel` so far in this process, provider or not. */
  declaredChannels(): ReadonlySet<Function> {
    return DECLARED_CHANNELS;
  }

  intercepts(target: Function): string[] {
    return (Reflect.getMetadata(INTERCEPT_METADATA, target) as string[] | undefined) ?? [];
  }

  isJoin(method: Function): boolean {
    return Reflect.getMetadata(JOIN_METADATA, method) === true;
  }

  handleIn(method: Function): string[] {
    return (Reflect.getMetadata(HANDLE_IN_METADATA, method) as string[] | undefined) ?? [];
  }

  handleOut(method: Function): string[] {
    return (Reflect.getMetadata(HANDLE_OUT_METADATA, method) as string[] | undefined) ?? [];
  }

  isHandleInfo(method: Function): boolean {
    return Reflect.getMetadata(HANDLE_INFO_METADATA, method) === true;
  }

  isTerminate(method: Function): boolean {
    return Reflect.getMetadata(TERMINATE_METADATA, method) === true;
  }
}

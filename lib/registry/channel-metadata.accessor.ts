import { Injectable } from '@nestjs/common';
import {
  EXCEPTION_FILTERS_METADATA,
  GUARDS_METADATA,
  INTERCEPTORS_METADATA,
  PIPES_METADATA,
  ROUTE_ARGS_METADATA,
} from '@nestjs/common/constants.js';
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

/** Keys under which `@UseGuards`, `@UseInterceptors`, `@UsePipes` and `@UseFilters` record their lists. */
const ENHANCER_KEYS = [GUARDS_METADATA, INTERCEPTORS_METADATA, PIPES_METADATA, EXCEPTION_FILTERS_METADATA] as const;

/**
 * The one reader of channel metadata, ours and the Nest metadata that decides
 * how a handler is called (enhancers, parameter decorators); tolerant of odd
 * targets.
 */
@Injectable()
export class ChannelMetadataAccessor {
  /** The key Nest's parameter decorators (`@MessageBody()`, `createParamDecorator`) write under. */
  readonly paramDecoratorsKey = ROUTE_ARGS_METADATA;

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

  /** True when `@UseGuards`, `@UseInterceptors`, `@UsePipes` or `@UseFilters` is on the class or method. */
  hasEnhancers(target: Function): boolean {
    return ENHANCER_KEYS.some((key) => isNonEmpty(Reflect.getMetadata(key, target)));
  }

  /** True when `@UseFilters` is on the class or method. */
  hasFilters(target: Function): boolean {
    return isNonEmpty(Reflect.getMetadata(EXCEPTION_FILTERS_METADATA, target));
  }

  /** The parameter decorators on a method (Nest's record of them), or undefined when it has none. */
  paramDecorators(type: Function, method: string): Record<string, { index: number }> | undefined {
    const metadata = Reflect.getMetadata(ROUTE_ARGS_METADATA, type, method) as Record<string, { index: number }> | undefined;
    return metadata !== undefined && Object.keys(metadata).length > 0 ? metadata : undefined;
  }
}

function isNonEmpty(list: unknown): boolean {
  return Array.isArray(list) && list.length > 0;
}

/**
 * Calls channel handlers the way Nest calls gateway handlers: through Nest's
 * own `ExternalContextCreator`, which resolves the guards, interceptors,
 * pipes and exception filters of the handler, its class and the app (in the
 * class's host module) and the parameter decorators, and builds the call.
 *
 * What a channel adds on top, without touching Nest's machinery:
 * - The execution context's arguments are `(socket, payload, event)`, so
 *   `switchToWs()` gives the channel socket, the payload and the event, and
 *   Nest's `@MessageBody()` / `@ConnectedSocket()` read them as in a gateway.
 * - A handler without parameter decorators keeps its positional arguments:
 *   at start-up it gets parameter metadata of its own (under our key) that
 *   describes them, so pipes see the payload as they would `@MessageBody()`.
 * - A guard that answers false throws `GuardRefusedError` rather than Nest's
 *   `ForbiddenException`, so a refusal is told apart from an error a guard
 *   throws; and what the handler returned comes back wrapped in `Returned`,
 *   so an exception filter's answer is told apart from a handler's result.
 *   Both are done on an object derived from Nest's context creator that
 *   overrides two of its public methods, `createGuardsFn` and
 *   `transformToResult`, for our calls only.
 *
 * Only handlers that something enhances go through here; the others are
 * called directly (see `needsContext`).
 */
import { Injectable, type CanActivate, type ExecutionContext, type ParamData, type Type } from '@nestjs/common';
import { ApplicationConfig, ExternalContextCreator, type ContextId, type ParamsFactory } from '@nestjs/core';
import { WsParamtype } from '@nestjs/websockets/enums/ws-paramtype.enum.js';
import { WsParamsFactory } from '@nestjs/websockets/factories/ws-params-factory.js';
import { isObservable, lastValueFrom, type Observable } from 'rxjs';
import { CHANNEL_PARAMS_METADATA, CHANNEL_PARAMTYPE } from '../channels.constants.js';
import { Returned } from '../channel/results.js';
import { GuardRefusedError } from '../errors/errors.js';
import type { EnhancedCall } from './channel-definition.js';
import { ChannelMetadataAccessor } from './channel-metadata.accessor.js';

/** The Nest context type of every channel call: `context.getType()` answers `'ws'`. */
const CONTEXT_TYPE = 'ws';

/** Which positional arguments a handler kind takes, in order. */
export type PositionalArgs = readonly number[];

/** `@Join()`: `(topic, payload, socket)`. */
export const JOIN_ARGS: PositionalArgs = [CHANNEL_PARAMTYPE.topic, WsParamtype.PAYLOAD, WsParamtype.SOCKET];
/** `@HandleIn()`: `(payload, socket, event)`. */
export const HANDLE_IN_ARGS: PositionalArgs = [WsParamtype.PAYLOAD, WsParamtype.SOCKET, CHANNEL_PARAMTYPE.event];
/** The socket handler's `connect`: `(params, socket, info)`. */
export const CONNECT_ARGS: PositionalArgs = [WsParamtype.PAYLOAD, WsParamtype.SOCKET, CHANNEL_PARAMTYPE.connectInfo];

/** One handler to prepare: the class, its method, how Nest finds its host, and its positional arguments. */
export interface HandlerTarget {
  readonly type: Type<object>;
  readonly method: string;
  /** The provider's id in Nest's container (`InstanceWrapper.id`): it names the host module. */
  readonly inquirerId: string;
  readonly positional: PositionalArgs;
}

/**
 * Hands parameter values to Nest's pipes: Nest's own factory for
 * `@MessageBody()` and `@ConnectedSocket()`, ours for the channel's extra
 * positional arguments. `args` are the execution context's arguments.
 */
class ChannelParamsFactory implements ParamsFactory {
  private readonly ws = new WsParamsFactory();

  exchangeKeyForValue(type: number, data: ParamData, args: unknown[]): unknown {
    switch (type) {
      case CHANNEL_PARAMTYPE.topic:
        return (args[0] as { topic: string }).topic;
      case CHANNEL_PARAMTYPE.event:
        return args[args.length - 1];
      case CHANNEL_PARAMTYPE.connectInfo:
        return args[2];
      default:
        return this.ws.exchangeKeyForValue(type, data as string, args);
    }
  }
}

@Injectable()
export class ChannelContextCreator {
  private readonly creator: ExternalContextCreator;
  private readonly params = new ChannelParamsFactory();

  constructor(
    nest: ExternalContextCreator,
    private readonly config: ApplicationConfig,
    private readonly accessor: ChannelMetadataAccessor,
  ) {
    this.creator = deriveCreator(nest);
  }

  /**
   * True when something enhances the handler: a guard, interceptor, pipe or
   * filter on the method or its class, an app-wide guard, interceptor or
   * pipe, or a parameter decorator. Decided once at start-up; false keeps the
   * direct call. App-wide exception filters do not count: as for Nest's
   * gateways, they are the HTTP app's (see `hasFilters`).
   */
  needsContext(type: Type<object>, method: string): boolean {
    const fn = (type.prototype as Record<string, Function>)[method]!;
    return (
      this.hasGlobalEnhancers() ||
      this.accessor.hasEnhancers(type) ||
      this.accessor.hasEnhancers(fn) ||
      this.accessor.paramDecorators(type, method) !== undefined
    );
  }

  /**
   * True when `@UseFilters` is on the handler or its class. Only then does
   * the call catch errors for filters, and Nest then also tries the app-wide
   * filters, after the handler's own.
   */
  hasFilters(type: Type<object>, method: string): boolean {
    const fn = (type.prototype as Record<string, Function>)[method]!;
    return this.accessor.hasFilters(type) || this.accessor.hasFilters(fn);
  }

  /**
   * Prepares a handler once, at start-up, and returns how to bind it to an
   * instance. Nest binds the instance into the call it builds, so the call is
   * built per channel instance (once per join, and only for handlers that
   * run), from what is prepared here.
   */
  prepare(target: HandlerTarget): (instance: object, contextId?: ContextId) => EnhancedCall {
    const { type, method, inquirerId } = target;
    const metadataKey = this.accessor.paramDecorators(type, method) !== undefined
      ? this.accessor.paramDecoratorsKey
      : this.describePositional(target);
    const filters = this.hasFilters(type, method);
    const callback = (type.prototype as Record<string, (...args: unknown[]) => unknown>)[method]!;
    return (instance, contextId) =>
      this.creator.create(
        instance as never,
        callback,
        method,
        metadataKey,
        this.params,
        contextId,
        inquirerId,
        { guards: true, interceptors: true, filters },
        CONTEXT_TYPE,
      ) as EnhancedCall;
  }

  private hasGlobalEnhancers(): boolean {
    const config = this.config;
    return (
      config.getGlobalGuards().length > 0 ||
      config.getGlobalInterceptors().length > 0 ||
      config.getGlobalPipes().length > 0 ||
      config.getGlobalRequestGuards().length > 0 ||
      config.getGlobalRequestInterceptors().length > 0 ||
      config.getGlobalRequestPipes().length > 0
    );
  }

  /**
   * Parameter metadata for a handler that uses positional arguments, in the
   * shape Nest's parameter decorators write (`'<type>:<index>' → { index, data, pipes }`),
   * stored under our own key so the class's own metadata stays as it is.
   */
  private describePositional(target: HandlerTarget): string {
    const metadata: Record<string, { index: number; data: undefined; pipes: [] }> = {};
    target.positional.forEach((paramtype, index) => {
      metadata[`${paramtype}:${index}`] = { index, data: undefined, pipes: [] };
    });
    Reflect.defineMetadata(CHANNEL_PARAMS_METADATA, metadata, target.type, target.method);
    return CHANNEL_PARAMS_METADATA;
  }
}

/**
 * An object whose prototype is Nest's context creator, overriding two public
 * methods for the calls we build: guards that answer false throw
 * `GuardRefusedError`, and a handler's result is wrapped in `Returned`.
 */
function deriveCreator(nest: ExternalContextCreator): ExternalContextCreator {
  const derived = Object.create(nest) as ExternalContextCreator;
  Object.defineProperties(derived, {
    createGuardsFn: {
      value(this: ExternalContextCreator, guards: CanActivate[], ...rest: unknown[]) {
        return (nest.createGuardsFn as (...args: unknown[]) => unknown).call(this, guards.map(refusingGuard), ...rest);
      },
    },
    transformToResult: {
      async value(result: unknown) {
        return new Returned(await nest.transformToResult(result));
      },
    },
  });
  return derived;
}

/** The guard, throwing `GuardRefusedError` where it would answer false. */
function refusingGuard(guard: CanActivate): CanActivate {
  return {
    canActivate(context: ExecutionContext) {
      const verdict = guard.canActivate(context);
      if (typeof verdict === 'boolean') return verdict || refuse();
      return settleVerdict(verdict);
    },
  };
}

async function settleVerdict(verdict: Promise<boolean> | Observable<boolean>): Promise<boolean> {
  const settled = isObservable(verdict) ? await lastValueFrom(verdict) : await verdict;
  return settled || refuse();
}

function refuse(): never {
  throw new GuardRefusedError();
}

/**
 * Runs once at bootstrap: finds every `@Channel` provider through Nest's
 * discovery, reads its metadata through the accessor, validates each class
 * as a whole and prepares, per handler, how it is called (directly, or
 * through Nest's context machinery when something enhances it), and, per
 * class, how its instances are built in its own host module. One start-up
 * error lists everything wrong, each line naming the class.
 */
import { Injectable, Logger, type Type } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { DEFAULTS } from '../channels.constants.js';
import { MESSAGES } from '../channels.messages.js';
import { ChannelsConfigurationError } from '../errors/errors.js';
import { resolveHistoryOptions } from '../history/history-options.js';
import type { ChannelDefinition, ChannelHandler, PrefixHandler } from './channel-definition.js';
import { channelFactory, contextIdOf } from './channel-factory.js';
import { ChannelContextCreator, HANDLE_IN_ARGS, JOIN_ARGS, type PositionalArgs } from './channel-context-creator.js';
import { ChannelMetadataAccessor } from './channel-metadata.accessor.js';
import { compileTopicPattern } from './topic-matcher.js';

@Injectable()
export class ChannelExplorer {
  private readonly logger = new Logger('ChannelExplorer');
  private definitions: ChannelDefinition[] | null = null;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly accessor: ChannelMetadataAccessor,
    private readonly contextCreator: ChannelContextCreator,
  ) {}

  /** Every channel of the app, validated; explored once and cached. */
  explore(): ChannelDefinition[] {
    if (this.definitions !== null) return this.definitions;
    const problems: string[] = [];
    const hosts = new Map<Type<object>, InstanceWrapper>();
    for (const wrapper of this.discovery.getProviders()) {
      const type = wrapper.metatype as Type<object> | undefined;
      if (!type || typeof type !== 'function' || wrapper.isAlias || !this.accessor.channel(type)) continue;
      const other = hosts.get(type);
      if (other === undefined) hosts.set(type, wrapper);
      else if (other.host !== wrapper.host) problems.push(MESSAGES.providedTwice(type.name, other.host?.name, wrapper.host?.name));
    }
    const definitions: ChannelDefinition[] = [];
    for (const wrapper of hosts.values()) {
      const definition = this.define(wrapper, problems);
      if (definition !== null) definitions.push(definition);
    }
    if (problems.length > 0) throw invalid(problems);
    for (const type of this.accessor.declaredChannels()) {
      if (!hosts.has(type as Type<object>)) {
        this.logger.warn(MESSAGES.channelNotProvided(type.name, this.accessor.channel(type)!.pattern));
      }
    }
    this.definitions = definitions;
    return definitions;
  }

  /**
   * The definitions one mount serves: its `channels` list in its order, or
   * every channel of the app. Two channels of one mount may not share a
   * pattern; two mounts may each have their own `room:*`.
   */
  select(mountPath: string, types: readonly Type<object>[] | null, all: readonly ChannelDefinition[]): ChannelDefinition[] {
    const selected =
      types === null
        ? [...all]
        : types.map((type) => {
            const found = all.find((definition) => definition.type === type);
            if (found === undefined) {
              throw new ChannelsConfigurationError(
                `ChannelsModule channels option lists ${type?.name ?? String(type)}, which is not a @Channel class registered as a provider`,
              );
            }
            return found;
          });
    const problems: string[] = [];
    const byPattern = new Map<string, string>();
    for (const definition of selected) {
      const other = byPattern.get(definition.topic.pattern);
      if (other !== undefined) {
        problems.push(`${definition.name}: pattern '${definition.topic.pattern}' is already served by ${other} on the mount at ${mountPath}`);
      } else byPattern.set(definition.topic.pattern, definition.name);
    }
    if (problems.length > 0) throw invalid(problems);
    return selected;
  }

  private define(wrapper: InstanceWrapper, problems: string[]): ChannelDefinition | null {
    const type = wrapper.metatype as Type<object>;
    const name = type.name;
    const metadata = this.accessor.channel(type)!;
    const before = problems.length;
    const topic = compileTopicPattern(metadata.pattern);
    if (typeof topic === 'string') problems.push(`${name}: ${topic}`);
    const history = resolveHistoryOptions(metadata.options.history);
    if (typeof history === 'string') problems.push(`${name}: ${history}`);

    let join: string | null = null;
    let handleInfo: string | null = null;
    let terminate: string | null = null;
    const handleIn = new Map<string, string>();
    const prefixes = new Map<string, string>();
    const handleOut = new Map<string, string>();
    const single = (current: string | null, method: string, decorator: string): string => {
      if (current !== null) problems.push(`${name}: ${decorator} is on both ${current} and ${method}; a channel has one`);
      return method;
    };
    const addEvents = (events: string[], method: string, decorator: string, allowPrefix: boolean): void => {
      for (const event of events) {
        if (typeof event !== 'string' || event.length === 0) {
          problems.push(`${name}.${method}: ${decorator} needs a non-empty event name`);
          continue;
        }
        const star = event.indexOf('*');
        if (star !== -1 && (!allowPrefix || star !== event.length - 1)) {
          problems.push(
            allowPrefix
              ? `${name}.${method}: '*' may only end an event, as in @HandleIn('ctl:*'); got '${event}'`
              : `${name}.${method}: ${decorator} takes an exact event; got '${event}'`,
          );
          continue;
        }
        const map = star === -1 ? (decorator === '@HandleOut' ? handleOut : handleIn) : prefixes;
        const key = star === -1 ? event : event.slice(0, -1);
        const other = map.get(key);
        if (other !== undefined) problems.push(`${name}: two handlers for ${decorator}('${event}'): ${other} and ${method}`);
        else map.set(key, method);
      }
    };

    const prototype = type.prototype as Record<string, Function>;
    for (const method of this.scanner.getAllMethodNames(prototype)) {
      const fn = prototype[method];
      if (typeof fn !== 'function') continue;
      if (this.accessor.isJoin(fn)) join = single(join, method, '@Join()');
      if (this.accessor.isHandleInfo(fn)) handleInfo = single(handleInfo, method, '@HandleInfo()');
      if (this.accessor.isTerminate(fn)) terminate = single(terminate, method, '@Terminate()');
      addEvents(this.accessor.handleIn(fn), method, '@HandleIn', true);
      addEvents(this.accessor.handleOut(fn), method, '@HandleOut', false);
    }
    if (join === null) problems.push(`${name}: a channel needs a @Join() method`);

    const intercepted = this.accessor.intercepts(type);
    for (const event of handleOut.keys()) {
      if (!intercepted.includes(event)) {
        this.logger.warn(
          `${name}.${handleOut.get(event)} has @HandleOut('${event}') but '${event}' is not in @Intercept; it will never run`,
        );
      }
    }
    for (const event of intercepted) {
      if (!handleOut.has(event)) {
        this.logger.warn(`${name} intercepts '${event}' but has no @HandleOut('${event}'); such a broadcast crashes the channel`);
      }
    }
    const create = channelFactory(wrapper);
    if (typeof create === 'string') problems.push(`${name}: cannot build its instances: ${create}`);
    if (
      problems.length > before ||
      typeof topic === 'string' ||
      typeof history === 'string' ||
      join === null ||
      typeof create === 'string'
    ) {
      return null;
    }

    // ── How each handler is called ──
    let slots = 0;
    const handlers = new Map<string, ChannelHandler>();
    const request = (method: string, positional: PositionalArgs): ChannelHandler => {
      let handler = handlers.get(method);
      if (handler === undefined) {
        handler = this.requestHandler(wrapper, type, method, positional, slots);
        if (handler.slot !== -1) slots++;
        handlers.set(method, handler);
      }
      return handler;
    };
    const callback = (method: string): ChannelHandler => {
      const fn = prototype[method]!;
      if (this.accessor.hasEnhancers(fn) || this.accessor.paramDecorators(type, method) !== undefined) {
        this.logger.warn(MESSAGES.enhancerIgnored(`${name}.${method}`));
      }
      return { method, where: `${name}.${method}`, slot: -1, enhance: null };
    };
    const joinHandler = request(join, JOIN_ARGS);
    const inHandlers = new Map<string, ChannelHandler>();
    for (const [event, method] of handleIn) inHandlers.set(event, request(method, HANDLE_IN_ARGS));
    const prefixHandlers: PrefixHandler[] = [...prefixes]
      .map(([prefix, method]) => ({ prefix, handler: request(method, HANDLE_IN_ARGS) }))
      .sort((a, b) => b.prefix.length - a.prefix.length);
    const outHandlers = new Map<string, ChannelHandler>();
    for (const [event, method] of handleOut) outHandlers.set(event, callback(method));

    return {
      type,
      name,
      topic,
      options: {
        logJoin: metadata.options.logJoin ?? DEFAULTS.logJoin,
        logHandleIn: metadata.options.logHandleIn ?? DEFAULTS.logHandleIn,
      },
      history,
      join: joinHandler,
      handleIn: inHandlers,
      handleInPrefixes: prefixHandlers,
      handleOut: outHandlers,
      intercepts: intercepted.length > 0 ? new Set(intercepted) : null,
      handleInfo: handleInfo === null ? null : callback(handleInfo),
      terminate: terminate === null ? null : callback(terminate),
      enhancedCount: slots,
      create,
    };
  }

  /** A `@Join` or `@HandleIn` handler: called directly unless something enhances it. */
  private requestHandler(
    wrapper: InstanceWrapper,
    type: Type<object>,
    method: string,
    positional: PositionalArgs,
    slot: number,
  ): ChannelHandler {
    const where = `${type.name}.${method}`;
    if (!this.contextCreator.needsContext(type, method)) return { method, where, slot: -1, enhance: null };
    const decorated = this.accessor.paramDecorators(type, method);
    if (decorated !== undefined) {
      const indexes = new Set(Object.values(decorated).map((param) => param.index));
      const declared = (type.prototype as Record<string, Function>)[method]!.length;
      const bare = Array.from({ length: declared }, (_, index) => index).filter((index) => !indexes.has(index));
      if (bare.length > 0) this.logger.warn(MESSAGES.undecoratedParams(where, bare));
    }
    const bind = this.contextCreator.prepare({ type, method, inquirerId: wrapper.id, positional });
    return { method, where, slot, enhance: (instance) => bind(instance, contextIdOf(instance)) };
  }
}

function invalid(problems: string[]): ChannelsConfigurationError {
  return new ChannelsConfigurationError(`Invalid channel configuration:\n  - ${problems.join('\n  - ')}`);
}

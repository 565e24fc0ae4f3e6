/**
 * Runs once at bootstrap: finds every `@Channel` provider through Nest's
 * discovery, reads its metadata through the accessor, validates each class
 * as a whole and prepares how to build its instances. One start-up error
 * lists everything wrong, each line naming the class.
 */
import { Injectable, Logger, type Type } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModuleRef } from '@nestjs/core';
import { DEFAULTS } from '../channels.constants.js';
import { MESSAGES } from '../channels.messages.js';
import { ChannelsConfigurationError } from '../errors/errors.js';
import { resolveHistoryOptions } from '../history/history-options.js';
import type { ChannelDefinition, ChannelFactory } from './channel-definition.js';
import { ChannelMetadataAccessor } from './channel-metadata.accessor.js';
import { compileTopicPattern } from './topic-matcher.js';

// Nest's own metadata keys for constructor and property injection.
const PARAMTYPES = 'design:paramtypes';
const SELF_DECLARED_DEPS = 'self:paramtypes';
const OPTIONAL_DEPS = 'optional:paramtypes';
const PROPERTY_DEPS = 'self:properties_metadata';
const OPTIONAL_PROPERTY_DEPS = 'optional:properties_metadata';

@Injectable()
export class ChannelExplorer {
  private readonly logger = new Logger('ChannelExplorer');
  private definitions: ChannelDefinition[] | null = null;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly accessor: ChannelMetadataAccessor,
    private readonly moduleRef: ModuleRef,
  ) {}

  /** Every channel of the app, validated; explored once and cached. */
  explore(): ChannelDefinition[] {
    if (this.definitions !== null) return this.definitions;
    const problems: string[] = [];
    const seen = new Set<Type<object>>();
    const definitions: ChannelDefinition[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      const type = wrapper.metatype as Type<object> | undefined;
      if (!type || typeof type !== 'function' || seen.has(type) || !this.accessor.channel(type)) continue;
      seen.add(type);
      if (!wrapper.isDependencyTreeStatic()) {
        this.logger.warn(
          `${type.name} is request- or transient-scoped; channels are built once per join with their dependencies resolved once, so the scope is ignored`,
        );
      }
      const definition = this.define(type, problems);
      if (definition !== null) definitions.push(definition);
    }
    const byPattern = new Map<string, string>();
    for (const definition of definitions) {
      const other = byPattern.get(definition.topic.pattern);
      if (other !== undefined) {
        problems.push(`${definition.name}: pattern '${definition.topic.pattern}' is already served by ${other}`);
      } else byPattern.set(definition.topic.pattern, definition.name);
    }
    if (problems.length > 0) {
      throw new ChannelsConfigurationError(`Invalid channel configuration:\n  - ${problems.join('\n  - ')}`);
    }
    for (const type of this.accessor.declaredChannels()) {
      if (!seen.has(type as Type<object>)) {
        this.logger.warn(MESSAGES.channelNotProvided(type.name, this.accessor.channel(type)!.pattern));
      }
    }
    this.definitions = definitions;
    return definitions;
  }

  /** Definitions for a mount's `channels` list, in its order; an undecorated class is an error. */
  select(types: readonly Type<object>[], all: readonly ChannelDefinition[]): ChannelDefinition[] {
    return types.map((type) => {
      const found = all.find((definition) => definition.type === type);
      if (found === undefined) {
        throw new ChannelsConfigurationError(
          `ChannelsModule channels option lists ${type?.name ?? String(type)}, which is not a @Channel class registered as a provider`,
        );
      }
      return found;
    });
  }

  private define(type: Type<object>, problems: string[]): ChannelDefinition | null {
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
    const handleOut = new Map<string, string>();
    const single = (current: string | null, method: string, decorator: string): string => {
      if (current !== null) problems.push(`${name}: ${decorator} is on both ${current} and ${method}; a channel has one`);
      return method;
    };
    const addEvents = (map: Map<string, string>, events: string[], method: string, decorator: string): void => {
      for (const event of events) {
        if (typeof event !== 'string' || event.length === 0) {
          problems.push(`${name}.${method}: ${decorator} needs a non-empty event name`);
          continue;
        }
        const other = map.get(event);
        if (other !== undefined) problems.push(`${name}: two handlers for ${decorator}('${event}'): ${other} and ${method}`);
        else map.set(event, method);
      }
    };

    const prototype = type.prototype as Record<string, Function>;
    for (const method of this.scanner.getAllMethodNames(prototype)) {
      const fn = prototype[method];
      if (typeof fn !== 'function') continue;
      if (this.accessor.isJoin(fn)) join = single(join, method, '@Join()');
      if (this.accessor.isHandleInfo(fn)) handleInfo = single(handleInfo, method, '@HandleInfo()');
      if (this.accessor.isTerminate(fn)) terminate = single(terminate, method, '@Terminate()');
      addEvents(handleIn, this.accessor.handleIn(fn), method, '@HandleIn');
      addEvents(handleOut, this.accessor.handleOut(fn), method, '@HandleOut');
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
    if (problems.length > before || typeof topic === 'string' || typeof history === 'string' || join === null) return null;

    return {
      type,
      name,
      topic,
      options: {
        logJoin: metadata.options.logJoin ?? DEFAULTS.logJoin,
        logHandleIn: metadata.options.logHandleIn ?? DEFAULTS.logHandleIn,
      },
      history,
      join,
      handleIn,
      handleOut,
      intercepts: intercepted.length > 0 ? new Set(intercepted) : null,
      handleInfo,
      terminate,
      create: this.prepareFactory(type, problems),
    };
  }

  /**
   * Resolves the class's constructor and property dependencies once, from the
   * app's container, and returns a factory that only calls `new` with them.
   * Resolution is deferred to the first join so that providers created late
   * (async factories) are found.
   */
  private prepareFactory(type: Type<object>, problems: string[]): ChannelFactory {
    const paramTypes: unknown[] = Reflect.getMetadata(PARAMTYPES, type) ?? [];
    const declared: Array<{ index: number; param: unknown }> = Reflect.getMetadata(SELF_DECLARED_DEPS, type) ?? [];
    const optional: number[] = Reflect.getMetadata(OPTIONAL_DEPS, type) ?? [];
    const tokens = paramTypes.map((paramType, index) => declared.find((d) => d.index === index)?.param ?? paramType);
    const properties: Array<{ key: string; type: unknown }> = Reflect.getMetadata(PROPERTY_DEPS, type) ?? [];
    const optionalProperties: string[] = Reflect.getMetadata(OPTIONAL_PROPERTY_DEPS, type) ?? [];
    for (const [index, token] of tokens.entries()) {
      if (token === undefined || token === Object) {
        problems.push(
          `${type.name}: cannot tell what to inject at constructor index ${index}; use a class type or @Inject(token)`,
        );
      }
    }

    let args: unknown[] | null = null;
    let props: Array<[string, unknown]> | null = null;
    const resolve = (token: unknown, isOptional: boolean, where: string): unknown => {
      const actual = unwrapForwardRef(token);
      try {
        return this.moduleRef.get(actual as Type<unknown>, { strict: false });
      } catch (error) {
        if (isOptional) return undefined;
        throw new ChannelsConfigurationError(
          `${type.name}: cannot resolve ${where} (${describeToken(actual)}): ${(error as Error).message}`,
        );
      }
    };
    return () => {
      if (args === null) {
        args = tokens.map((token, index) => resolve(token, optional.includes(index), `constructor argument ${index}`));
        props = properties.map(({ key, type: token }) => [key, resolve(token, optionalProperties.includes(key), `property ${key}`)]);
      }
      const instance = new type(...args) as Record<string, unknown>;
      for (const [key, value] of props!) instance[key] = value;
      return instance;
    };
  }
}

function unwrapForwardRef(token: unknown): unknown {
  if (typeof token === 'object' && token !== null && 'forwardRef' in token) {
    return (token as { forwardRef: () => unknown }).forwardRef();
  }
  return token;
}

function describeToken(token: unknown): string {
  if (typeof token === 'function') return token.name;
  return String(token);
}

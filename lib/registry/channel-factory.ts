/**
 * How a channel class's per-join instances are built, decided once per class
 * at bootstrap from what Nest's injector did for the class in its own host
 * module. No metadata is read here and no token is looked up across modules:
 * the dependencies are the ones Nest resolved for this provider.
 *
 * - The usual case (a default-scoped class whose dependencies are all
 *   singletons): Nest recorded which provider it injected at each constructor
 *   index and property when it built the class's provider instance. Each join
 *   calls `new` with those same instances and sets the same properties.
 * - A class with a transient dependency, or a transient class: each join gets
 *   an instance from `ModuleRef.create` in the host module, so transient
 *   dependencies are new per join, as they are per consumer in Nest.
 * - A class that depends on a request-scoped provider: each join is one
 *   "request". The host module's `ModuleRef.resolve` builds the instance and
 *   its request-scoped dependencies for a context id of its own, and the
 *   join's `ChannelSocket` is registered as that context's `REQUEST`.
 *
 * Nest's lifecycle hooks (`onModuleInit` and the rest) run only on the
 * provider instance Nest builds at bootstrap, never on per-join instances.
 */
import { ModuleRef, ContextIdFactory, type ContextId } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import type { ChannelFactory } from './channel-definition.js';

/** The context id a request-scoped channel instance was resolved in. */
const contextIds = new WeakMap<object, ContextId>();

/** The context id of an instance built per join by `ModuleRef.resolve`; undefined for the others. */
export function contextIdOf(instance: object): ContextId | undefined {
  return contextIds.get(instance);
}

/** How to build the class's instances, or a sentence saying why it cannot be done. */
export function channelFactory(wrapper: InstanceWrapper): ChannelFactory | string {
  const type = wrapper.metatype as new (...args: unknown[]) => object;
  const host = wrapper.host;
  if (host === undefined) return 'it has no host module';
  if (!wrapper.isDependencyTreeStatic()) return resolvedPerJoin(wrapper, moduleRefOf(wrapper));
  const ctor = wrapper.getCtorMetadata() ?? [];
  const properties = wrapper.getPropertiesMetadata() ?? [];
  const transientDependency =
    ctor.some((dependency) => dependency?.isTransient) || properties.some((property) => property.wrapper.isTransient);
  if (wrapper.isTransient || transientDependency) {
    const moduleRef = moduleRefOf(wrapper);
    return () => moduleRef.create(type);
  }

  let args: unknown[] | null = null;
  let values: Array<[string | symbol, unknown]> | null = null;
  return () => {
    if (args === null) {
      // Read on the first join, when every provider has its instance (forward references included).
      args = Array.from(ctor, (dependency) => dependency?.instance);
      values = properties.map((property) => [property.key, property.wrapper.instance]);
    }
    const instance = new type(...args) as Record<string | symbol, unknown>;
    for (const [key, value] of values!) instance[key] = value;
    return instance;
  };
}

function resolvedPerJoin(wrapper: InstanceWrapper, moduleRef: ModuleRef): ChannelFactory {
  const token = wrapper.token;
  return async (socket) => {
    const contextId = ContextIdFactory.create();
    moduleRef.registerRequestByContextId(socket, contextId);
    const instance = (await moduleRef.resolve(token as never, contextId, { strict: true })) as object;
    contextIds.set(instance, contextId);
    return instance;
  };
}

/** The `ModuleRef` of the provider's host module (every module provides its own). */
function moduleRefOf(wrapper: InstanceWrapper): ModuleRef {
  return wrapper.host!.getProviderByKey(ModuleRef).instance as ModuleRef;
}

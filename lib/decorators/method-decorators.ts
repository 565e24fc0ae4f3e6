import {
  HANDLE_INFO_METADATA,
  HANDLE_IN_METADATA,
  HANDLE_OUT_METADATA,
  JOIN_METADATA,
  TERMINATE_METADATA,
} from '../channels.constants.js';
import type { CallbackResult, TerminateResult } from '../channel/results.js';

/**
 * A method decorator that only accepts methods returning `R` (or a promise of
 * it), so a callback that returns what it may not is a compile error.
 */
export type ResultCheckedDecorator<R> = <M extends (...args: any[]) => R | Promise<R>>(
  target: object,
  property: string | symbol,
  descriptor: TypedPropertyDescriptor<M>,
) => TypedPropertyDescriptor<M> | void;

/** Appends `value` to a list kept on the method, so stacked decorators all count. */
function appendToMethod(key: string, value: string): MethodDecorator {
  return (_target, _property, descriptor) => {
    const method = descriptor.value as object;
    const previous: string[] = Reflect.getOwnMetadata(key, method) ?? [];
    Reflect.defineMetadata(key, [...previous, value], method);
    return descriptor;
  };
}

function flagMethod(key: string): MethodDecorator {
  return (_target, _property, descriptor) => {
    Reflect.defineMetadata(key, true, descriptor.value as object);
    return descriptor;
  };
}

/**
 * The join callback: `(topic, payload, socket)`. Return nothing or a value
 * (the ok reply's response) or `reply('ok', x)`; throw `ChannelError` to refuse.
 * Guards, interceptors, pipes and filters apply, and parameter decorators
 * (`@MessageBody()`, `@ConnectedSocket()`, `@Topic()`, `@TopicParam()`) may
 * replace the positional arguments.
 *
 * @publicApi
 */
export function Join(): MethodDecorator {
  return flagMethod(JOIN_METADATA);
}

/**
 * Handles a client event on the channel's topic: `(payload, socket, event)`.
 * Stackable for several events. An event ending in `*` is a prefix:
 * `@HandleIn('ctl:*')` handles every event starting with `ctl:` that has no
 * exact handler (the longest prefix wins; `'*'` alone catches the rest).
 * Guards, interceptors, pipes and filters apply, and parameter decorators
 * (`@MessageBody()`, `@ConnectedSocket()`, `@Event()`, ...) may replace the
 * positional arguments.
 *
 * @publicApi
 */
export function HandleIn(event: string): MethodDecorator {
  return appendToMethod(HANDLE_IN_METADATA, event);
}

/**
 * Handles an intercepted broadcast for one subscriber: `(payload, socket, event)`.
 * The event must be listed in `@Intercept`. Returns nothing, `noreply()` or
 * `stop(reason)`.
 *
 * @publicApi
 */
export function HandleOut(event: string): ResultCheckedDecorator<CallbackResult> {
  return appendToMethod(HANDLE_OUT_METADATA, event);
}

/**
 * Receives `socket.send(message)` messages and broadcasts on external topics
 * the channel subscribed to: `(message, socket)`. Returns nothing,
 * `noreply()` or `stop(reason)`.
 *
 * @publicApi
 */
export function HandleInfo(): ResultCheckedDecorator<CallbackResult> {
  return flagMethod(HANDLE_INFO_METADATA);
}

/**
 * Runs whenever the channel ends: `(reason, socket)`. Returns nothing.
 *
 * @publicApi
 */
export function Terminate(): ResultCheckedDecorator<TerminateResult> {
  return flagMethod(TERMINATE_METADATA);
}

import {
  HANDLE_INFO_METADATA,
  HANDLE_IN_METADATA,
  HANDLE_OUT_METADATA,
  JOIN_METADATA,
  TERMINATE_METADATA,
} from '../channels.constants.js';

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
 *
 * @publicApi
 */
export function Join(): MethodDecorator {
  return flagMethod(JOIN_METADATA);
}

/**
 * Handles a client event on the channel's topic: `(payload, socket, event)`.
 * Stackable for several events.
 *
 * @publicApi
 */
export function HandleIn(event: string): MethodDecorator {
  return appendToMethod(HANDLE_IN_METADATA, event);
}

/**
 * Handles an intercepted broadcast for one subscriber: `(payload, socket, event)`.
 * The event must be listed in `@Intercept`.
 *
 * @publicApi
 */
export function HandleOut(event: string): MethodDecorator {
  return appendToMethod(HANDLE_OUT_METADATA, event);
}

/**
 * Receives `socket.send(message)` messages and broadcasts on external topics
 * the channel subscribed to: `(message, socket)`.
 *
 * @publicApi
 */
export function HandleInfo(): MethodDecorator {
  return flagMethod(HANDLE_INFO_METADATA);
}

/**
 * Runs whenever the channel ends: `(reason, socket)`.
 *
 * @publicApi
 */
export function Terminate(): MethodDecorator {
  return flagMethod(TERMINATE_METADATA);
}

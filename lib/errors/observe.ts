import type { Logger } from '@nestjs/common';
import { MESSAGES, describe } from '../channels.messages.js';
import { PubSubUnavailableError } from './errors.js';

/** Promises that already have a logging handler, so a promise handed through several layers is logged once. */
const observed = new WeakSet<Promise<unknown>>();

/**
 * Returns `promise` after attaching a handler that logs its rejection: a
 * rejection nobody awaits (a handler that forgot `await`) is then logged
 * instead of ending the process as an unhandled rejection, while a caller
 * that awaits still sees it. Every promise the library hands out goes
 * through here. A PubSub outage is logged once by the PubSub itself, so a
 * `PubSubUnavailableError` is logged at debug; anything else at warn.
 */
export function observe<T>(promise: Promise<T>, logger: Logger, action: string, topic: string): Promise<T> {
  if (observed.has(promise)) return promise;
  observed.add(promise);
  // The words are built only on failure: this runs for every broadcast.
  promise.catch((error: unknown) => {
    const line = MESSAGES.rejected(action, topic, describe(error));
    if (error instanceof PubSubUnavailableError) logger.debug(line);
    else logger.warn(line);
  });
  return promise;
}

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * Calls a PubSub method that may return nothing, return a promise or throw,
 * and always answers with a promise: a throw becomes a rejection.
 */
export function settle(call: () => void | Promise<void>): Promise<void> {
  let result: void | Promise<void>;
  try {
    result = call();
  } catch (error) {
    return Promise.reject(error);
  }
  return result === undefined ? RESOLVED : Promise.resolve(result);
}

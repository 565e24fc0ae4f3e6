/**
 * Listens on a nestjs-channels telemetry channel (`diagnostics_channel`) for
 * the life of a test: the events it saw, and `stop()`.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';

export interface Listening<T> {
  readonly events: T[];
  stop(): void;
}

export function listen<T>(name: string): Listening<T> {
  const events: T[] = [];
  const listener = (message: unknown): void => {
    events.push(message as T);
  };
  subscribe(name, listener);
  return { events, stop: () => unsubscribe(name, listener) };
}

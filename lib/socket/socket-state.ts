import type { Socket } from '../interfaces/socket-handler.interface.js';

/** The connection-level socket the handler's `connect` and `id` see. */
export class SocketState implements Socket {
  readonly assigns: Record<string, any> = {};
  id: string | null = null;

  assign(key: string, value: unknown): this;
  assign(values: Record<string, unknown>): this;
  assign(keyOrValues: string | Record<string, unknown>, value?: unknown): this {
    if (typeof keyOrValues === 'string') this.assigns[keyOrValues] = value;
    else Object.assign(this.assigns, keyOrValues);
    return this;
  }
}

import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { ChannelSocketImpl } from '../channel/channel-socket.js';

/**
 * Parameter decorators of channel handlers (`@Join`, `@HandleIn`), besides
 * Nest's own `@MessageBody(key?)` and `@ConnectedSocket()` from
 * `@nestjs/websockets`. Once a handler uses one, it takes its arguments from
 * decorators only, as any Nest handler does.
 */

function socketOf(context: ExecutionContext): ChannelSocketImpl {
  return context.switchToWs().getClient<ChannelSocketImpl>();
}

/**
 * The channel's full topic, e.g. `'room:lobby'`.
 *
 * @example join(@Topic() topic: string) {}
 * @publicApi
 */
export const Topic = createParamDecorator((_data: unknown, context: ExecutionContext): string => socketOf(context).topic);

/**
 * What the `*` of the channel's pattern matched: `'lobby'` for the topic
 * `'room:lobby'` on `@Channel('room:*')` (the whole topic on an exact pattern).
 *
 * @example rename(@MessageBody('name') name: string, @TopicParam() room: string) {}
 * @publicApi
 */
export const TopicParam = createParamDecorator(
  (_data: unknown, context: ExecutionContext): string => socketOf(context).topicParam,
);

/**
 * The event being handled: the client's event for `@HandleIn` (useful with a
 * prefix such as `@HandleIn('ctl:*')`), `'phx_join'` for `@Join`.
 *
 * @example @HandleIn('ctl:*') control(@Event() event: string, @MessageBody() body: unknown) {}
 * @publicApi
 */
export const Event = createParamDecorator(
  (_data: unknown, context: ExecutionContext): string => context.switchToWs().getPattern(),
);

// Compile-only checks of the typings issue 12 adds (`tsc` fails if these drift); nothing here runs.
import { UseGuards, UsePipes, ValidationPipe, type CanActivate } from '@nestjs/common';
import { ConnectedSocket, MessageBody } from '@nestjs/websockets';
import {
  Channel,
  ChannelsModule,
  Event,
  HandleIn,
  HandleInfo,
  HandleOut,
  Join,
  Terminate,
  Topic,
  TopicParam,
  noreply,
  reply,
  stop,
  type ChannelSocket,
  type ChannelsOptionsFactory,
  type Reply,
  type SocketRef,
} from '../../lib/index.js';

interface RoomAssigns {
  userId: string;
  joinedAt?: number;
}

interface NewMsg {
  body: string;
}

class NewMsgDto {
  body!: string;
}

class Guard implements CanActivate {
  canActivate() {
    return true;
  }
}

declare const socket: ChannelSocket<RoomAssigns>;
declare const untyped: ChannelSocket;
declare const message: NewMsg;
declare const unknownPayload: unknown;

export function assignsAreTyped(): void {
  const userId: string = socket.assigns.userId;
  socket.assign('joinedAt', Date.now());
  socket.assign({ userId: 'u1' });
  // @ts-expect-error userId is a string in RoomAssigns
  socket.assign('userId', 42);
  // @ts-expect-error not a key of RoomAssigns
  socket.assign('nope', 1);
  // @ts-expect-error joinedAt is a number
  socket.assign({ joinedAt: 'yesterday' });
  // Without a type argument, any assign goes.
  untyped.assign('anything', { at: 1 });
  void userId;
}

export async function pushPayloadsAreObjects(): Promise<void> {
  socket.push('new_msg', { body: 'hi' });
  socket.push('new_msg', message);
  socket.push('new_msg', new NewMsgDto());
  socket.push('file', Buffer.from([1, 2]));
  await socket.broadcast('new_msg', message);
  await socket.broadcastFrom('new_msg', new Uint8Array([1]));
  // @ts-expect-error a push payload is an object, not a string
  socket.push('new_msg', 'hello');
  // @ts-expect-error nor an array
  socket.push('new_msg', [1, 2, 3]);
  // @ts-expect-error nor a number
  await socket.broadcast('new_msg', 42);
  // @ts-expect-error an unknown value must be narrowed (or cast) first
  socket.push('new_msg', unknownPayload);
}

export function repliesAreTyped(ref: SocketRef): void {
  const typed: Reply<{ id: number }> = reply('ok', { id: 1 });
  const empty: Reply<Record<string, never>> = reply('ok');
  // @ts-expect-error the response type is what was given
  const wrong: Reply<{ id: string }> = reply('ok', { id: 1 });
  // @ts-expect-error a reply's status is a string
  reply(200, {});
  // @ts-expect-error SocketRef.reply's status is a string too
  ref.reply(200);
  void typed;
  void empty;
  void wrong;
}

@Channel('room:*')
@UseGuards(Guard)
export class TypedChannel {
  @Join()
  join(@Topic() topic: string, @TopicParam() room: string, @MessageBody() payload: { token?: string }) {
    return { topic, room, token: payload.token ?? null };
  }

  @HandleIn('new_msg')
  @UsePipes(new ValidationPipe())
  async newMsg(@MessageBody() body: NewMsgDto, @ConnectedSocket() client: ChannelSocket<RoomAssigns>) {
    await client.broadcast('new_msg', { body: body.body, user: client.assigns.userId });
  }

  @HandleIn('ctl:*')
  control(@Event() event: string) {
    return reply('ok', { event });
  }

  @HandleOut('new_msg')
  out(payload: NewMsg, client: ChannelSocket) {
    if (payload.body === '') return noreply();
    client.push('new_msg', payload);
    return undefined;
  }

  @HandleInfo()
  async info(): Promise<void> {}

  @Terminate()
  terminate() {}
}

export class MisusedCallbacks {
  // @ts-expect-error @HandleOut returns nothing, noreply() or stop(): not a reply
  @HandleOut('x')
  out() {
    return reply('ok', {});
  }

  // @ts-expect-error @HandleInfo cannot reply either, even asynchronously
  @HandleInfo()
  async info() {
    return reply('error', { why: 'no request to answer' });
  }

  // @ts-expect-error @Terminate cannot stop the channel: it is already ending
  @Terminate()
  terminate() {
    return stop('normal');
  }
}

class Config implements ChannelsOptionsFactory {
  createChannelsOptions() {
    return { path: '/socket', connectTimeout: 5000 };
  }
}

export const asyncMounts = [
  ChannelsModule.forRootAsync({ useClass: Config }),
  ChannelsModule.forRootAsync({ useExisting: Config }),
  ChannelsModule.forRootAsync({ useFactory: () => ({ connectTimeout: 0 }) }),
];

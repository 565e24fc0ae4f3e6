import { Injectable } from '@nestjs/common';
import type { ConnectInfo, Socket, SocketHandler } from '../lib/index.js';

/** Accepts anyone with a `user` param of 1 to 32 word characters; the id lets the app disconnect a user. */
@Injectable()
export class UserSocket implements SocketHandler {
  connect(params: Record<string, string>, socket: Socket, _info: ConnectInfo): boolean {
    const user = params.user;
    if (typeof user !== 'string' || !/^\w{1,32}$/.test(user)) return false;
    socket.assign('user', user);
    return true;
  }

  id(socket: Socket): string {
    return `users_socket:${socket.assigns.user}`;
  }
}

import { Injectable, Logger } from '@nestjs/common';
import type { ConnectInfo, Socket, SocketHandler } from '../lib/index.js';
import { TokenService } from './token.service.js';

/**
 * Accepts a connection that carries a valid connect token (see
 * `TokenService`): the `phoenix` client's `authToken` option, which keeps
 * it out of the URL, or a `token` param for clients without that option. The
 * user comes from the token, never from what the client claims.
 */
@Injectable()
export class UserSocket implements SocketHandler {
  private readonly logger = new Logger(UserSocket.name);

  constructor(private readonly tokens: TokenService) {}

  async connect(params: Record<string, string>, socket: Socket, info: ConnectInfo): Promise<boolean> {
    const verdict = await this.tokens.verify(info.authToken ?? params.token);
    if (!verdict.valid) {
      this.logger.log(`refused a ${info.transport} connection from ${info.peerData.address} (token: ${verdict.message})`);
      return false; // HTTP 403 on the upgrade, {"status":403} on long-poll
    }
    socket.assign({ user: verdict.user, transport: info.transport });
    return true;
  }

  /** One id per user: `ChannelsEndpoint.disconnect('users_socket:alice')` closes all of alice's tabs. */
  id(socket: Socket): string {
    return `users_socket:${socket.assigns.user}`;
  }
}

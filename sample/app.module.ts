import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { randomBytes } from 'node:crypto';
import { ChannelsModule } from '../lib/index.js';
import { AppController } from './app.controller.js';
import { ChatService } from './chat.service.js';
import { RoomChannel } from './room.channel.js';
import { TokenController } from './token.controller.js';
import { TOKEN_AUDIENCE, TOKEN_TTL_SECONDS, TokenService } from './token.service.js';
import { UserSocket } from './user.socket.js';

/**
 * The key that signs connect tokens: `JWT_SECRET`, or else a random one per
 * process (tokens then die with it; the page asks for a new one). Every node
 * of a real deployment needs the same key, from its configuration.
 */
const secret = process.env.JWT_SECRET ?? randomBytes(32).toString('base64url');

@Module({
  imports: [
    JwtModule.register({
      secret,
      signOptions: { algorithm: 'HS256', expiresIn: TOKEN_TTL_SECONDS, audience: TOKEN_AUDIENCE },
      verifyOptions: { algorithms: ['HS256'], audience: TOKEN_AUDIENCE },
    }),
    ChannelsModule.forRoot({
      path: '/socket',
      socket: UserSocket,
      authToken: true, // the phoenix client's authToken reaches connect as info.authToken
      longpoll: true, // /socket/longpoll, for the client's fallback and transport: LongPoll
    }),
  ],
  controllers: [AppController, TokenController],
  providers: [UserSocket, RoomChannel, ChatService, TokenService],
})
export class AppModule {}

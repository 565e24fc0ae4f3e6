import { Module } from '@nestjs/common';
import { ChannelsModule } from '../lib/index.js';
import { AppController } from './app.controller.js';
import { ChatService } from './chat.service.js';
import { RoomChannel } from './room.channel.js';
import { UserSocket } from './user.socket.js';

@Module({
  imports: [ChannelsModule.forRoot({ path: '/socket', socket: UserSocket })],
  controllers: [AppController],
  providers: [UserSocket, RoomChannel, ChatService],
})
export class AppModule {}

/**
 * The Socket.IO comparison: a Nest app with an ordinary `@WebSocketGateway`
 * on `IoAdapter`, doing the bench's work the way a Nest team would write it
 * with Socket.IO: rooms for topics, `server.to(room).emit` for broadcasts,
 * acks (handler return values) for replies.
 *
 *   node --expose-gc dist/bench/servers/socketio.server.js [--recovery]   → prints READY <port>
 *
 * Events (all acknowledged): `join` {topic} → {status:'ok'}, `ping` payload →
 * payload, `blast` {n, size} → n × `msg` {i, body} to every room the sender
 * joined, then {status:'ok'}; `stream` {topic, n, perSecond} → {status:'ok'}
 * at once, then n × `msg` {i} to the room at that rate, from a timer.
 *
 * `--recovery` turns on Socket.IO's connection state recovery (the history
 * bench's drop scenario): a client that reconnects within two minutes gets
 * the room broadcasts it missed.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { Server, Socket } from 'socket.io';
import { emitSteadily, exitOnSignals, serveNestBenchApp } from './bench-hooks.js';

const RECOVERY = process.argv.includes('--recovery')
  ? { connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000, skipMiddlewares: true } }
  : {};

@WebSocketGateway({ serveClient: false, perMessageDeflate: false, ...RECOVERY })
class BenchGateway {
  @WebSocketServer()
  server!: Server;

  @SubscribeMessage('join')
  async join(@MessageBody() body: { topic?: string }, @ConnectedSocket() client: Socket) {
    const topic = String(body?.topic ?? '');
    await client.join(topic);
    return { status: 'ok' };
  }

  @SubscribeMessage('ping')
  ping(@MessageBody() payload: unknown) {
    return payload;
  }

  @SubscribeMessage('blast')
  blast(@MessageBody() body: { n?: number; size?: number }, @ConnectedSocket() client: Socket) {
    const n = Math.min(Math.max(0, Number(body?.n) | 0), 10_000_000);
    const size = Math.min(Math.max(0, Number(body?.size) | 0), 16 * 1024 * 1024);
    const text = 'x'.repeat(size);
    for (const room of client.rooms) {
      if (room === client.id) continue;
      const target = this.server.to(room);
      for (let i = 0; i < n; i++) target.emit('msg', { i, body: text });
    }
    return { status: 'ok', n };
  }

  @SubscribeMessage('stream')
  stream(@MessageBody() body: { topic?: string; n?: number; perSecond?: number }) {
    const room = String(body?.topic ?? '');
    return { status: 'ok', ...emitSteadily(body?.n, body?.perSecond, (i) => this.server.to(room).emit('msg', { i })) };
  }
}

@Module({ providers: [BenchGateway] })
class AppModule {}

async function main(): Promise<void> {
  exitOnSignals();
  await serveNestBenchApp('socketio.server', async () => {
    const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
    app.useWebSocketAdapter(new IoAdapter(app));
    return app;
  });
}

void main();

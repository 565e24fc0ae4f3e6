import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ChannelsAdapter } from '../lib/index.js';
import { AppModule } from './app.module.js';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule);
  app.useWebSocketAdapter(new ChannelsAdapter(app));
  app.enableShutdownHooks();
  const port = Number(process.env.PORT ?? 4000);
  await app.listen(port, process.env.HOST ?? '127.0.0.1');
  console.log(`chat sample on http://127.0.0.1:${port}/ (WebSocket at /socket/websocket)`);
}

void bootstrap();

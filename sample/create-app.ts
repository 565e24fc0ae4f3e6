import type { INestApplication, NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ChannelsAdapter } from '../lib/index.js';
import { AppModule } from './app.module.js';

/** The sample app, wired as `npm start` runs it; tests start the same thing on port 0. */
export async function createSampleApp(options?: NestApplicationOptions): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule, options);
  app.useWebSocketAdapter(new ChannelsAdapter(app));
  return app;
}

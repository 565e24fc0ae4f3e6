/**
 * Starts a real Nest app with `ChannelsAdapter` on 127.0.0.1, port 0, and
 * hands out clients that are all closed by `close()`.
 */
import 'reflect-metadata';
import { Logger, type INestApplication, type LogLevel, type ModuleMetadata, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import { Socket as PhoenixSocket, type SocketConnectOption } from 'phoenix';
import { WebSocket } from 'ws';
import { ChannelsAdapter } from '../../lib/index.js';
import { RawClient, type RawClientOptions } from './raw-client.js';

export interface TestApp {
  readonly app: INestApplication;
  readonly port: number;
  /** `ws://127.0.0.1:<port>` */
  readonly wsBase: string;
  readonly httpBase: string;
  /** A connected `phoenix` client (V2 unless `vsn: '1.0.0'`, with JSON-object encode/decode for V1). */
  client(options?: ClientOptions): PhoenixSocket;
  /** A raw WebSocket speaking frames by hand; resolves once open. */
  raw(options?: RawClientOptions): Promise<RawClient>;
  close(): Promise<void>;
}

export interface ClientOptions extends Partial<SocketConnectOption> {
  path?: string;
  /** The server to talk to, e.g. a proxy in front of the app. @default the app's `ws://127.0.0.1:<port>` */
  base?: string;
  vsn?: '1.0.0' | '2.0.0';
  connect?: boolean;
}

const LOG_LEVELS: LogLevel[] = process.env.TEST_LOGS ? ['log', 'error', 'warn', 'debug'] : ['error'];

/** The HTTP platforms an app can run on; e2e specs that matter on both run once per platform. */
export const PLATFORMS = ['express', 'fastify'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** Builds and starts an app from a module class or from module metadata, on Express unless told otherwise. */
export async function startApp(
  module: Type<unknown> | ModuleMetadata,
  setup?: (app: INestApplication) => void,
  platform: Platform = 'express',
): Promise<TestApp> {
  const root = typeof module === 'function' ? module : moduleFrom(module);
  const options = { logger: LOG_LEVELS, abortOnError: false };
  const app =
    platform === 'fastify'
      ? await NestFactory.create(root, new FastifyAdapter(), options)
      : await NestFactory.create(root, options);
  app.useWebSocketAdapter(new ChannelsAdapter(app));
  setup?.(app);
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  const sockets: PhoenixSocket[] = [];
  const raws: RawClient[] = [];
  let closed = false;
  return {
    app,
    port,
    wsBase: `ws://127.0.0.1:${port}`,
    httpBase: `http://127.0.0.1:${port}`,
    client(options = {}) {
      const { path = '/socket', base = `ws://127.0.0.1:${port}`, vsn = '2.0.0', connect = true, ...rest } = options;
      const socket = new PhoenixSocket(`${base}${path}`, {
        transport: WebSocket as unknown as SocketConnectOption['transport'],
        vsn,
        reconnectAfterMs: () => 50,
        rejoinAfterMs: () => 100,
        ...(vsn === '1.0.0' ? v1Codec : {}),
        ...rest,
      } as Partial<SocketConnectOption>);
      sockets.push(socket);
      if (connect) socket.connect();
      return socket;
    },
    async raw(options = {}) {
      const client = await RawClient.connect(`ws://127.0.0.1:${port}`, options);
      raws.push(client);
      return client;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const socket of sockets) socket.disconnect();
      for (const raw of raws) raw.terminate();
      await app.close();
    },
  };
}

/** phoenix.js encodes V2 arrays whatever `vsn` says: V1 needs JSON-object encode/decode (STYLE.md 7). */
export const v1Codec = {
  encode(message: { join_ref: unknown; ref: unknown; topic: string; event: string; payload: unknown }, callback: (s: string) => void) {
    callback(JSON.stringify({ topic: message.topic, event: message.event, payload: message.payload, ref: message.ref, join_ref: message.join_ref }));
  },
  decode(raw: string, callback: (m: unknown) => void) {
    const { topic, event, payload, ref, join_ref = null } = JSON.parse(raw);
    callback({ topic, event, payload, ref, join_ref });
  },
};

let moduleCounter = 0;

function moduleFrom(metadata: ModuleMetadata): Type<unknown> {
  // One fresh class per app, so Nest never dedupes two test apps' root modules.
  const name = `TestModule${++moduleCounter}`;
  const holder = { [name]: class {} };
  const type = holder[name]!;
  Reflect.defineMetadata('imports', metadata.imports ?? [], type);
  Reflect.defineMetadata('providers', metadata.providers ?? [], type);
  Reflect.defineMetadata('controllers', metadata.controllers ?? [], type);
  Reflect.defineMetadata('exports', metadata.exports ?? [], type);
  return type;
}

/** Silences expected error logs inside a block of a test when TEST_LOGS is unset. */
export const testLogger = new Logger('test');

/**
 * The channel test kit: `nestjs-channels/testing`, the analogue of
 * `Phoenix.ChannelTest`, on top of `@nestjs/testing`.
 *
 * How it works: `ChannelTest.create` compiles and initialises a testing
 * module (the app's real ChannelsModule, channels and providers, overridable
 * as in any Nest test). `connect` runs the real socket handler; `join`,
 * `push`, `leave` feed the real connection multiplexer and channel runtime
 * through an in-process transport, so mailbox order, intercepts, info
 * messages, terminate and crashes behave as over a socket. What the server
 * sends lands in an inbox that the `assert*` / `refute*` methods read, with
 * Phoenix's default timeouts (100 ms). No port is opened.
 */
import type { DynamicModule, ModuleMetadata, Type } from '@nestjs/common';
import { Test, type TestingModule, type TestingModuleBuilder } from '@nestjs/testing';
import qs from 'qs';
import { ChannelsHost } from '../channels.host.js';
import { ChannelsModule } from '../channels.module.js';
import { describe } from '../channels.messages.js';
import { ChannelsEndpoint } from '../endpoint/channels-endpoint.js';
import type { ChannelsModuleOptions } from '../interfaces/channels-module-options.interface.js';
import type { ConnectInfo, SocketHandler } from '../interfaces/socket-handler.interface.js';
import type { Broadcast } from '../serializers/message.js';
import type { ChannelsMount } from '../socket/channels-mount.js';
import { parseConnectParams, parseCookies } from '../socket/socket-acceptor.js';
import { SocketState } from '../socket/socket-state.js';
import { ChannelTestAssertionError, Inbox } from './inbox.js';
import { PassThroughSerializer, type ReceivedFrame } from './pass-through.serializer.js';
import { TestSocket } from './test-socket.js';
import { TestTransport } from './test.transport.js';

/** Timeouts in milliseconds; Phoenix's defaults. */
export interface ChannelTestOptions {
  /** How long `assert*` waits for a match. @default 100 */
  assertTimeout?: number;
  /** How long `refute*` watches. @default 100 */
  refuteTimeout?: number;
  /** How long `join` waits for the join reply (joins may be async). @default 5000 */
  joinTimeout?: number;
}

/**
 * What to test: module metadata as for `Test.createTestingModule`. When it
 * has no `imports`, the kit adds `ChannelsModule.forRoot({ socket, ...channelsOptions })`
 * around the given providers.
 */
export interface ChannelTestModule extends ModuleMetadata {
  socket?: Type<SocketHandler>;
  channelsOptions?: ChannelsModuleOptions;
}

export interface ConnectOptions {
  /** The mount's path when the app has several. @default the first mount */
  path?: string;
  /** Overrides of the ConnectInfo the socket handler sees. */
  info?: Partial<ConnectInfo>;
}

export interface ResolvedTimeouts {
  readonly assertMs: number;
  readonly refuteMs: number;
  readonly joinMs: number;
}

/** Thrown by `connect` when the socket handler refuses. */
export class ConnectRefusedError extends Error {
  override name = 'ConnectRefusedError';
  readonly code = 'ERR_CHANNELS_TEST_CONNECT_REFUSED';
}

const serializer = new PassThroughSerializer();

/**
 * The kit: one initialised testing module, its sockets, and `connect` / `socket`
 * to open more. Close it in `afterEach`.
 *
 * @example
 * const kit = await ChannelTest.create({ imports: [AppModule] });
 * const channel = await (await kit.connect({ token: 't' })).join('room:lobby');
 * @publicApi
 */
export class ChannelTest {
  private readonly sockets = new Set<TestSocket>();
  private closed = false;

  private constructor(
    readonly module: TestingModule,
    private readonly host: ChannelsHost,
    readonly timeouts: ResolvedTimeouts,
  ) {}

  /**
   * Compiles and initialises the module. Pass module metadata, or a
   * `TestingModuleBuilder` you have already set up (e.g. with overrides).
   *
   * @example
   * const kit = await ChannelTest.create({ imports: [AppModule] });
   * @example
   * const kit = await ChannelTest.create(
   *   Test.createTestingModule({ imports: [AppModule] }).overrideProvider(ChatService).useValue(fake),
   * );
   */
  static async create(source: ChannelTestModule | TestingModuleBuilder, options: ChannelTestOptions = {}): Promise<ChannelTest> {
    const builder = isBuilder(source) ? source : Test.createTestingModule(toMetadata(source));
    const module = await builder.compile();
    await module.init();
    const host = module.get(ChannelsHost, { strict: false });
    return new ChannelTest(module, host, {
      assertMs: options.assertTimeout ?? 100,
      refuteMs: options.refuteTimeout ?? 100,
      joinMs: options.joinTimeout ?? 5000,
    });
  }

  /** A provider from the module, e.g. a service to inspect. */
  get<T>(token: Type<T> | string | symbol): T {
    return this.module.get(token as Type<T>, { strict: false });
  }

  /**
   * Runs the socket handler's `connect` and `id` with these params (values
   * are stringified as on the wire; nested keys allowed). Rejects with
   * `ConnectRefusedError` when refused.
   */
  async connect(params: Record<string, unknown> = {}, options: ConnectOptions = {}): Promise<TestSocket> {
    const mount = this.mountFor(options.path);
    const wireParams = parseConnectParams(qs.stringify(params));
    const outcome = await mount.accept(wireParams, this.connectInfo(mount, wireParams, options.info));
    if (!outcome.accepted) throw new ConnectRefusedError(`connect refused: ${outcome.reason}`);
    return this.open(mount, outcome.state);
  }

  /** Asserts that `connect` with these params is refused. */
  async refuteConnect(params: Record<string, unknown> = {}, options: ConnectOptions = {}): Promise<void> {
    try {
      const socket = await this.connect(params, options);
      await socket.close();
    } catch (error) {
      if (error instanceof ConnectRefusedError) return;
      throw error;
    }
    throw new ChannelTestAssertionError(`expected connect(${describe(params)}) to be refused, but it was accepted`);
  }

  /** A connected socket without running the socket handler, like Phoenix's `socket/3`. */
  socket(options: { id?: string | null; assigns?: Record<string, unknown>; path?: string } = {}): TestSocket {
    const state = new SocketState();
    state.assign(options.assigns ?? {});
    state.id = options.id ?? null;
    return this.open(this.mountFor(options.path), state);
  }

  /** Broadcasts on a topic as any other part of the app would (`ChannelsEndpoint.broadcast`). */
  broadcast(topic: string, event: string, payload: unknown): Promise<void> {
    return this.get(ChannelsEndpoint).broadcast(topic, event, payload);
  }

  /** Closes every socket, then the module (shutdown hooks run). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.sockets].map((socket) => socket.close()));
    await this.module.close();
  }

  private open(mount: ChannelsMount, state: SocketState): TestSocket {
    const inbox = new Inbox<ReceivedFrame>(describeFrame);
    const transport = new TestTransport(inbox);
    const connection = mount.open(serializer, state, transport);
    transport.connection = connection;
    const socket = new TestSocket(connection, transport, inbox, new Inbox<Broadcast>(describeBroadcast), this.timeouts, (s) =>
      this.sockets.delete(s),
    );
    this.sockets.add(socket);
    return socket;
  }

  private mountFor(path: string | undefined): ChannelsMount {
    const mounts = this.host.mounts;
    const mount = path === undefined ? mounts[0] : mounts.find((m) => m.options.path === path);
    if (mount === undefined) {
      throw new Error(
        path === undefined
          ? 'the module has no ChannelsModule mount: import ChannelsModule.forRoot(...) or give the kit providers and a socket'
          : `no ChannelsModule mount at ${path}; mounts: ${mounts.map((m) => m.options.path).join(', ')}`,
      );
    }
    return mount;
  }

  private connectInfo(mount: ChannelsMount, params: Record<string, unknown>, info: Partial<ConnectInfo> = {}): ConnectInfo {
    const headers = info.headers ?? {};
    return {
      peerData: { address: '127.0.0.1', port: 0 },
      uri: new URL(`ws://localhost${mount.options.websocketPath}?${qs.stringify(params)}`),
      headers,
      // A `cookie` header given in `info.headers` is parsed as a real request's would be.
      cookies: parseCookies(headers),
      transport: 'test',
      authToken: null,
      ...info,
    };
  }
}

function isBuilder(source: unknown): source is TestingModuleBuilder {
  return typeof (source as TestingModuleBuilder)?.compile === 'function';
}

function toMetadata(source: ChannelTestModule): ModuleMetadata {
  const { socket, channelsOptions, ...metadata } = source;
  if (metadata.imports !== undefined && metadata.imports.length > 0) return metadata;
  const channels: DynamicModule = ChannelsModule.forRoot({ ...channelsOptions, socket: socket ?? channelsOptions?.socket });
  const providers = [...(metadata.providers ?? [])];
  if (socket !== undefined && !providers.includes(socket)) providers.push(socket);
  return { ...metadata, imports: [channels], providers };
}

/** One line per received frame, for failure messages. */
export function describeFrame(frame: ReceivedFrame): string {
  switch (frame.kind) {
    case 'reply':
      return `reply ref ${describe(frame.ref)} on ${frame.topic}: ${frame.status} ${describe(frame.response)}`;
    case 'push':
      return `push '${frame.event}' on ${frame.topic}: ${describe(frame.payload)}`;
    case 'broadcast':
      return `push (fastlaned broadcast) '${frame.event}' on ${frame.topic}: ${describe(frame.payload)}`;
    case 'close':
      return `phx_close on ${frame.topic}`;
    case 'error':
      return `phx_error on ${frame.topic}: ${describe(frame.payload)}`;
  }
}

function describeBroadcast(broadcast: Broadcast): string {
  return `broadcast '${broadcast.event}' on ${broadcast.topic}: ${describe(broadcast.payload)}`;
}

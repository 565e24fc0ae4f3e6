/**
 * Telemetry on `diagnostics_channel` (issue 15): the events of a client's
 * life through a real socket (connect, join, handle_in, broadcast,
 * terminate), their results and timings; the `join` and `handle_in`
 * tracing channels, with a store bound to their `start` visible inside the
 * handler; the same events and traces for handlers that guards, pipes,
 * interceptors and filters enhance (issue 12); the slow-consumer event of a
 * client that stops reading.
 */
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { tracingChannel } from 'node:diagnostics_channel';
import { after, before, describe, it } from 'node:test';
import {
  Catch,
  Injectable,
  UseFilters,
  UseGuards,
  UseInterceptors,
  type CallHandler,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { map, type Observable } from 'rxjs';
import type { WebSocket } from 'ws';
import {
  Channel,
  ChannelError,
  ChannelsEndpoint,
  ChannelsModule,
  HandleIn,
  Join,
  TELEMETRY,
  TELEMETRY_TRACING,
  Terminate,
  type BroadcastEvent,
  type ChannelSocket,
  type ConnectEvent,
  type HandleInEvent,
  type HandleInTrace,
  type JoinEvent,
  type JoinTrace,
  type SlowConsumerEvent,
  type TerminateEvent,
} from '../../lib/index.js';
import { TestSocket } from '../fixtures/test.socket.js';
import { LogCapture } from '../support/log-capture.js';
import { eventually, joined, outcome, sleep, uniqueTopic } from '../support/phoenix-helpers.js';
import { ProcessGuard } from '../support/process-guard.js';
import { listen, type Listening } from '../support/telemetry.js';
import { startApp, type TestApp } from '../support/test-app.js';

/** What a store bound to the handle_in tracing channel holds while a handler runs. */
const requestContext = new AsyncLocalStorage<{ event: string }>();

@Channel('tel:*')
class TelemetryChannel {
  @Join()
  join(topic: string) {
    if (topic.endsWith(':refused')) throw new ChannelError({ reason: 'no' });
    if (topic.endsWith(':crash')) throw new Error('join exploded');
  }

  @HandleIn('echo')
  echo(payload: unknown) {
    return payload;
  }

  @HandleIn('slow')
  async slow() {
    await sleep(30);
    return { slept: true, context: requestContext.getStore() ?? null };
  }

  @HandleIn('whoami')
  whoami() {
    return { context: requestContext.getStore() ?? null };
  }

  @HandleIn('nothing')
  nothing() {
    return undefined;
  }

  @HandleIn('refuse')
  refuse() {
    throw new ChannelError({ reason: 'refused' });
  }

  @HandleIn('shout')
  async shout(payload: object, socket: ChannelSocket) {
    await socket.broadcast('shout', payload);
  }

  @Terminate()
  terminate() {}
}

/** Lets a join in unless its topic ends with `:closed`, and a request unless its event is `forbidden`; notes the store it sees. */
@Injectable()
class DoorGuard implements CanActivate {
  static seen: Array<{ event: string } | null> = [];

  canActivate(context: ExecutionContext): boolean {
    const ws = context.switchToWs();
    DoorGuard.seen.push(requestContext.getStore() ?? null);
    return !ws.getClient<ChannelSocket>().topic.endsWith(':closed') && ws.getPattern() !== 'forbidden';
  }
}

/** Wraps a reply in `{ wrapped }`. */
@Injectable()
class WrapInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((value) => ({ wrapped: value })));
  }
}

class OutOfStock extends Error {}

@Catch(OutOfStock)
class OutOfStockFilter implements ExceptionFilter {
  catch() {
    return { reason: 'out of stock' };
  }
}

/** Every handler has an enhancer: the calls Nest builds go through the same telemetry. */
@Channel('telx:*')
@UseGuards(DoorGuard)
class EnhancedTelemetryChannel {
  @Join()
  join() {}

  @HandleIn('echo')
  echo(payload: unknown) {
    return payload;
  }

  @HandleIn('forbidden')
  forbidden() {
    return 'never';
  }

  @HandleIn('slow')
  async slow() {
    await sleep(30);
    return { slept: true, context: requestContext.getStore() ?? null };
  }

  @HandleIn('wrapped')
  @UseInterceptors(WrapInterceptor)
  wrapped() {
    return 'inside';
  }

  @HandleIn('buy')
  @UseFilters(OutOfStockFilter)
  buy() {
    throw new OutOfStock('none left');
  }

  @HandleIn('boom')
  boom() {
    throw new Error('handler exploded');
  }
}

describe('telemetry through a real socket (issue 15)', () => {
  let app: TestApp;
  let connects: Listening<ConnectEvent>;
  let joins: Listening<JoinEvent>;
  let handled: Listening<HandleInEvent>;
  let broadcasts: Listening<BroadcastEvent>;
  let terminates: Listening<TerminateEvent>;
  let slow: Listening<SlowConsumerEvent>;
  let logs: LogCapture;
  let guard: ProcessGuard;

  before(async () => {
    guard = ProcessGuard.install();
    app = await startApp({
      imports: [ChannelsModule.forRoot({ socket: TestSocket, maxBufferedBytes: 64 * 1024 })],
      providers: [TestSocket, TelemetryChannel, EnhancedTelemetryChannel, DoorGuard],
    });
    connects = listen(TELEMETRY.connect);
    joins = listen(TELEMETRY.join);
    handled = listen(TELEMETRY.handleIn);
    broadcasts = listen(TELEMETRY.broadcast);
    terminates = listen(TELEMETRY.terminate);
    slow = listen(TELEMETRY.slowConsumer);
    // The crashed join and the slow consumer log; captured rather than printed.
    logs = LogCapture.install();
  });
  after(async () => {
    for (const listening of [connects, joins, handled, broadcasts, terminates, slow]) listening.stop();
    await app.close();
    logs.restore();
    await guard.assertClean('telemetry');
    guard.restore();
  });

  it("a client's connect, joins, pushes, broadcast and leave are one event each, with their results and durations", async () => {
    const base = uniqueTopic('tel');
    const client = app.client({ params: { id: `${base}-user` } });
    const channel = client.channel(`${base}:room`);
    await joined(channel);
    await eventually(() => connects.events.some((e) => e.socketId === `${base}-user`), 'the connect event');
    const connect = connects.events.find((e) => e.socketId === `${base}-user`)!;
    assert.equal(connect.result, 'ok');
    assert.equal(connect.transport, 'websocket');
    assert.equal(connect.vsn, '2.0.0');
    assert.equal(connect.handler, 'TestSocket');
    assert.equal(connect.params.id, `${base}-user`);
    assert.equal(connect.info.uri.pathname, '/socket/websocket');
    assert.ok(connect.durationMs >= 0);

    for (const suffix of ['refused', 'crash']) {
      const refused = client.channel(`${base}:${suffix}`);
      await assert.rejects(joined(refused));
      // Otherwise phoenix.js rejoins it every 100 ms.
      refused.leave();
    }
    const ofBase = (e: { topic: string }) => e.topic.startsWith(base);
    await eventually(() => joins.events.filter(ofBase).length >= 3, 'three join events');
    assert.deepEqual(
      joins.events.filter(ofBase).slice(0, 3).map((e) => [e.topic, e.result, e.channel, e.socketId, e.transport]),
      [
        [`${base}:room`, 'ok', 'TelemetryChannel', `${base}-user`, 'websocket'],
        [`${base}:refused`, 'error', 'TelemetryChannel', `${base}-user`, 'websocket'],
        [`${base}:crash`, 'crashed', 'TelemetryChannel', `${base}-user`, 'websocket'],
      ],
    );

    assert.deepEqual(await outcome(channel.push('echo', { a: 1 })), { status: 'ok', response: { a: 1 } });
    assert.equal((await outcome(channel.push('slow', {}))).status, 'ok');
    assert.deepEqual(await outcome(channel.push('refuse', {})), { status: 'error', response: { reason: 'refused' } });
    // Neither answers: their events say noreply (a short push timeout, so no timer outlives the test).
    channel.push('nothing', {}, 200);
    channel.push('shout', { loud: true }, 200);
    await eventually(() => handled.events.filter(ofBase).length === 5, 'five handle_in events');
    const events = handled.events.filter(ofBase);
    assert.deepEqual(
      events.map((e) => [e.event, e.result, e.channel]),
      [
        ['echo', 'reply', 'TelemetryChannel'],
        ['slow', 'reply', 'TelemetryChannel'],
        ['refuse', 'reply', 'TelemetryChannel'],
        ['nothing', 'noreply', 'TelemetryChannel'],
        ['shout', 'noreply', 'TelemetryChannel'],
      ],
    );
    assert.deepEqual(events[0]!.payload, { a: 1 });
    assert.ok(events[1]!.durationMs >= 25, `an async handler is timed to its promise settling (${events[1]!.durationMs}ms)`);
    await eventually(() => broadcasts.events.some(ofBase), 'the broadcast event');
    assert.deepEqual(
      broadcasts.events.filter(ofBase).map((e) => [e.topic, e.event, e.subscribers]),
      [[`${base}:room`, 'shout', 1]],
    );

    await new Promise<void>((resolve, reject) => {
      channel.leave().receive('ok', () => resolve()).receive('timeout', () => reject(new Error('leave timed out')));
    });
    await eventually(() => terminates.events.some(ofBase), 'the terminate event');
    const terminate = terminates.events.find(ofBase)!;
    assert.deepEqual([terminate.topic, terminate.reason, terminate.channel], [`${base}:room`, { shutdown: 'left' }, 'TelemetryChannel']);
  });

  it('a store bound to the handle_in tracing channel is the context of the handler it wraps, sync or async; start, end, asyncStart and asyncEnd each see one context', async () => {
    const trace = tracingChannel<object, HandleInTrace>(TELEMETRY_TRACING.handleIn);
    const seen: string[] = [];
    const handlers = {
      start: (ctx: HandleInTrace) => void seen.push(`start ${ctx.event}`),
      end: (ctx: HandleInTrace) => void seen.push(`end ${ctx.event} ${'result' in ctx ? 'done' : 'pending'}`),
      asyncStart: (ctx: HandleInTrace) => void seen.push(`asyncStart ${ctx.event}`),
      asyncEnd: (ctx: HandleInTrace) => void seen.push(`asyncEnd ${ctx.event} ${JSON.stringify(ctx.result)}`),
      error: (ctx: HandleInTrace) => void seen.push(`error ${ctx.event} ${(ctx.error as Error).name}`),
    };
    trace.subscribe(handlers);
    trace.start.bindStore(requestContext, (ctx) => ({ event: ctx.event }));
    try {
      const topic = `${uniqueTopic('tel')}:traced`;
      const channel = app.client().channel(topic);
      await joined(channel);
      assert.deepEqual(await outcome(channel.push('whoami', {})), { status: 'ok', response: { context: { event: 'whoami' } } });
      assert.deepEqual(await outcome(channel.push('slow', {})), { status: 'ok', response: { slept: true, context: { event: 'slow' } } });
      assert.equal((await outcome(channel.push('refuse', {}))).status, 'error');
      assert.deepEqual(seen, [
        'start whoami',
        'end whoami done',
        'start slow',
        'end slow pending',
        'asyncStart slow',
        'asyncEnd slow {"slept":true,"context":{"event":"slow"}}',
        'start refuse',
        'error refuse ChannelError',
        'end refuse pending',
      ]);
    } finally {
      trace.start.unbindStore(requestContext);
      trace.unsubscribe(handlers);
    }
  });

  it('handlers behind guards, interceptors and filters publish the same join and handle_in events: a guard refusal and a filter answer are answers, an uncaught throw a crash', async () => {
    const base = uniqueTopic('telx');
    const client = app.client({ params: { id: `${base}-user` } });
    const channel = client.channel(`${base}:room`);
    await joined(channel);
    const closed = client.channel(`${base}:closed`);
    await assert.rejects(joined(closed));
    closed.leave();
    const ofBase = (e: { topic: string }) => e.topic.startsWith(base);
    await eventually(() => joins.events.filter(ofBase).length >= 2, 'two join events');
    assert.deepEqual(
      joins.events.filter(ofBase).slice(0, 2).map((e) => [e.topic, e.result, e.channel]),
      [
        [`${base}:room`, 'ok', 'EnhancedTelemetryChannel'],
        [`${base}:closed`, 'error', 'EnhancedTelemetryChannel'],
      ],
    );

    assert.deepEqual(await outcome(channel.push('echo', { a: 1 })), { status: 'ok', response: { a: 1 } });
    assert.deepEqual(await outcome(channel.push('forbidden', {})), { status: 'error', response: { reason: 'unauthorized' } });
    assert.equal((await outcome(channel.push('slow', {}))).status, 'ok');
    assert.deepEqual(await outcome(channel.push('wrapped', {})), { status: 'ok', response: { wrapped: 'inside' } });
    assert.deepEqual(await outcome(channel.push('buy', {})), { status: 'error', response: { reason: 'out of stock' } });
    channel.push('boom', {}, 200);
    await eventually(() => handled.events.filter(ofBase).length === 6, 'six handle_in events');
    await eventually(() => logs.find('error', 'handler exploded').length > 0, 'the crash log line');
    channel.leave();
    const events = handled.events.filter(ofBase);
    assert.deepEqual(
      events.map((e) => [e.event, e.result, e.channel]),
      [
        ['echo', 'reply', 'EnhancedTelemetryChannel'],
        ['forbidden', 'reply', 'EnhancedTelemetryChannel'],
        ['slow', 'reply', 'EnhancedTelemetryChannel'],
        ['wrapped', 'reply', 'EnhancedTelemetryChannel'],
        ['buy', 'reply', 'EnhancedTelemetryChannel'],
        ['boom', 'crashed', 'EnhancedTelemetryChannel'],
      ],
    );
    assert.deepEqual(events[0]!.payload, { a: 1 });
    assert.ok(events[2]!.durationMs >= 25, `an enhanced async handler is timed to its promise settling (${events[2]!.durationMs}ms)`);
  });

  it('the join and handle_in tracing channels wrap enhanced handlers too: a store bound to start is seen by the guard and the handler; result is what the handler (after its interceptors) or a filter answered', async () => {
    const inTrace = tracingChannel<object, HandleInTrace>(TELEMETRY_TRACING.handleIn);
    const joinTrace = tracingChannel<object, JoinTrace>(TELEMETRY_TRACING.join);
    const seen: string[] = [];
    const inHandlers = {
      start: (ctx: HandleInTrace) => void seen.push(`start ${ctx.event}`),
      end: () => undefined,
      asyncStart: () => undefined,
      asyncEnd: (ctx: HandleInTrace) => void seen.push(`asyncEnd ${ctx.event} ${JSON.stringify(ctx.result)}`),
      error: (ctx: HandleInTrace) => void seen.push(`error ${ctx.event} ${(ctx.error as Error).name}`),
    };
    const joinHandlers = {
      start: (ctx: JoinTrace) => void seen.push(`start join ${ctx.channel}`),
      end: () => undefined,
      asyncStart: () => undefined,
      asyncEnd: (ctx: JoinTrace) => void seen.push(`asyncEnd join ${JSON.stringify(ctx.result)}`),
      error: (ctx: JoinTrace) => void seen.push(`error join ${(ctx.error as Error).name}`),
    };
    inTrace.subscribe(inHandlers);
    joinTrace.subscribe(joinHandlers);
    inTrace.start.bindStore(requestContext, (ctx) => ({ event: ctx.event }));
    DoorGuard.seen = [];
    try {
      const topic = `${uniqueTopic('telx')}:traced`;
      const channel = app.client().channel(topic);
      await joined(channel);
      assert.deepEqual(await outcome(channel.push('slow', {})), { status: 'ok', response: { slept: true, context: { event: 'slow' } } });
      assert.equal((await outcome(channel.push('forbidden', {}))).status, 'error');
      assert.equal((await outcome(channel.push('wrapped', {}))).status, 'ok');
      assert.equal((await outcome(channel.push('buy', {}))).status, 'error');
      channel.leave();
      assert.deepEqual(seen, [
        'start join EnhancedTelemetryChannel',
        'asyncEnd join undefined',
        'start slow',
        'asyncEnd slow {"slept":true,"context":{"event":"slow"}}',
        'start forbidden',
        'error forbidden GuardRefusedError',
        // A rejection: error, then asyncStart and asyncEnd, as TracingChannel.tracePromise publishes them.
        'asyncEnd forbidden undefined',
        'start wrapped',
        'asyncEnd wrapped {"wrapped":"inside"}',
        'start buy',
        'asyncEnd buy {"reason":"out of stock"}',
      ]);
      // The guard ran inside the span: the join's (no store bound to join), then one per request.
      assert.deepEqual(DoorGuard.seen, [null, { event: 'slow' }, { event: 'forbidden' }, { event: 'wrapped' }, { event: 'buy' }]);
    } finally {
      inTrace.start.unbindStore(requestContext);
      inTrace.unsubscribe(inHandlers);
      joinTrace.unsubscribe(joinHandlers);
    }
  });

  it('a client that stops reading is closed as a slow consumer, and that is a slow_consumer event', async () => {
    const topic = uniqueTopic('tel');
    const raw = await app.raw();
    assert.equal((await raw.join(topic, {}, '1', '1'))[4].status, 'ok');
    // The client's socket stops reading: what the server writes piles up in the kernel, then in its own buffer.
    (raw.ws as WebSocket & { _socket: { pause(): void } })._socket.pause();
    const endpoint = app.app.get(ChannelsEndpoint);
    const body = 'x'.repeat(256 * 1024);
    for (let i = 0; i < 400 && slow.events.length === 0; i++) {
      await endpoint.broadcast(topic, 'fill', { i, body });
      await sleep(1);
    }
    await eventually(() => slow.events.length === 1, 'the slow consumer event', 5000);
    assert.equal(slow.events[0]!.maxBufferedBytes, 64 * 1024);
    assert.ok(slow.events[0]!.bufferedBytes > 64 * 1024);
    assert.equal(slow.events[0]!.transport, 'websocket');
  });
});

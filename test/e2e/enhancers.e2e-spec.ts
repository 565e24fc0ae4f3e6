/**
 * Nest's enhancers on channels (issue 12): guards, pipes, interceptors,
 * exception filters, the error answers of ChannelError / WsException /
 * HttpException, parameter decorators and prefix handlers, through the
 * `phoenix` client. The whole spec runs on Express and on Fastify.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ContextLog, EnhancersModule, GlobalEnhancersModule, GlobalGuard, HttpOnlyFilter } from '../fixtures/enhancers.channels.js';
import { LogCapture } from '../support/log-capture.js';
import { eventually, joined, nextEvent, outcome, uniqueTopic } from '../support/phoenix-helpers.js';
import { ProcessGuard } from '../support/process-guard.js';
import { PLATFORMS, startApp, type TestApp } from '../support/test-app.js';

for (const platform of PLATFORMS) {
  describe(`Nest enhancers on channels (${platform})`, () => {
    let app: TestApp;
    let log: ContextLog;
    let logs: LogCapture;
    let guard: ProcessGuard;

    before(async () => {
      guard = ProcessGuard.install();
      app = await startApp(EnhancersModule, undefined, platform);
      log = app.app.get(ContextLog);
      logs = LogCapture.install();
    });
    after(async () => {
      await app.close();
      logs.restore();
      try {
        await guard.assertClean('the enhancer spec');
      } finally {
        guard.restore();
      }
    });

    const push = (channel: ReturnType<ReturnType<TestApp['client']>['channel']>, event: string, payload: object = {}) =>
      outcome(channel.push(event, payload), 3000, `the reply to ${event}`);

    describe('guards', () => {
      it('refuses a join with {reason: "unauthorized"} when a class guard answers false, and @Join never runs', async () => {
        const topic = uniqueTopic('guarded');
        const joins = log.entries.filter((e) => e.kind === 'join').length;
        const result = await outcome(app.client().channel(topic, { token: 'stranger' }).join());
        assert.deepEqual(result, { status: 'error', response: { reason: 'unauthorized' } });
        assert.equal(log.entries.filter((e) => e.kind === 'join').length, joins);
      });

      it('gives the guard a ws ExecutionContext: the channel socket as client, the payload as data, phx_join as pattern', async () => {
        const topic = uniqueTopic('guarded');
        await joined(app.client().channel(topic, { token: 'member' }));
        const seen = log.entries.filter((e) => e.kind === 'guard' && e.topic === topic).at(-1)!;
        assert.deepEqual(seen, {
          kind: 'guard',
          type: 'ws',
          className: 'GuardedChannel',
          handler: 'join',
          handlerIsMethod: true,
          topic,
          pattern: 'phx_join',
          data: { token: 'member' },
        });
      });

      it('refuses the join with the payload of a ChannelError or WsException the guard throws', async () => {
        const banned = await outcome(app.client().channel(uniqueTopic('guarded'), { token: 'banned' }).join());
        assert.deepEqual(banned, { status: 'error', response: { reason: 'banned' } });
        const ws = await outcome(app.client().channel(uniqueTopic('guarded'), { token: 'ws' }).join());
        assert.deepEqual(ws, { status: 'error', response: { reason: 'go away' } });
      });

      it('answers a refused @HandleIn with an error reply {reason: "unauthorized"}, and the handler never runs', async () => {
        const channel = app.client().channel(uniqueTopic('guarded'), { token: 'member' });
        await joined(channel);
        assert.deepEqual(await push(channel, 'ping', { n: 1 }), { status: 'ok', response: { n: 1 } });
        assert.deepEqual(await push(channel, 'demote'), { status: 'ok', response: { member: false } });
        const handled = log.entries.filter((e) => e.kind === 'handler').length;
        assert.deepEqual(await push(channel, 'ping', { n: 2 }), { status: 'error', response: { reason: 'unauthorized' } });
        assert.equal(log.entries.filter((e) => e.kind === 'handler').length, handled);
        const seen = log.last('guard')!;
        assert.equal(seen.pattern, 'ping');
        assert.deepEqual(seen.data, { n: 2 });
      });

      it('takes a method guard that refuses asynchronously, after the class guard let the request through', async () => {
        const channel = app.client().channel(uniqueTopic('guarded'), { token: 'member' });
        await joined(channel);
        assert.deepEqual(await push(channel, 'async_refused'), { status: 'error', response: { reason: 'unauthorized' } });
        assert.ok(!log.entries.some((e) => e.kind === 'handler' && e.event === 'async_refused'));
      });
    });

    describe('pipes', () => {
      it('validates @MessageBody() with ValidationPipe: invalid payloads get an error reply with the messages', async () => {
        const topic = uniqueTopic('enhanced');
        const channel = app.client().channel(topic);
        await joined(channel);
        assert.deepEqual(await push(channel, 'create', { name: 'lobby', size: 4 }), {
          status: 'ok',
          response: { created: 'lobby', size: 4, topic },
        });
        const refused = await push(channel, 'create', { name: 'x', size: 40 });
        assert.equal(refused.status, 'error');
        assert.equal(refused.response.statusCode, 400);
        assert.equal(refused.response.error, 'Bad Request');
        assert.deepEqual([...refused.response.message].sort(), [
          'name must be longer than or equal to 3 characters',
          'size must not be greater than 10',
        ]);
      });

      it('validates and transforms the positional payload of a handler without parameter decorators', async () => {
        const topic = uniqueTopic('enhanced');
        const channel = app.client().channel(topic);
        await joined(channel);
        assert.deepEqual(await push(channel, 'create_positional', { name: 'hall', size: 2 }), {
          status: 'ok',
          response: { isDto: true, name: 'hall', topic, event: 'create_positional' },
        });
        const refused = await push(channel, 'create_positional', { name: 'hall' });
        assert.equal(refused.status, 'error');
        assert.equal(refused.response.statusCode, 400);
      });

      it('refuses a join whose payload a pipe rejects, with the pipe\'s response', async () => {
        const refused = await outcome(app.client().channel(uniqueTopic('joinerr'), { name: 'no', size: 1 }).join());
        assert.equal(refused.status, 'error');
        assert.equal(refused.response.statusCode, 400);
        assert.deepEqual(refused.response.message, ['name must be longer than or equal to 3 characters']);
        assert.deepEqual(await joined(app.client().channel(uniqueTopic('joinerr'), { name: 'yes', size: 1 })), { name: 'yes' });
      });
    });

    describe('interceptors', () => {
      it('wraps the handler call: maps the reply and sees the handler finish', async () => {
        const channel = app.client().channel(uniqueTopic('enhanced'));
        await joined(channel);
        assert.deepEqual(await push(channel, 'wrapped', { n: 21 }), {
          status: 'ok',
          response: { data: { doubled: 42 }, by: 'WrapInterceptor' },
        });
        const seen = log.last('interceptor')!;
        assert.equal(seen.pattern, 'wrapped');
        assert.equal(typeof seen.ms, 'number');
      });

      it('sees a reply() helper as the handler returned it', async () => {
        const channel = app.client().channel(uniqueTopic('enhanced'));
        await joined(channel);
        const result = await push(channel, 'wrapped_reply');
        // The interceptor wrapped the Reply object itself: it is not a result helper any more, so it is the ok response.
        assert.equal(result.status, 'ok');
        assert.equal(result.response.by, 'WrapInterceptor');
        assert.deepEqual(result.response.data, { status: 'ok', response: { inner: true } });
      });
    });

    describe('exception filters', () => {
      it('answers with what a filter returns: a result helper as is, a plain value as the error response', async () => {
        const channel = app.client().channel(uniqueTopic('enhanced'));
        await joined(channel);
        assert.deepEqual(await push(channel, 'domain', { kind: 'domain' }), { status: 'error', response: { domain: 'out of stock' } });
        assert.deepEqual(log.last('filter'), { kind: 'filter', type: 'ws', pattern: 'domain' });
        assert.deepEqual(await push(channel, 'domain', { kind: 'range' }), { status: 'error', response: { range: 'too far' } });
        assert.deepEqual(await push(channel, 'domain', { kind: 'none' }), { status: 'ok', response: { fine: true } });
      });

      it('falls through to the default answers when a filter rethrows', async () => {
        const channel = app.client().channel(uniqueTopic('enhanced'));
        await joined(channel);
        const rethrows = log.entries.filter((e) => e.kind === 'rethrow').length;
        const result = await push(channel, 'rethrown');
        assert.deepEqual(result, {
          status: 'error',
          response: { statusCode: 400, message: 'rethrown by the filter', error: 'Bad Request' },
        });
        assert.equal(log.entries.filter((e) => e.kind === 'rethrow').length, rethrows + 1);
      });

      it('crashes the channel on an error no filter catches, and the client rejoins', async () => {
        const socket = app.client();
        const channel = socket.channel(uniqueTopic('enhanced'));
        await joined(channel);
        const errored = nextEvent(channel, 'phx_error');
        const mark = logs.entries.length;
        channel.push('domain', { kind: 'crash' });
        await errored;
        await eventually(
          () => logs.since(mark).some((e) => e.level === 'error' && e.message.includes('EnhancedChannel.domain crashed')),
          'the crash is logged with Class.method',
        );
      });
    });

    describe('error answers', () => {
      it('answers HttpException with its response, WsException with its error and ChannelError with its payload', async () => {
        const channel = app.client().channel(uniqueTopic('enhanced'));
        await joined(channel);
        assert.deepEqual(await push(channel, 'http', { kind: 'bad_request' }), {
          status: 'error',
          response: { statusCode: 400, message: 'name is required', error: 'Bad Request' },
        });
        assert.deepEqual(await push(channel, 'http', { kind: 'string_response' }), {
          status: 'error',
          response: { reason: 'Payment Required' },
        });
        assert.deepEqual(await push(channel, 'http', { kind: 'ws_string' }), { status: 'error', response: { reason: 'not allowed' } });
        assert.deepEqual(await push(channel, 'http', { kind: 'ws_object' }), {
          status: 'error',
          response: { code: 42, why: 'object error' },
        });
        assert.deepEqual(await push(channel, 'http', { kind: 'channel' }), {
          status: 'error',
          response: { reason: 'channel says no' },
        });
        assert.deepEqual(await push(channel, 'http_async'), {
          status: 'error',
          response: { statusCode: 400, message: 'async bad request', error: 'Bad Request' },
        });
      });

      it('crashes the channel on any other error, as in Phoenix (phx_error, then rejoin)', async () => {
        const channel = app.client().channel(uniqueTopic('enhanced'));
        await joined(channel);
        const errored = nextEvent(channel, 'phx_error');
        const rejoined = nextEvent(channel, 'phx_reply');
        channel.push('http', { kind: 'plain' });
        await errored;
        await rejoined;
      });

      it('refuses a join that throws HttpException or WsException with their answers; other errors crash the join', async () => {
        const http = await outcome(app.client().channel(`${uniqueTopic('joinerr')}:http`, { name: 'abc', size: 1 }).join());
        assert.deepEqual(http, { status: 'error', response: { why: 'http refusal' } });
        const ws = await outcome(app.client().channel(`${uniqueTopic('joinerr')}:ws`, { name: 'abc', size: 1 }).join());
        assert.deepEqual(ws, { status: 'error', response: { reason: 'ws refusal' } });
        const crash = await outcome(app.client().channel(`${uniqueTopic('joinerr')}:crash`, { name: 'abc', size: 1 }).join());
        assert.deepEqual(crash, { status: 'error', response: { reason: 'join crashed' } });
      });
    });

    describe('parameter decorators', () => {
      it('fills @Topic, @TopicParam, @MessageBody(key) and @Event in @Join', async () => {
        const topic = uniqueTopic('enhanced');
        const response = await joined(app.client().channel(topic, { greeting: 'hi' }));
        assert.deepEqual(response, { topic, room: topic.slice('enhanced:'.length), greeting: 'hi', event: 'phx_join' });
      });

      it('fills @MessageBody(key), @TopicParam and a createParamDecorator decorator in @HandleIn', async () => {
        const topic = uniqueTopic('enhanced');
        const channel = app.client({ params: { user: 'ada' } }).channel(topic);
        await joined(channel);
        assert.deepEqual(await push(channel, 'rename', { name: 'Lovelace' }), {
          status: 'ok',
          response: { room: topic.slice('enhanced:'.length), name: 'Lovelace', user: 'ada' },
        });
      });
    });

    describe('prefix handlers', () => {
      it('routes exact events first, then the longest prefix; the event is the last positional argument or @Event()', async () => {
        const topic = uniqueTopic('enhanced');
        const channel = app.client().channel(topic);
        await joined(channel);
        assert.deepEqual(await push(channel, 'ctl:exact'), { status: 'ok', response: { via: 'ctl:exact', event: 'ctl:exact' } });
        assert.deepEqual(await push(channel, 'ctl:restart', { now: true }), {
          status: 'ok',
          response: { via: 'ctl:*', event: 'ctl:restart', topic, payload: { now: true } },
        });
        assert.deepEqual(await push(channel, 'ctl:admin:ban'), { status: 'ok', response: { via: 'ctl:admin:*', event: 'ctl:admin:ban' } });
        assert.deepEqual(await push(channel, 'ctl:'), { status: 'ok', response: { via: 'ctl:*', event: 'ctl:', topic, payload: {} } });
      });
    });
  });
}

describe('app-wide enhancers on channels', () => {
  let app: TestApp;

  before(async () => {
    app = await startApp(GlobalEnhancersModule, (nest) => {
      nest.useGlobalGuards(new GlobalGuard());
      nest.useGlobalFilters(new HttpOnlyFilter());
    });
  });
  after(() => app.close());

  it('runs app.useGlobalGuards on connect, joins and requests of a channel that has no enhancers of its own', async () => {
    GlobalGuard.patterns = [];
    const socket = app.client();
    const refused = await outcome(socket.channel(uniqueTopic('plain:blocked')).join());
    assert.deepEqual(refused, { status: 'error', response: { reason: 'unauthorized' } });
    const channel = socket.channel(uniqueTopic('plain'));
    await joined(channel);
    assert.deepEqual(await outcome(channel.push('echo', { a: 1 })), { status: 'ok', response: { a: 1 } });
    assert.deepEqual(await outcome(channel.push('forbidden', {})), { status: 'error', response: { reason: 'unauthorized' } });
    assert.deepEqual(GlobalGuard.patterns, ['connect', 'phx_join', 'phx_join', 'echo', 'forbidden']);
  });

  it('leaves app-wide exception filters to the HTTP app, as Nest gateways do', async () => {
    const channel = app.client().channel(uniqueTopic('plain'));
    await joined(channel);
    assert.deepEqual(await outcome(channel.push('bad', {})), {
      status: 'error',
      response: { statusCode: 400, message: 'bad input', error: 'Bad Request' },
    });
    assert.equal(HttpOnlyFilter.calls, 0);
  });
});

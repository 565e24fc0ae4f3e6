/**
 * Re-runs the findings of issue 11 and prints what was measured, for the
 * record (the behaviours themselves are asserted by
 * test/e2e/client-isolation.e2e-spec.ts and test/e2e/redis-hang.e2e-spec.ts).
 * Not part of `npm run bench`; after `npx tsc -p tsconfig.json`:
 *
 *   node --expose-gc dist/bench/isolation-repro.js [scenario ...]
 *
 * Scenarios: deep-intercepted, deep-fastlane, binary-join, flood, big-frames,
 * redis-pause (default: all). The server runs in this process; clients that
 * send large frames run in a child process, so the RSS printed is the
 * server's. Every scenario has a bounded wait; timings are wall-clock on
 * whatever else the machine is doing.
 */
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { RedisPubSub } from '../lib/redis/index.js';
import { IsolationFixtures } from '../test/fixtures/isolation.channels.js';
import { clientPush } from '../test/support/binary-frames.js';
import { LogCapture } from '../test/support/log-capture.js';
import type { RawClient } from '../test/support/raw-client.js';
import { RedisServer, uniquePrefix } from '../test/support/redis-server.js';
import { startApp, type TestApp } from '../test/support/test-app.js';

const MiB = 1024 * 1024;
let topicCounter = 0;
const topic = (): string => `iso:repro-${process.pid}-${++topicCounter}`;
const nested = (levels: number): string => `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(0)} MB`;
const maxRss = (): number => process.resourceUsage().maxRSS * 1024;

async function joined(app: TestApp, t: string, count: number): Promise<RawClient[]> {
  const clients: RawClient[] = [];
  for (let i = 0; i < count; i++) {
    const raw = await app.raw();
    await raw.join(t, {}, 'b', 'b');
    clients.push(raw);
  }
  return clients;
}

async function pingAll(clients: RawClient[], t: string): Promise<number> {
  let answered = 0;
  await Promise.all(
    clients.map(async (raw, i) => {
      raw.send([null, `alive${i}`, t, 'ping', {}]);
      for (;;) {
        const frame = await raw.nextJson(10_000, 'a ping reply').catch(() => null);
        if (frame === null) return;
        if (frame[1] === `alive${i}`) {
          if (frame[4]?.status === 'ok') answered++;
          return;
        }
      }
    }),
  );
  return answered;
}

/** Runs `code` (an ES module body with `ws`, `port` and `send` in scope) in a child Node process; resolves with its stdout. */
function child(port: number, code: string): Promise<string> {
  const script = `import { WebSocket } from 'ws';\nconst port = ${port};\n${code}`;
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 120_000);
    proc.on('exit', () => {
      clearTimeout(timer);
      resolve(out.trim());
    });
    proc.on('error', reject);
  });
}

const scenarios: Record<string, () => Promise<void>> = {
  /** 1: one deep frame on an intercepted event, 49 other subscribers. */
  async 'deep-intercepted'() {
    const app = await startApp(IsolationFixtures.app());
    try {
      const t = topic();
      const others = await joined(app, t, 49);
      const [attacker] = await joined(app, t, 1);
      const errors = { count: 0 };
      for (const raw of others) raw.ws.on('message', (data) => String(data).includes('phx_error') && errors.count++);
      attacker!.send(`["b","1","${t}","news",{"body":${nested(6000)}}]`);
      const code = await attacker!.closedWith(10_000).catch(() => 'still open');
      await new Promise((resolve) => setTimeout(resolve, 500));
      const alive = await pingAll(others, t);
      console.log(`deep-intercepted: attacker closed with ${code}; phx_error at the 49 others: ${errors.count}; others answering a ping: ${alive}/49`);
    } finally {
      await app.close();
    }
  },

  /** 1: five 100 kB deep frames broadcast on the fastlane to 200 subscribers. */
  async 'deep-fastlane'() {
    const app = await startApp(IsolationFixtures.app());
    const logs = LogCapture.install();
    try {
      const t = topic();
      const subscribers = await joined(app, t, 200);
      const [sender] = await joined(app, t, 1);
      const frame = `{"body":${nested(16_667)}}`;
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      const started = performance.now();
      for (let i = 0; i < 5; i++) sender!.send(`["b","s${i}","${t}","shout",${frame}]`);
      const code = await sender!.closedWith(60_000).catch(() => 'still open');
      const alive = await pingAll(subscribers, t);
      delay.disable();
      const errorLines = logs.entries.filter((e) => e.level === 'error').length;
      console.log(
        `deep-fastlane: 5 frames of ${(frame.length / 1000).toFixed(0)} kB, 200 subscribers: sender closed with ${code} after ` +
          `${(performance.now() - started).toFixed(0)} ms; longest event-loop stall ${(delay.max / 1e6).toFixed(1)} ms; ` +
          `error log lines ${errorLines}; subscribers answering a ping: ${alive}/200`,
      );
    } finally {
      logs.restore();
      await app.close();
    }
  },

  /** 2: a V2 binary join with a 90 MiB payload, logJoin on (maxFrameSize raised to let it in). */
  async 'binary-join'() {
    const app = await startApp(IsolationFixtures.app({ maxFrameSize: 100 * MiB, maxJoinPayloadSize: 100 * MiB }));
    const logs = LogCapture.install();
    try {
      const t = topic();
      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      const frame = clientPush('1', '1', t, 'phx_join', Buffer.alloc(0)).toString('base64');
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      const out = await child(
        app.port,
        `const head = Buffer.from('${frame}', 'base64');
         const ws = new WebSocket('ws://127.0.0.1:' + port + '/socket/websocket?vsn=2.0.0');
         ws.on('open', () => { const started = Date.now(); ws.on('message', (m) => { console.log(Date.now() - started, String(m).slice(0, 80)); ws.terminate(); }); ws.send(Buffer.concat([head, Buffer.alloc(90 * 1024 * 1024, 0xff)]), { binary: true }); });`,
      );
      delay.disable();
      const line = logs.entries.find((e) => e.message.startsWith(`JOINED ${t}`))?.message ?? '(no JOINED line)';
      console.log(
        `binary-join: 90 MiB binary join answered in ${out.split(' ')[0]} ms (send to reply, measured by the client, transfer included: ${out.slice(out.indexOf(' ') + 1).trim().slice(0, 60)}); ` +
          `longest event-loop stall ${(delay.max / 1e6).toFixed(1)} ms; ` +
          `server RSS ${mb(rssBefore)} before, peak ${mb(maxRss())}; log line (${line.length} chars): ${line}`,
      );
    } finally {
      logs.restore();
      await app.close();
    }
  },

  /** 7: 300 000 pings behind a handler that never resolves. */
  async flood() {
    // The later limits lifted (the rate limit and the pending-replies bound answer such a flood with error
    // replies long before), so that it reaches the mailbox bound, as in the original finding.
    const app = await startApp(IsolationFixtures.app({ maxMessagesPerSecond: Infinity, maxPendingReplies: 1_000_000 }));
    try {
      const t = topic();
      const [raw] = await joined(app, t, 1);
      global.gc?.();
      const heapBefore = process.memoryUsage().heapUsed;
      raw!.send(['b', 'h', t, 'hang', {}]);
      for (let i = 0; i < 300_000 && raw!.ws.readyState === 1; i++) raw!.send(['b', `p${i}`, t, 'ping', {}]);
      const code = await raw!.closedWith(30_000).catch(() => 'still open');
      global.gc?.();
      console.log(`flood: 300 000 pings behind a hanging handler: closed with ${code}; heap growth ${mb(process.memoryUsage().heapUsed - heapBefore)}`);
    } finally {
      await app.close();
    }
  },

  /** 7: three 90 MiB frames at the default maxFrameSize. */
  async 'big-frames'() {
    const app = await startApp(IsolationFixtures.app());
    try {
      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      const out = await child(
        app.port,
        `const codes = await Promise.all([0, 1, 2].map(() => new Promise((resolve) => {
           const ws = new WebSocket('ws://127.0.0.1:' + port + '/socket/websocket?vsn=2.0.0');
           ws.on('open', () => ws.send('["1","1","phoenix","heartbeat",{"pad":"' + 'x'.repeat(90 * 1024 * 1024) + '"}]'));
           ws.on('close', (code) => resolve(code));
           ws.on('error', () => undefined);
         })));
         console.log(codes.join(','));`,
      );
      console.log(`big-frames: three 90 MiB frames: close codes ${out}; server RSS ${mb(rssBefore)} before, peak ${mb(maxRss())}`);
    } finally {
      await app.close();
    }
  },

  /** 8: Redis paused (SIGSTOP) for 8 s while new connections arrive. */
  async 'redis-pause'() {
    const redis = await RedisServer.start();
    const pubsub = new RedisPubSub({ url: redis.url, keyPrefix: uniquePrefix('repro') });
    const app = await startApp(IsolationFixtures.app({ pubsub }));
    try {
      const t = topic();
      const [bystander] = await joined(app, t, 1);
      redis.pause();
      const started = Date.now();
      const answeredIn = async (raw: RawClient, frame: unknown[]): Promise<number | string> => {
        const sentAt = Date.now();
        raw.send(frame);
        return raw.nextJson(20_000, String(frame[3])).then(() => Date.now() - sentAt, () => 'none');
      };
      const late = await app.raw({ query: 'vsn=2.0.0&id=repro-user' });
      const heartbeat = await answeredIn(late, [null, 'hb', 'phoenix', 'heartbeat', {}]);
      const [ping, join] = await Promise.all([answeredIn(bystander!, ['b', '2', t, 'ping', {}]), answeredIn(late, ['1', '1', topic(), 'phx_join', {}])]);
      const joinAfter = await answeredIn(late, ['2', '2', topic(), 'phx_join', {}]);
      const resumeIn = 8000 - (Date.now() - started);
      if (resumeIn > 0) await new Promise((resolve) => setTimeout(resolve, resumeIn));
      redis.resume();
      console.log(
        `redis-pause: Redis paused for 8 s: a new connection's heartbeat answered in ${heartbeat} ms, its first join in ${join} ms ` +
          `(frames held while its socket id subscribes, up to commandTimeoutMs), a later join in ${joinAfter} ms; ` +
          `a connected client's ping in ${ping} ms`,
      );
    } finally {
      redis.resume();
      await app.close();
      await redis.stop();
    }
  },
};

const unhandled: string[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(String(reason)));
process.on('uncaughtException', (error) => unhandled.push(String(error)));

const chosen = process.argv.slice(2);
for (const name of chosen.length > 0 ? chosen : Object.keys(scenarios)) {
  const run = scenarios[name];
  if (run === undefined) throw new Error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(', ')}`);
  await run();
}
console.log(`unhandled rejections or uncaught exceptions: ${unhandled.length}${unhandled.length > 0 ? ` (${unhandled.slice(0, 3).join('; ')})` : ''}`);
process.exit(0);

/**
 * Redis for the tests: the shared one at REDIS_URL (127.0.0.1:6379 unless
 * set; `scripts/ensure-redis.sh` starts it), unique key prefixes, and
 * throwaway `redis-server` processes on free ports for tests that stop and
 * restart Redis. Every throwaway server is killed when the test process
 * exits, whatever happened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

let prefixCounter = 0;

/** A key prefix no other test (or test run) uses. */
export function uniquePrefix(label = 'test'): string {
  return `nc-test:${label}:${process.pid}-${Date.now().toString(36)}-${++prefixCounter}:`;
}

/** True when something at host:port answers PING with PONG within `timeoutMs`. */
export function redisAnswers(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/** A port nothing listens on right now (the kernel's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A throwaway redis-server (no persistence) that a test may stop and start again on the same port. */
export class RedisServer {
  private child: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    private readonly extraArgs: readonly string[] = [],
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get isRunning(): boolean {
    return this.child !== null;
  }

  /** A server on a free port, not started yet (for "Redis is not there at app start"). */
  static async reserve(): Promise<RedisServer> {
    return new RedisServer(await freePort());
  }

  /** Starts one on a free port (or `port`) and resolves once it answers PING. */
  static async start(port?: number, extraArgs: readonly string[] = []): Promise<RedisServer> {
    const server = new RedisServer(port ?? (await freePort()), extraArgs);
    await server.start();
    return server;
  }

  /** (Re)starts it on its port; resolves once it answers, rejects after `timeoutMs`. */
  async start(timeoutMs = 5000): Promise<void> {
    if (this.child !== null) return;
    const child = spawn(
      'redis-server',
      ['--port', `${this.port}`, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...this.extraArgs],
      { stdio: 'ignore' },
    );
    this.child = child;
    running.add(child);
    // If this process dies without running its exit handler (SIGKILL, a runner timeout), the
    // watchdog reads end-of-file on its stdin and kills the server.
    const watchdog =
      child.pid === undefined
        ? null
        : spawn('sh', ['-c', `cat >/dev/null; kill -9 ${child.pid} 2>/dev/null`], { stdio: ['pipe', 'ignore', 'ignore'] });
    if (watchdog !== null) running.add(watchdog);
    let exited = false;
    child.once('exit', () => {
      exited = true;
      running.delete(child);
      if (watchdog !== null) {
        // Killed rather than released, so it never sends its kill to a pid that may be reused.
        watchdog.kill('SIGKILL');
        running.delete(watchdog);
      }
      if (this.child === child) this.child = null;
    });
    child.once('error', () => {
      // spawn failed (no redis-server on PATH): reported below as "did not answer".
      exited = true;
    });
    const deadline = Date.now() + timeoutMs;
    while (!(await redisAnswers(this.port))) {
      if (exited || Date.now() > deadline) {
        await this.stop();
        throw new Error(`redis-server on port ${this.port} did not answer PING within ${timeoutMs}ms${exited ? ' (it exited)' : ''}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Freezes the process (SIGSTOP): connections stay open but nothing is answered, as with a hung Redis. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** Undoes `pause` (SIGCONT). */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Stops it (SIGTERM, then SIGKILL after 3 s) and resolves once the process is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (child === null) return;
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    // A paused (SIGSTOPped) server handles SIGTERM only once it runs again.
    child.kill('SIGCONT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  }
}

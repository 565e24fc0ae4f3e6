/**
 * The soak app (soak-app.ts) from the driving side: forks it with
 * `--expose-gc`, waits (bounded) for it to listen, asks it for its figures
 * over IPC (each request bounded), and kills it when this process exits,
 * whatever happened.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { eachLine } from '../support/processes.js';
import type { SoakStats } from './soak-stats.js';

const ENTRY = fileURLToPath(new URL('./soak-app.js', import.meta.url));

const alive = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of alive) child.kill('SIGKILL');
});

export interface SoakAppOptions {
  pubsub?: 'local' | 'redis';
  redisUrl?: string;
  keyPrefix?: string;
  node?: string;
  /** Merged into `ChannelsModule.forRoot`. */
  moduleOptions?: Record<string, unknown>;
  /** Start-up bound. @default 20000 */
  timeoutMs?: number;
}

/** A change of the app's PubSub connection, as the app saw it (epoch ms). */
export interface PubSubEdge {
  readonly connected: boolean;
  readonly at: number;
}

export class SoakApp {
  port = 0;
  readonly pubsubEdges: PubSubEdge[] = [];
  /** The last 50 lines the app printed. */
  readonly tail: string[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    child.on('message', (message: { id?: number; result?: unknown; error?: string; event?: string; connected?: boolean; at?: number }) => {
      if (message.event === 'pubsub') {
        this.pubsubEdges.push({ connected: message.connected === true, at: message.at ?? Date.now() });
        return;
      }
      if (message.id === undefined) return;
      const waiter = this.pending.get(message.id);
      if (waiter === undefined) return;
      this.pending.delete(message.id);
      clearTimeout(waiter.timer);
      if (message.error !== undefined) waiter.reject(new Error(`${this.name}: ${message.error}`));
      else waiter.resolve(message.result);
    });
    child.once('exit', (code, signal) => {
      for (const waiter of this.pending.values()) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error(`${this.name} exited (${code ?? signal}); it printed:\n${this.tail.join('\n')}`));
      }
      this.pending.clear();
    });
    for (const stream of [child.stdout!, child.stderr!]) {
      eachLine(stream, (line) => {
        this.tail.push(line);
        if (this.tail.length > 50) this.tail.shift();
        if (process.env.SOAK_APP_LOGS !== undefined) process.stderr.write(`[${name}] ${line}\n`);
      });
    }
  }

  /** Forks the app and resolves once it listens; rejects (and kills it) after `timeoutMs`. */
  static start(name: string, options: SoakAppOptions = {}): Promise<SoakApp> {
    const args = ['--pubsub', options.pubsub ?? 'local', '--node', options.node ?? name];
    if (options.redisUrl !== undefined) args.push('--redis-url', options.redisUrl);
    if (options.keyPrefix !== undefined) args.push('--key-prefix', options.keyPrefix);
    if (options.moduleOptions !== undefined) args.push('--options', JSON.stringify(options.moduleOptions));
    const child = fork(ENTRY, args, {
      // A fixed young generation: V8 otherwise grows it (to 2 × 16 MiB) or not depending on timing, which
      // moves RSS by ~30 MB between runs and hides what the soak looks for.
      execArgv: ['--expose-gc', '--min-semi-space-size=16', '--max-semi-space-size=16'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, NO_COLOR: '1', MALLOC_MMAP_THRESHOLD_: '131072' },
      serialization: 'json',
    });
    alive.add(child);
    child.once('exit', () => alive.delete(child));
    const app = new SoakApp(name, child);
    const timeoutMs = options.timeoutMs ?? 20_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${name}: not listening within ${timeoutMs}ms; it printed:\n${app.tail.join('\n')}`));
      }, timeoutMs);
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code ?? signal}) before listening; it printed:\n${app.tail.join('\n')}`));
      };
      child.once('exit', onExit);
      child.on('message', function onReady(message: { event?: string; port?: number }) {
        if (message.event !== 'ready') return;
        clearTimeout(timer);
        child.off('exit', onExit);
        child.off('message', onReady);
        app.port = message.port!;
        resolve(app);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get isAlive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The app's figures; after a forced full GC unless `gc` is false. */
  stats(gc = true, timeoutMs = 30_000): Promise<SoakStats> {
    return this.call<SoakStats>({ cmd: 'stats', gc }, timeoutMs);
  }

  /** Closes the app (Nest shutdown, connections drained) and waits for the process to end. */
  async close(timeoutMs = 15_000): Promise<void> {
    if (!this.isAlive) return;
    try {
      await this.call({ cmd: 'close' }, timeoutMs);
    } catch {
      // Fall through to the kill.
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL, at once; resolves once the process is gone. */
  async kill(): Promise<void> {
    if (this.isAlive) this.child.kill('SIGKILL');
    await this.exited;
  }

  private call<T>(command: { cmd: string; gc?: boolean }, timeoutMs: number): Promise<T> {
    if (!this.isAlive || !this.child.connected) return Promise.reject(new Error(`${this.name} is not running`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: no answer to '${command.cmd}' within ${timeoutMs}ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.child.send({ ...command, id });
    });
  }
}

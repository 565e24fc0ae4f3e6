/**
 * App processes for the multi-process tests: spawns an app script (the
 * cluster's `test/fixtures/cluster-node.js`, or another entry), waits
 * (bounded) for `READY <port>`, keeps every line it prints, and hands out
 * `phoenix` clients to it. Every process still alive when the test process
 * exits is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Socket as PhoenixSocket, type SocketConnectOption } from 'phoenix';
import { WebSocket } from 'ws';
import { eachLine } from './processes.js';

const ENTRY = fileURLToPath(new URL('../fixtures/cluster-node.js', import.meta.url));
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

const alive = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of alive) child.kill('SIGKILL');
});

export class NodeProcess {
  /** Every line printed on stdout and stderr, without colours. */
  readonly lines: string[] = [];
  port = 0;
  private readonly sockets: PhoenixSocket[] = [];
  private readonly exited: Promise<void>;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /**
   * Starts several nodes at once; when one fails, stops those that started
   * and rethrows, so nothing is left running.
   */
  static async startAll(names: string[], redisUrl: string, keyPrefix: string, extraArgs: string[] = []): Promise<NodeProcess[]> {
    const results = await Promise.allSettled(names.map((name) => NodeProcess.start(name, redisUrl, keyPrefix, 15_000, extraArgs)));
    const started = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(started.map((node) => node.stop()));
      throw failed.reason;
    }
    return started;
  }

  /** Starts a cluster node; rejects (and kills it) when it prints no READY line within `timeoutMs`. */
  static start(name: string, redisUrl: string, keyPrefix: string, timeoutMs = 15_000, extraArgs: string[] = []): Promise<NodeProcess> {
    return NodeProcess.launch(name, ENTRY, ['--redis-url', redisUrl, '--key-prefix', keyPrefix, '--node', name, ...extraArgs], timeoutMs);
  }

  /** Starts `node <entry> ...args`; rejects (and kills it) when it prints no READY line within `timeoutMs`. */
  static launch(name: string, entry: string, args: string[], timeoutMs = 15_000): Promise<NodeProcess> {
    const child = spawn(process.execPath, [entry, ...args], {
      // stdin is a pipe the node watches: when this process dies, even by SIGKILL, the node exits too.
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    alive.add(child);
    child.once('exit', () => alive.delete(child));
    const node = new NodeProcess(name, child);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${name}: no READY line within ${timeoutMs}ms; output:\n${node.lines.join('\n')}`));
      }, timeoutMs);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code ?? signal}) before READY; output:\n${node.lines.join('\n')}`));
      });
      const onLine = (line: string): void => {
        node.lines.push(line);
        if (process.env.TEST_LOGS) console.log(`[${name}] ${line}`);
        const ready = /^READY (\d+)$/.exec(line);
        if (ready !== null) {
          clearTimeout(timer);
          node.port = Number(ready[1]);
          resolve(node);
        }
      };
      for (const stream of [child.stdout!, child.stderr!]) eachLine(stream, (line) => onLine(line.replace(ANSI, '')));
    });
  }

  get isAlive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Lines matching `pattern`. */
  grep(pattern: RegExp): string[] {
    return this.lines.filter((line) => pattern.test(line));
  }

  /** A connected `phoenix` V2 client on this node, closed by `stop()`. */
  client(params: Record<string, string> = {}): PhoenixSocket {
    const socket = new PhoenixSocket(`ws://127.0.0.1:${this.port}/socket`, {
      transport: WebSocket as unknown as SocketConnectOption['transport'],
      params,
      reconnectAfterMs: () => 100,
      rejoinAfterMs: () => 200,
    } as Partial<SocketConnectOption>);
    this.sockets.push(socket);
    socket.connect();
    return socket;
  }

  /** Resolves with how the process ended; rejects when it is still running after `timeoutMs`. */
  async exit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name} still running after ${timeoutMs}ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.exited, timedOut]);
    } finally {
      clearTimeout(timer);
    }
    return { code: this.child.exitCode, signal: this.child.signalCode };
  }

  /** SIGKILL, at once; resolves once the process is gone. */
  async kill(): Promise<void> {
    for (const socket of this.sockets) socket.disconnect();
    if (this.isAlive) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Disconnects its clients, SIGTERM (the app closes), SIGKILL after 5 s. */
  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.disconnect();
    if (!this.isAlive) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

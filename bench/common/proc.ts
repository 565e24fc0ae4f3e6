/**
 * Child processes for the runner: servers (spawned, `READY <port>` on stdout)
 * and load workers (forked, IPC). Every child is registered so that the
 * runner can kill them all on any exit path; every wait has a deadline.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { WorkerCmd, WorkerReply } from './ipc.js';

const children = new Set<ChildProcess>();

/** Kills every child still alive (SIGKILL): for exit paths where waiting is not an option. */
export function killAllChildren(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
}

function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (!(await waitExit(child, 3000))) {
    child.kill('SIGKILL');
    await waitExit(child, 2000);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

let clockTicks: number | null = null;
function ticksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds (user + system, all threads) process `pid` used so far, from /proc; null where /proc is missing. */
export function cpuSecondsOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is state (field 3); utime and stime are fields 14 and 15.
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return null;
  }
}

/**
 * CPU seconds the whole machine spent busy so far (every core: user, nice,
 * system, irq, softirq, steal; from /proc/stat), or null where /proc is
 * missing. Beside the seconds of the server and the load workers over the
 * same window, it says how much of the cores other work took.
 */
export function machineBusySeconds(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const busy = f[0]! + f[1]! + f[2]! + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
    return busy / ticksPerSecond();
  } catch {
    return null;
  }
}

/** System (kernel) CPU seconds process `pid` used so far, from /proc; null where /proc is missing. */
export function systemSecondsOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[12]) / ticksPerSecond();
  } catch {
    return null;
  }
}

/** A `kB` line of /proc/<pid>/status (VmRSS, VmHWM, ...) in bytes; null where unreadable. */
export function statusBytesOf(pid: number, key: string): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    return m === null ? null : Number(m[1]) * 1024;
  } catch {
    return null;
  }
}

export interface MemReport {
  pid: number;
  gc: boolean;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  upgrades: { open: number; closed: number; total: number };
}

/** A bench server process. */
export class ServerProc {
  readonly name: string;
  readonly child: ChildProcess;
  port = 0;
  private readonly tail: string[] = [];
  outputLines = 0;

  private constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.child = child;
  }

  /** Spawns `node [nodeArgs] file [args]` and resolves once it printed `READY <port>`. */
  static start(name: string, file: string, args: string[], nodeArgs: string[], verbose: boolean, timeoutMs = 30_000): Promise<ServerProc> {
    const child = spawn(process.execPath, [...nodeArgs, file, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, BENCH_CHILD: '1' },
    });
    track(child);
    const proc = new ServerProc(name, child);
    return new Promise<ServerProc>((resolve, reject) => {
      let buffered = '';
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        void stopChild(child);
        reject(new Error(`${name}: no READY line within ${timeoutMs} ms\n${proc.lastOutput()}`));
      }, timeoutMs);
      const onLine = (line: string, stream: 'out' | 'err'): void => {
        proc.outputLines++;
        proc.tail.push(line);
        if (proc.tail.length > 40) proc.tail.shift();
        if (verbose) process.stderr.write(`  [${name}${stream === 'err' ? '!' : ''}] ${line}\n`);
        const m = /^READY (\d+)$/.exec(line);
        if (m !== null && !settled) {
          settled = true;
          clearTimeout(timer);
          proc.port = Number(m[1]);
          resolve(proc);
        }
      };
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          onLine(buffered.slice(0, nl), 'out');
          buffered = buffered.slice(nl + 1);
        }
      });
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (chunk: string) => {
        for (const line of chunk.split('\n')) if (line !== '') onLine(line, 'err');
      });
      child.once('exit', (code, signal) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code ?? signal}) before READY\n${proc.lastOutput()}`));
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  lastOutput(): string {
    return this.tail.map((l) => `    | ${l}`).join('\n');
  }

  /** CPU seconds (user + system, all threads) used so far, from /proc; null where /proc is missing. */
  cpuSeconds(): number | null {
    return cpuSecondsOf(this.pid);
  }

  /** System (kernel) CPU seconds used so far, from /proc; null where /proc is missing. */
  systemSeconds(): number | null {
    return systemSecondsOf(this.pid);
  }

  /** Resident set size now, in bytes (from /proc). */
  rss(): number | null {
    return statusBytesOf(this.pid, 'VmRSS');
  }

  /** Peak resident set size since start or the last `resetPeak`, in bytes. */
  peakRss(): number | null {
    return statusBytesOf(this.pid, 'VmHWM');
  }

  /** Resets the kernel's peak-RSS mark (Linux: `5` into clear_refs). Returns false where unsupported. */
  resetPeak(): boolean {
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
      return true;
    } catch {
      return false;
    }
  }

  /** GET /__bench/mem (after a forced GC unless `gc` is false). */
  mem(gc = true, timeoutMs = 15_000): Promise<MemReport> {
    return this.get<MemReport>(gc ? '/__bench/mem' : '/__bench/mem?gc=0', timeoutMs);
  }

  /** Starts the server's in-process CPU profiler (GET /__bench/profile/start). */
  async profileStart(): Promise<void> {
    await this.get('/__bench/profile/start', 10_000);
  }

  /** Stops it and has the server write the profile to `file`. */
  async profileStop(file: string): Promise<void> {
    await this.get(`/__bench/profile/stop?file=${encodeURIComponent(file)}`, 60_000);
  }

  private get<T>(urlPath: string, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: this.port, path: urlPath, agent: false, timeout: timeoutMs }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          let value: unknown;
          try {
            value = JSON.parse(body);
          } catch {
            reject(new Error(`${this.name}: bad answer to ${urlPath} (${res.statusCode}): ${body.slice(0, 200)}`));
            return;
          }
          if (res.statusCode !== 200) reject(new Error(`${this.name}: ${urlPath} answered ${res.statusCode}: ${body.slice(0, 200)}`));
          else resolve(value as T);
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${this.name}: ${urlPath} timed out`)));
      req.on('error', reject);
    });
  }

  async stop(): Promise<void> {
    await stopChild(this.child);
  }

  kill(): void {
    if (this.alive) this.child.kill('SIGKILL');
  }
}

/** A forked load worker (bench/load/worker.js). */
export class LoadWorker {
  readonly child: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly eventWaiters: Array<{ event: string; resolve: (v: unknown) => void }> = [];
  private readonly events: Array<{ event: string } & Record<string, unknown>> = [];

  constructor(file: string) {
    this.child = fork(file, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    track(this.child);
    this.child.on('message', (msg: WorkerReply | ({ event: string } & Record<string, unknown>)) => {
      if ('event' in msg) {
        const i = this.eventWaiters.findIndex((w) => w.event === msg.event);
        if (i >= 0) this.eventWaiters.splice(i, 1)[0]!.resolve(msg);
        else this.events.push(msg);
        return;
      }
      const p = this.pending.get(msg.id);
      if (p === undefined) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(msg.error ?? 'worker error'));
    });
    this.child.once('exit', (code, signal) => {
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(`load worker exited (${code ?? signal})`));
      }
      this.pending.clear();
    });
  }

  call<T>(cmd: WorkerCmd, timeoutMs: number): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`load worker: '${cmd.cmd}' timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.send({ ...cmd, id });
    });
  }

  /** Resolves with the next event of this name, or null after `timeoutMs`. */
  waitEvent<T>(event: string, timeoutMs: number): Promise<T | null> {
    const i = this.events.findIndex((e) => e.event === event);
    if (i >= 0) return Promise.resolve(this.events.splice(i, 1)[0] as T);
    return new Promise<T | null>((resolve) => {
      const waiter = {
        event,
        resolve: (v: unknown) => {
          clearTimeout(timer);
          resolve(v as T);
        },
      };
      const timer = setTimeout(() => {
        const k = this.eventWaiters.indexOf(waiter);
        if (k >= 0) this.eventWaiters.splice(k, 1);
        resolve(null);
      }, timeoutMs);
      this.eventWaiters.push(waiter);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.connected) {
      try {
        await this.call({ cmd: 'close' }, 5000);
      } catch {
        // fall through to the kill
      }
    }
    await stopChild(this.child);
  }
}

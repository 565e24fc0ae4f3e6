/**
 * Child processes for tests that run what a user runs (tsc, npm, node on a
 * built app): every run has a time limit, and output is kept for the failure
 * message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly cwd: string;
  readonly env?: Record<string, string | undefined>;
  /** Killed (SIGKILL) after this long. */
  readonly timeoutMs: number;
}

/** The TypeScript compiler this repository pins, as a script for `node`. */
export const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/** Calls `onLine` with each line `stream` prints (without its newline), as it comes. */
export function eachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      onLine(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
    }
  });
}

/** Runs a command to its end (or the time limit); never rejects for a non-zero exit. */
export function run(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[killed: still running after ${options.timeoutMs}ms]`;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A long-running process: wait for a line of its output, then stop it. */
export class Started {
  private output = '';
  private readonly exited: Promise<RunResult>;

  private constructor(private readonly child: ChildProcess) {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      this.output += chunk.toString();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      this.output += chunk.toString();
    });
    this.exited = new Promise((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
    );
  }

  static start(command: string, args: readonly string[], options: Omit<RunOptions, 'timeoutMs'>): Started {
    return new Started(spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: 'pipe' }));
  }

  /** Everything printed so far, stdout and stderr interleaved. */
  get printed(): string {
    return this.output;
  }

  /** Resolves with the first match of `pattern` in the output; rejects if the process ends or time runs out. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const match = pattern.exec(this.output);
        if (match === null) return false;
        done();
        resolve(match);
        return true;
      };
      const onData = (): void => void check();
      const onClose = (): void => {
        done();
        reject(new Error(`the process ended before printing ${pattern}; it printed:\n${this.output}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${pattern} within ${timeoutMs}ms; the process printed:\n${this.output}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.child.stdout!.off('data', onData);
        this.child.stderr!.off('data', onData);
        this.child.off('close', onClose);
      };
      this.child.stdout!.on('data', onData);
      this.child.stderr!.on('data', onData);
      this.child.on('close', onClose);
      if (!check() && (this.child.exitCode !== null || this.child.signalCode !== null)) onClose();
    });
  }

  /** Sends SIGTERM, then SIGKILL after `graceMs`; resolves with how it ended. */
  async stop(graceMs = 5000): Promise<RunResult> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      const result = await this.exited;
      clearTimeout(timer);
      return result;
    }
    return this.exited;
  }
}

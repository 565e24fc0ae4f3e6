/**
 * A hand-driven WebSocket client for wire-level tests: send exact frames,
 * await the next frame or the close, each wait bounded.
 */
import { WebSocket, type RawData } from 'ws';

export interface RawClientOptions {
  path?: string;
  /** Query string without `?`; default `vsn=2.0.0`. */
  query?: string;
  headers?: Record<string, string>;
}

export type Frame = { binary: false; text: string; json: any } | { binary: true; bytes: Buffer; json?: undefined };

export class RawClient {
  private readonly frames: Frame[] = [];
  private waiters: Array<() => void> = [];
  closeCode: number | null = null;
  closeReason = '';
  private readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const buffer = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
      if (isBinary) this.frames.push({ binary: true, bytes: buffer });
      else {
        const text = buffer.toString('utf8');
        this.frames.push({ binary: false, text, json: JSON.parse(text) });
      }
      this.wake();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        this.wake();
        resolve(code);
      }),
    );
  }

  static connect(base: string, options: RawClientOptions = {}): Promise<RawClient> {
    const url = `${base}${options.path ?? '/socket/websocket'}?${options.query ?? 'vsn=2.0.0'}`;
    const ws = new WebSocket(url, { headers: options.headers });
    const client = new RawClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_request, response) =>
        reject(Object.assign(new Error(`upgrade refused with HTTP ${response.statusCode}`), { status: response.statusCode })),
      );
      ws.once('error', reject);
    });
  }

  /** Sends a V2 frame given as an array (or any JSON value / text). */
  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  sendBinary(bytes: Buffer): void {
    this.ws.send(bytes, { binary: true });
  }

  /** The next frame, or throws after `timeoutMs` naming what was awaited. */
  async next(timeoutMs = 2000, what = 'a frame'): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.closeCode !== null) throw new Error(`connection closed (${this.closeCode}) while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
      await this.wait(left);
    }
    return this.frames.shift()!;
  }

  /** The next frame's JSON (text frames only). */
  async nextJson(timeoutMs = 2000, what = 'a text frame'): Promise<any> {
    const frame = await this.next(timeoutMs, what);
    if (frame.binary) throw new Error(`expected ${what} but got a binary frame of ${frame.bytes.length} bytes`);
    return frame.json;
  }

  /** Asserts nothing arrives for `ms`. Returns what did arrive, for the assertion message. */
  async nothingFor(ms: number): Promise<Frame[]> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.frames.splice(0);
  }

  /** Resolves with the close code, or throws after `timeoutMs`. */
  async closedWith(timeoutMs = 3000): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs}ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a join and returns its reply frame. */
  async join(topic: string, payload: unknown = {}, joinRef = '1', ref = joinRef): Promise<any> {
    this.send([joinRef, ref, topic, 'phx_join', payload]);
    return this.nextJson(2000, `the reply to joining ${topic}`);
  }

  terminate(): void {
    this.ws.terminate();
  }

  close(code?: number): void {
    this.ws.close(code);
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const waiter = (): void => done();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(waiter);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

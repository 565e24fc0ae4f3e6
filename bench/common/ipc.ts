/**
 * Messages between the runner and the load workers (child processes forked
 * with an IPC channel). Every request carries an `id`; the worker answers
 * with the same `id`. Times are epoch milliseconds with sub-millisecond
 * precision (`performance.timeOrigin + performance.now()`), comparable
 * across the processes of one machine.
 */
import type { Dialect } from './wire.js';

export interface ConnectCmd {
  cmd: 'connect';
  host: string;
  port: number;
  dialect: Dialect;
  count: number;
  concurrency: number;
  topic: string;
  timeoutMs: number;
}

export interface ArmCmd {
  cmd: 'arm';
  /** Broadcasts each connection must receive before this worker reports `fanout-done`. */
  expect: number;
}

export interface BlastCmd {
  cmd: 'blast';
  n: number;
  size: number;
  timeoutMs: number;
}

export interface BlastBytesCmd {
  cmd: 'blastBytes';
  totalBytes: number;
  size: number;
  perBlast: number;
  timeoutMs: number;
}

export interface ReqReplyCmd {
  cmd: 'reqreply';
  seconds: number;
  size: number;
}

export interface SimpleCmd {
  cmd: 'collect' | 'pause' | 'status' | 'close';
}

export type WorkerCmd = ConnectCmd | ArmCmd | BlastCmd | BlastBytesCmd | ReqReplyCmd | SimpleCmd;

export interface ConnectResult {
  connected: number;
  failed: number;
  firstError: string | null;
  t0: number;
  t1: number;
  cpuUs: number;
}

export interface BlastResult {
  ok: boolean;
  tSend: number;
  tReply: number;
}

export interface BlastBytesResult {
  blasts: number;
  bytesRequested: number;
  okReplies: number;
  t0: number;
  t1: number;
  publisherReceivedBytes: number;
}

export interface CollectResult {
  received: number;
  complete: number;
  connections: number;
  tDone: number | null;
  cpuUs: number;
  wallMs: number;
}

export interface ReqReplyResult {
  replies: number;
  hist: number[];
  maxUs: number;
  t0: number;
  t1: number;
  cpuUs: number;
  clients: number;
}

export interface StatusResult {
  open: number;
  closed: number;
  total: number;
}

export interface FanoutDoneEvent {
  event: 'fanout-done';
  tDone: number;
  cpuUs: number;
  wallMs: number;
}

export interface WorkerReply {
  id: number;
  ok: boolean;
  error?: string;
  result?: unknown;
}

export type WorkerRequest = WorkerCmd & { id: number };

export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

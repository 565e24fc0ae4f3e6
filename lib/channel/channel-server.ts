/**
 * One joined topic on one connection: the analogue of Phoenix's channel
 * process.
 *
 * How a message travels: the connection decodes a frame and calls `join`,
 * `handleIn` or `leave` here; broadcasts arrive through `deliver` (the PubSub
 * calls it). Non-intercepted broadcasts go straight to the connection as a
 * shared frame (the fastlane). Everything else becomes a task in this
 * channel's mailbox, and tasks run one at a time, in arrival order, even when
 * a handler is async. A handler's result decides what is written. User code
 * is wrapped here and nowhere else: a throw crashes this channel only.
 *
 * Every outcome of user code ends in one place per kind of task: what a
 * handler returns, throws or rejects with, what a guard or pipe refuses, what
 * an exception filter answers and what the serializer cannot encode all
 * become the channel's answer (a reply, a refused join) or its crash. A
 * handler that something enhances (a guard, interceptor, pipe, filter or
 * parameter decorator) is called through the call Nest builds for it,
 * bound to this channel's instance on first use; the others are called
 * directly, with nothing extra per frame.
 */
import { Logger, type LogLevel } from '@nestjs/common';
import type { TracingChannel } from 'node:diagnostics_channel';
import { MESSAGES, describe, describeParams, stackOf } from '../channels.messages.js';
import { REASON, WIRE } from '../channels.constants.js';
import { answerFor, NO_ANSWER } from '../errors/error-answer.js';
import { ChannelsError, ERROR_CODE } from '../errors/errors.js';
import { observe, settle } from '../errors/observe.js';
import { HISTORY_MESSAGES } from '../history/history.messages.js';
import type { HistoryPosition, HistoryPubSub, HistoryRead, ResolvedHistoryOptions } from '../history/history.types.js';
import { formatPosition, parsePosition } from '../history/position.js';
import { FastlaneCache } from '../pubsub/fastlane.js';
import type { Subscriber } from '../pubsub/subscriber.interface.js';
import type { ChannelDefinition, ChannelHandler, EnhancedCall } from '../registry/channel-definition.js';
import { isBroadcastPayload, type Broadcast, type Ref } from '../serializers/message.js';
import type { OutFrame } from '../serializers/serializer.interface.js';
import {
  channels as telemetry,
  isTracing,
  traced,
  tracing,
  type HandleInEvent,
  type HandleInResult,
  type HandleInTrace,
  type JoinEvent,
  type JoinResult,
  type JoinTrace,
  type TerminateEvent,
} from '../telemetry/telemetry.js';
import type { ChannelConnection } from './channel-connection.interface.js';
import { ChannelSocketImpl } from './channel-socket.js';
import { NoReply, Reply, Returned, Stop, isGracefulReason } from './results.js';
import { SocketRef } from './socket-ref.js';
import { bucketFor, type TokenBucket } from './token-bucket.js';

const enum State {
  Joining,
  Joined,
  Closed,
}

/** Join, In and Leave come from the client and count against `maxPendingReplies` while queued (see `isClientTask`). */
const enum TaskKind {
  Join,
  In,
  Leave,
  Out,
  Info,
  /** Put behind the frames a duplicate join found queued here: wakes the new channel once they are handled. */
  Handover,
  /** A fastlaned broadcast on a history channel that intercepts: written in its turn, so positions leave in order. */
  Fast,
}

interface Task {
  readonly kind: TaskKind;
  readonly event: string;
  readonly payload: unknown;
  readonly ref: Ref;
}

/** How an ended channel tells its client. */
const enum EndFrame {
  None,
  Close,
  Error,
}

/** Why a channel ends, as `@Terminate` receives it. @publicApi */
export type TerminateReason =
  | { readonly shutdown: 'left' | 'closed' | 'disconnected' | 'duplicate_join' | 'draining' | 'inactive' | (string & {}) }
  | 'normal'
  | 'shutdown'
  | Error
  /** Any other reason given to `stop(reason)`. */
  | (string & {})
  | Readonly<Record<string, unknown>>
  | number
  | boolean
  | null;

const ACCEPTED_JOIN = 'undefined, a value (the ok response), reply(status, payload), or a thrown ChannelError';
const ACCEPTED_OUT = 'undefined, noreply() or stop(reason)';

/** One Logger per channel class, not per joined channel: it is kept for every idle connection. */
const loggers = new WeakMap<ChannelDefinition, Logger>();
function loggerFor(definition: ChannelDefinition): Logger {
  let logger = loggers.get(definition);
  if (logger === undefined) {
    logger = new Logger(definition.name);
    loggers.set(definition, logger);
  }
  return logger;
}

function isClientTask(task: Task): boolean {
  return task.kind <= TaskKind.Leave;
}

/** Once this many handled slots lead a mailbox that never empties, they are dropped from the array. */
const COMPACT_AFTER = 1024;

const RESOLVED: Promise<void> = Promise.resolve();

/** A join with `since` on a history channel, once its history is read. */
interface Recovery {
  readonly read: HistoryRead;
  /** `since` as the client sent it. */
  readonly given: unknown;
  /** `since` as a position; null for `since: null` and for anything that is not a position. */
  readonly since: HistoryPosition | null;
}

/** Longest `since` echoed back in a `history_gap`; a longer one (never a position) is echoed as null. */
const MAX_ECHOED_SINCE = 128;

function hasSince(params: unknown): boolean {
  return typeof params === 'object' && params !== null && Object.hasOwn(params, 'since');
}

/** What a traced enhanced call reports as its result: the handler's value, or an exception filter's answer. */
function handlerOutcome(outcome: unknown): unknown {
  return outcome instanceof Returned ? outcome.value : outcome;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

export class ChannelServer implements Subscriber {
  /** The channel's join_ref for its pushes and replies: `join_ref ?? ref` of the join message. */
  readonly joinRef: Ref;
  readonly socket: ChannelSocketImpl;
  /** `maxMessagesPerSecond` for this channel's client; null when unlimited. The connection takes from it. */
  readonly messageBucket: TokenBucket | null;

  private readonly logger: Logger;
  private state = State.Joining;
  private instance: any = null;
  /** Nest's enhanced calls bound to this instance, by handler slot; made on first use. */
  private enhanced: Array<EnhancedCall | undefined> | null = null;
  private subscribed = false;
  private external: Set<string> | null = null;
  /** Fastlaned broadcasts that arrived between subscribe and the join reply. */
  private preJoin: FastlaneCache[] | null = null;
  /** The ref of the client message being handled, for `socket.ref()`. */
  private currentRef: Ref = null;
  /** Topics starting with `phoenix` are never logged; decided once, not per frame. */
  private readonly quiet: boolean;
  /** `@Channel(…, { history })`: broadcasts carry positions, a join with `since` gets what it missed. */
  private readonly history: ResolvedHistoryOptions | null;
  /** A history channel that intercepts: every broadcast on its topic goes through the mailbox, so positions leave in order. */
  private readonly ordered: boolean;
  /** The position the first push of the running `@HandleOut` carries (the broadcast it handles). */
  private outPosition: string | null = null;
  /** After a replay: the last position it wrote, so live broadcasts it covered are dropped; null once one is past it. */
  private seam: HistoryPosition | null = null;

  private queue: Array<Task | undefined> = [];
  private head = 0;
  private running = false;
  private idleWaiters: Array<() => void> | null = null;
  private terminated: Promise<void> | null = null;
  private readonly maxQueued: number;
  /** The channel a duplicate join replaces, until its phx_close is written. */
  private previous: ChannelServer | null = null;
  /** True once the join reply went out ok: only such a channel gets a phx_close when a duplicate join replaces it. */
  private everJoined = false;
  /** True once a duplicate join shut this channel down (rather than it ending by itself): it owes the client a phx_close. */
  private replaced = false;
  /** A push made while joining (the channel is not joined yet): the join fails with it once `@Join` returns. */
  private joinMisuse: Error | null = null;
  private readonly resume = (): void => this.runQueue();
  /** When `@Join` was called, for the join telemetry event; -1 before. */
  private joinStartedAt = -1;
  /** Run once by `close()`, however the channel ends (see `onEnd`). */
  private endCallbacks: Array<(channel: ChannelServer) => void> | null = null;

  constructor(
    readonly connection: ChannelConnection,
    readonly definition: ChannelDefinition,
    readonly topic: string,
    /** The join message's join_ref exactly as received. */
    readonly storedJoinRef: Ref,
    joinMessageRef: Ref,
    /** The budget of an earlier channel on this topic, so that rejoining does not refill it; a fresh one when undefined. */
    messageBucket?: TokenBucket | null,
  ) {
    this.joinRef = storedJoinRef ?? joinMessageRef;
    this.maxQueued = connection.maxQueuedMessages;
    this.messageBucket = messageBucket !== undefined ? messageBucket : bucketFor(connection.maxMessagesPerSecond, Date.now());
    this.quiet = topic.startsWith('phoenix');
    this.history = definition.history;
    this.ordered = definition.history !== null && definition.intercepts !== null;
    this.logger = loggerFor(definition);
    this.socket = new ChannelSocketImpl(this, connection.assigns);
  }

  get isJoined(): boolean {
    return this.state === State.Joined;
  }

  get isClosed(): boolean {
    return this.state === State.Closed;
  }

  // ── Entry points from the connection ─────────────────────────────────────

  /**
   * Queues the join. `previous` is the channel a duplicate join replaces: it
   * is shut down (terminate runs) before this join's `@Join` is called, and
   * its `phx_close` follows this join's reply.
   */
  join(payload: unknown, ref: Ref, previous: ChannelServer | null): void {
    this.previous = previous;
    this.schedule({ kind: TaskKind.Join, event: WIRE.join, payload, ref });
  }

  handleIn(event: string, payload: unknown, ref: Ref): void {
    this.schedule({ kind: TaskKind.In, event, payload, ref });
  }

  leave(ref: Ref): void {
    this.schedule({ kind: TaskKind.Leave, event: WIRE.leave, payload: null, ref });
  }

  /** PubSub delivery: fastlane, intercept, or an external topic's broadcast. */
  deliver(broadcast: Broadcast, fastlane: FastlaneCache): void {
    if (this.state === State.Closed) return;
    if (broadcast.topic !== this.topic) {
      this.schedule({ kind: TaskKind.Info, event: broadcast.event, payload: broadcast, ref: null });
      return;
    }
    if (this.history !== null) {
      this.deliverKept(fastlane);
      return;
    }
    const intercepts = this.definition.intercepts;
    if (intercepts !== null && intercepts.has(broadcast.event)) {
      this.schedule({ kind: TaskKind.Out, event: broadcast.event, payload: broadcast.payload, ref: null });
      return;
    }
    if (this.state !== State.Joined) {
      // Subscribed but the join reply is not written yet: the reply must come first.
      (this.preJoin ??= []).push(fastlane);
      return;
    }
    this.fastlane(fastlane);
  }

  private fastlane(fastlane: FastlaneCache): void {
    // null: this connection's serializer cannot encode the broadcast (logged once by the cache).
    const frame = fastlane.frameFor(this.connection.serializer);
    if (frame !== null) this.connection.writeShared(frame);
  }

  // ── History (a channel with `history`) ───────────────────────────────────

  /** A broadcast on a history topic: held until the join reply (and any replay) is written, then sent in position order. */
  private deliverKept(cache: FastlaneCache): void {
    if (this.state !== State.Joined) {
      const early = (this.preJoin ??= []);
      if (early.length >= this.maxQueued) {
        this.connection.overflow(`${this.definition.name} on ${this.topic}`);
        return;
      }
      early.push(cache);
      return;
    }
    const seam = this.seam;
    if (seam !== null && this.behindSeam(cache.broadcast, seam)) return;
    this.emit(cache, true);
  }

  /** True for a live broadcast the replay already wrote; the seam is forgotten at the first one past it. */
  private behindSeam(broadcast: Broadcast, seam: HistoryPosition): boolean {
    const position = parsePosition(broadcast.position);
    if (position !== null && position.epoch === seam.epoch && position.offset <= seam.offset) return true;
    this.seam = null;
    return false;
  }

  /**
   * Sends a broadcast of this history channel's topic: straight out, or, when
   * the channel intercepts, as a task, so that a fastlaned broadcast never
   * overtakes an intercepted one still in `@HandleOut` (the client drops a
   * position older than one it has). `bounded`: counted against
   * maxQueuedMessages; a replay, bounded by the history size, is not.
   */
  private emit(cache: FastlaneCache, bounded: boolean): void {
    if (!this.ordered) {
      this.fastlane(cache);
      return;
    }
    const { event, payload, position } = cache.broadcast;
    const task: Task = this.definition.intercepts!.has(event)
      ? { kind: TaskKind.Out, event, payload, ref: position ?? null }
      : { kind: TaskKind.Fast, event, payload: cache, ref: null };
    if (bounded) this.schedule(task);
    else this.queue.push(task);
  }

  /** A join with `since`, subscribed: reads what the client missed, then confirms the join and writes it. */
  private recover(task: Task, response: unknown, startedAt: number): PromiseLike<unknown> | undefined {
    const given = (task.payload as { since?: unknown }).since;
    const since = parsePosition(given);
    if (given !== null && since === null) this.logger.warn(HISTORY_MESSAGES.badSince(this.topic, given));
    let reading: HistoryRead | PromiseLike<HistoryRead>;
    try {
      reading = (this.connection.pubsub as unknown as HistoryPubSub).readHistory(this.topic, since);
    } catch (error) {
      return this.historyUnavailable(task, error);
    }
    if (isThenable(reading)) {
      return reading.then(
        (read) => this.confirmJoin(task, response, startedAt, { read, given, since }),
        (error: unknown) => this.historyUnavailable(task, error),
      );
    }
    this.confirmJoin(task, response, startedAt, { read: reading, given, since });
    return undefined;
  }

  /** The history could not be read (e.g. Redis is down): the join is refused, and phoenix.js retries it with the same `since`. */
  private historyUnavailable(task: Task, error: unknown): undefined {
    this.logger.warn(HISTORY_MESSAGES.unavailable(this.definition.name, this.topic, describe(error)));
    return this.joinRefused(task, { reason: REASON.historyUnavailable }, null);
  }

  /**
   * Right after the join reply: the broadcasts after `since`, then those
   * that arrived live meanwhile and were not among them. When there is no
   * replay (`since` null, not a position, another epoch, or out of the
   * window), a `history_gap` push says so first, with the position the
   * client is at in its ref slot, and every live one follows.
   */
  private catchUp(recovery: Recovery, early: FastlaneCache[] | null): void {
    const { read, given, since } = recovery;
    if (read.broadcasts === null || since === null) {
      let at = read.offset;
      if (early !== null) {
        for (const cache of early) {
          const position = parsePosition(cache.broadcast.position);
          if (position === null || position.epoch !== read.epoch) continue;
          at = Math.min(at, position.offset - 1);
          break;
        }
      }
      const echo = typeof given === 'string' && given.length <= MAX_ECHOED_SINCE ? given : null;
      this.writeSafely(() =>
        this.connection.serializer.encodeMessage(this.joinRef, formatPosition(read.epoch, at), this.topic, WIRE.historyGap, {
          since: echo,
          epoch: read.epoch,
        }),
      );
      if (early !== null) for (const cache of early) this.emit(cache, false);
      return;
    }
    for (const broadcast of read.broadcasts) this.emit(new FastlaneCache(broadcast), false);
    const seam: HistoryPosition = { epoch: read.epoch, offset: read.offset };
    this.seam = seam;
    if (early !== null) {
      for (const cache of early) if (this.seam === null || !this.behindSeam(cache.broadcast, seam)) this.emit(cache, false);
    }
  }

  /**
   * Ends the channel from outside (connection closed, socket-id disconnect,
   * drain, duplicate join). No frame is written; terminate runs once the
   * handler in flight, if any, has finished, or after `waitLimitMs`
   * (`shutdownTimeout` unless a duplicate join has used part of it).
   */
  shutdown(reason: TerminateReason, waitLimitMs = this.connection.shutdownTimeoutMs): Promise<void> {
    if (this.state === State.Closed) return this.terminated ?? Promise.resolve();
    this.close();
    this.terminated = this.whenIdle(waitLimitMs).then(() => this.runTerminate(reason));
    return this.terminated;
  }

  /**
   * @internal Registers `callback` to run once when this channel ends,
   * however it ends (leave, stop, crash, refused join, duplicate join,
   * connection closed, disconnect, drain), right after it left its topic.
   * Returns false, and registers nothing, when the channel has ended already.
   * Presence untracks a channel's entries here.
   */
  onEnd(callback: (channel: ChannelServer) => void): boolean {
    if (this.state === State.Closed) return false;
    (this.endCallbacks ??= []).push(callback);
    return true;
  }

  // ── Verbs of ChannelSocket ───────────────────────────────────────────────
  // They may be called from any code, a timer included: none throws. A
  // payload the serializer refuses crashes this channel (phx_error,
  // @Terminate, an error log), as a throw in a handler would; a returned
  // promise is observed, so a rejection nobody awaits is only logged.

  push(event: string, payload: unknown): void {
    if (this.state === State.Joining) {
      this.misusedInJoin(MESSAGES.notJoined('socket.push'));
      return;
    }
    // After the end (from @Terminate, or a timer) a push still goes out while the connection is open:
    // frames pushed from terminate follow the channel's phx_close, as in Phoenix.
    // In a @HandleOut on a history channel, the first push carries the position of the broadcast it handles.
    const ref = this.outPosition;
    if (ref !== null) this.outPosition = null;
    let frame: OutFrame;
    try {
      frame = this.connection.serializer.encodeMessage(this.joinRef, ref, this.topic, event, payload);
    } catch (error) {
      this.writeFailed(`socket.push('${event}')`, error);
      return;
    }
    this.connection.write(frame);
  }

  broadcast(event: string, payload: unknown, excludeSelf: boolean): Promise<void> {
    let sent: Promise<void>;
    if (this.state === State.Joining) {
      sent = Promise.reject(new ChannelsError(ERROR_CODE.notJoined, MESSAGES.notJoined('socket.broadcast')));
    } else if (!isBroadcastPayload(payload)) {
      sent = Promise.reject(
        new ChannelsError(ERROR_CODE.serialization, MESSAGES.badPushPayload(`${this.definition.name} broadcast('${event}')`, payload)),
      );
    } else {
      try {
        sent = this.connection.pubsub.broadcast(this.topic, event, payload, excludeSelf ? this : null);
      } catch (error) {
        sent = Promise.reject(error);
      }
    }
    return observe(sent, this.logger, `${this.definition.name} broadcast`, this.topic);
  }

  ref(): SocketRef {
    if (this.state !== State.Joined || this.currentRef === null) {
      throw new ChannelsError(ERROR_CODE.noRef, MESSAGES.noRef());
    }
    return new SocketRef(this, this.topic, this.joinRef, this.currentRef);
  }

  replyLater(ref: Ref, status: string, response: unknown): void {
    if (this.state === State.Closed || !this.connection.isOpen) {
      this.logger.debug(MESSAGES.writeAfterEnd('SocketRef.reply', this.topic));
      return;
    }
    let frame: OutFrame;
    try {
      frame = this.connection.serializer.encodeReply(this.joinRef, ref, this.topic, status, response);
    } catch (error) {
      this.writeFailed(`SocketRef.reply('${status}')`, error);
      return;
    }
    this.connection.write(frame);
  }

  sendInfo(message: unknown): void {
    if (this.state === State.Closed) return;
    this.schedule({ kind: TaskKind.Info, event: '', payload: message, ref: null });
  }

  subscribeExternal(topic: string): Promise<void> {
    if (this.state === State.Closed || topic === this.topic) return RESOLVED;
    const external = (this.external ??= new Set());
    if (external.has(topic)) return RESOLVED;
    external.add(topic);
    return observe(settle(() => this.connection.pubsub.subscribe(topic, this)), this.logger, `${this.definition.name} socket.subscribe`, topic);
  }

  unsubscribeExternal(topic: string): Promise<void> {
    if (this.external === null || !this.external.delete(topic)) return RESOLVED;
    return observe(settle(() => this.connection.pubsub.unsubscribe(topic, this)), this.logger, `${this.definition.name} socket.unsubscribe`, topic);
  }

  // ── The mailbox ──────────────────────────────────────────────────────────

  private schedule(task: Task): void {
    if (this.queue.length - this.head >= this.maxQueued) {
      // The client outpaces this channel, or a handler never finishes: the connection is closed
      // (1008) rather than memory grown without bound.
      this.connection.overflow(`${this.definition.name} on ${this.topic}`);
      return;
    }
    this.queue.push(task);
    if (isClientTask(task)) this.connection.messageQueued();
    if (!this.running) this.runQueue();
  }

  /**
   * Runs tasks until the queue is empty or one is async; an async one resumes the loop when it settles.
   * Whatever a task throws, the loop goes on: no failure can leave the mailbox marked running.
   */
  private runQueue(): void {
    this.running = true;
    while (this.head < this.queue.length) {
      const task = this.queue[this.head]!;
      if (this.state === State.Closed && task.kind !== TaskKind.Join) {
        this.dropQueued();
        break;
      }
      this.queue[this.head++] = undefined;
      if (isClientTask(task)) this.connection.messagesDequeued(1);
      let pending: PromiseLike<unknown> | undefined;
      try {
        pending = this.process(task);
      } catch (error) {
        this.taskFailed(task, error);
        continue;
      }
      if (pending !== undefined) {
        this.compact();
        pending.then(this.resume, this.resume);
        return;
      }
    }
    this.dropQueued();
    this.running = false;
    const waiters = this.idleWaiters;
    if (waiters !== null) {
      this.idleWaiters = null;
      for (const wake of waiters) wake();
    }
  }

  /**
   * Resolves once the handler in flight, if any, has finished, or after
   * `limitMs`: a handler that never settles must not hold up a duplicate
   * join, a close or the drain (terminate then runs without waiting for it).
   */
  private whenIdle(limitMs: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return wakeOrTimeout(
      (wake) => (this.idleWaiters ??= []).push(wake),
      limitMs,
      () => this.logger.warn(MESSAGES.handlerCutOff(this.definition.name, this.topic, limitMs)),
    );
  }

  /** Empties the mailbox; a duplicate join waiting behind what is dropped is woken. */
  private dropQueued(): void {
    let clientTasks = 0;
    for (let i = this.head; i < this.queue.length; i++) {
      const task = this.queue[i];
      if (task === undefined) continue;
      if (task.kind === TaskKind.Handover) (task.payload as () => void)();
      else if (isClientTask(task)) clientTasks++;
    }
    if (clientTasks > 0) this.connection.messagesDequeued(clientTasks);
    this.queue.length = 0;
    this.head = 0;
  }

  /** Drops handled slots from the front once they are most of the array, so a mailbox that is never empty does not grow. */
  private compact(): void {
    if (this.head >= COMPACT_AFTER && this.head * 2 >= this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  /**
   * A task threw past the handler's own guards: a bug of ours, or a failure
   * after the join reply was written. Before the join reply it is a crashed
   * join; after it, a crashed channel.
   */
  private taskFailed(task: Task, error: unknown): void {
    if (task.kind === TaskKind.Join && this.state === State.Joining) this.joinFailed(task, error);
    else this.crash(error, this.definition.name, task.event, true);
  }

  private process(task: Task): PromiseLike<unknown> | undefined {
    switch (task.kind) {
      case TaskKind.Join:
        return this.runJoin(task);
      case TaskKind.In:
        return this.runIn(task);
      case TaskKind.Leave:
        return this.runLeave(task);
      case TaskKind.Out:
        return this.runOut(task);
      case TaskKind.Info:
        return this.runInfo(task);
      case TaskKind.Handover:
        (task.payload as () => void)();
        return undefined;
      case TaskKind.Fast:
        this.fastlane(task.payload as FastlaneCache);
        return undefined;
    }
  }

  // ── Join ──────────────────────────────────────────

  /**
   * A duplicate join first lets the channel it replaces handle every frame
   * that arrived before it (its own join, then pushes and a leave queued
   * behind it: a connection's frames are handled in arrival order, and
   * frames queued behind a join go to the channel that join created), then
   * shuts it down, terminate included, before calling this `@Join`.
   * A new channel's join task runs as soon as it is queued, so the handover
   * is queued on the previous channel at the arrival of the duplicate join.
   */
  private runJoin(task: Task): PromiseLike<unknown> | undefined {
    const previous = this.previous;
    if (previous === null) return this.callJoin(task);
    // One shutdownTimeout for the frames queued before and the handler in flight together; terminate has its own.
    const limitMs = this.connection.shutdownTimeoutMs;
    const startedAt = performance.now();
    return wakeOrTimeout(
      (wake) => previous.handOver(wake),
      limitMs,
      () => this.logger.warn(MESSAGES.previousCutOff(this.definition.name, this.topic, limitMs)),
    )
      .then(() => previous.replace(Math.max(0, limitMs - (performance.now() - startedAt))))
      .then(() => this.callJoin(task));
  }

  /** Calls `wake` once every task queued here so far has run, or been dropped because the channel ended. */
  private handOver(wake: () => void): void {
    if (this.state === State.Closed || !this.running) {
      wake();
      return;
    }
    // Not counted against maxQueuedMessages: it is ours, and there is at most one per duplicate join.
    this.queue.push({ kind: TaskKind.Handover, event: '', payload: wake, ref: null });
  }

  /** Shut down by a duplicate join. A channel that already ended by itself (left, stopped, crashed) is not closed twice. */
  private replace(waitLimitMs: number): Promise<void> {
    if (this.state !== State.Closed) this.replaced = true;
    return this.shutdown({ shutdown: 'duplicate_join' }, waitLimitMs);
  }

  private callJoin(task: Task): PromiseLike<unknown> | undefined {
    if (this.state === State.Closed) {
      // The connection went away while an earlier step ran.
      this.writePreviousClose();
      return undefined;
    }
    const startedAt = performance.now();
    this.joinStartedAt = startedAt;
    let created: object | Promise<object>;
    try {
      created = this.definition.create(this.socket);
    } catch (error) {
      return this.joinFailed(task, error);
    }
    if (isThenable(created)) {
      return (created as Promise<object>).then(
        (instance) => this.invokeJoin(task, instance, startedAt),
        (error: unknown) => this.joinFailed(task, error),
      );
    }
    return this.invokeJoin(task, created, startedAt);
  }

  private invokeJoin(task: Task, instance: object, startedAt: number): PromiseLike<unknown> | undefined {
    if (this.state === State.Closed) {
      // Closed while Nest resolved the instance: @Join never runs, so neither does @Terminate.
      this.writePreviousClose();
      return undefined;
    }
    this.instance = instance;
    const handler = this.definition.join;
    if (handler.enhance !== null) return this.invokeEnhancedJoin(task, handler, startedAt);
    let result: unknown;
    try {
      result = isTracing(tracing.join)
        ? traced(tracing.join, this.joinTrace(task), () => this.instance[handler.method](this.topic, task.payload, this.socket))
        : this.instance[handler.method](this.topic, task.payload, this.socket);
    } catch (error) {
      return this.joinFailed(task, error);
    }
    if (isThenable(result)) {
      return result.then(
        (value) => this.joinReturned(task, value, startedAt),
        (error) => this.joinFailed(task, error),
      );
    }
    return this.joinReturned(task, result, startedAt);
  }

  /** `@Join` through Nest's call for it: guards, interceptors, pipes and filters around the handler. */
  private invokeEnhancedJoin(task: Task, handler: ChannelHandler, startedAt: number): PromiseLike<unknown> | undefined {
    let pending: Promise<unknown>;
    try {
      pending = this.callEnhanced(handler, task, WIRE.join, tracing.join, this.joinTrace);
    } catch (error) {
      return this.joinFailed(task, error);
    }
    return pending.then(
      (outcome) =>
        outcome instanceof Returned ? this.joinReturned(task, outcome.value, startedAt) : this.joinAnswered(task, outcome, startedAt),
      (error: unknown) => this.joinFailed(task, error),
    );
  }

  /** The context of the `join` tracing channel. */
  private joinTrace(task: Task): JoinTrace {
    return { topic: this.topic, channel: this.definition.name, params: task.payload, socketId: this.connection.id };
  }

  /** An exception filter's answer to a join: a result helper counts as @Join's result; any other value refuses with it. */
  private joinAnswered(task: Task, answer: unknown, startedAt: number): PromiseLike<unknown> | undefined {
    if (answer instanceof Reply || answer instanceof NoReply || answer instanceof Stop) return this.joinReturned(task, answer, startedAt);
    return this.joinRefused(task, answer, startedAt);
  }

  private joinReturned(task: Task, result: unknown, startedAt: number): PromiseLike<unknown> | undefined {
    // @Join called socket.push (directly or from a timer) before the join reply: that is a crashed join.
    if (this.joinMisuse !== null) return this.joinFailed(task, this.joinMisuse);
    let response: unknown;
    if (result === undefined) response = {};
    else if (result instanceof Reply) {
      if (result.status !== 'ok') {
        return this.joinRefused(task, result.response, startedAt);
      }
      response = result.response;
    } else if (result instanceof NoReply || result instanceof Stop) {
      return this.joinFailed(
        task,
        new ChannelsError(
          ERROR_CODE.invalidResult,
          MESSAGES.invalidResult(this.definition.join.where, ACCEPTED_JOIN, result),
        ),
      );
    } else response = result;

    if (this.state === State.Closed) return undefined;
    // Subscribe before the reply is written, so no broadcast sent after the reply is missed.
    let subscribing: void | Promise<void>;
    try {
      subscribing = this.connection.pubsub.subscribe(this.topic, this);
    } catch (error) {
      return this.joinFailed(task, error);
    }
    this.subscribed = true;
    if (subscribing !== undefined) {
      return subscribing.then(
        () => this.subscribedToJoin(task, response, startedAt),
        (error: unknown) => this.joinFailed(task, error),
      );
    }
    return this.subscribedToJoin(task, response, startedAt);
  }

  /** A history channel whose join carries `since` reads what the client missed first; any other join is confirmed now. */
  private subscribedToJoin(task: Task, response: unknown, startedAt: number): PromiseLike<unknown> | undefined {
    if (this.history !== null && hasSince(task.payload) && this.state !== State.Closed) return this.recover(task, response, startedAt);
    this.confirmJoin(task, response, startedAt, null);
    return undefined;
  }

  private confirmJoin(task: Task, response: unknown, startedAt: number, recovery: Recovery | null): void {
    if (this.state === State.Closed) {
      this.unsubscribeAll();
      return;
    }
    try {
      this.connection.write(
        this.connection.serializer.encodeReply(this.storedJoinRef, task.ref, this.topic, 'ok', response),
      );
    } catch (error) {
      this.joinFailed(task, error);
      return;
    }
    this.state = State.Joined;
    this.everJoined = true;
    this.writePreviousClose();
    this.logJoin('joined', task.payload, startedAt);
    this.publishJoin(task, 'ok');
    const early = this.preJoin;
    this.preJoin = null;
    if (recovery !== null) this.catchUp(recovery, early);
    else if (early !== null) {
      if (this.history === null) for (const cache of early) this.fastlane(cache);
      else for (const cache of early) this.emit(cache, false);
    }
  }

  /** A thrown ChannelError, WsException or HttpException (a guard's refusal included) refuses the join with its answer; anything else crashes it. */
  private joinFailed(task: Task, error: unknown): undefined {
    const answer = answerFor(error);
    if (answer !== NO_ANSWER) return this.joinRefused(task, answer, null);
    this.logger.error(`${MESSAGES.crashed(this.definition.join.where, this.topic, null)}: ${stackOf(error)}`);
    return this.joinRefused(task, { reason: REASON.joinCrashed }, null, 'crashed');
  }

  /** A refused or crashed join: its telemetry event, an error reply, no phx_close/phx_error, never registered. */
  private joinRefused(task: Task, response: unknown, startedAt: number | null, result: JoinResult = 'error'): undefined {
    this.publishJoin(task, result);
    const wasClosed = this.state === State.Closed;
    this.close();
    if (!wasClosed) {
      this.writeSafely(() =>
        this.connection.serializer.encodeReply(this.storedJoinRef, task.ref, this.topic, 'error', response),
      );
    }
    this.writePreviousClose();
    if (startedAt !== null) this.logJoin('refused', task.payload, startedAt);
    this.answerQueuedAfterFailedJoin();
    return undefined;
  }

  /** Frames queued behind a join that failed: "unmatched topic" each, a leave an ok. */
  private answerQueuedAfterFailedJoin(): void {
    for (let i = this.head; i < this.queue.length; i++) {
      const task = this.queue[i];
      if (task === undefined) continue;
      if (task.kind === TaskKind.In) {
        this.writeSafely(() =>
          this.connection.serializer.encodeReply(null, task.ref, this.topic, 'error', { reason: REASON.unmatchedTopic }),
        );
      } else if (task.kind === TaskKind.Leave) {
        this.writeSafely(() => this.connection.serializer.encodeReply(this.storedJoinRef, task.ref, this.topic, 'ok', {}));
      }
    }
    this.dropQueued();
  }

  private writePreviousClose(): void {
    const previous = this.previous;
    if (previous === null) return;
    this.previous = null;
    // A join that was refused (or never answered) left nothing on the client to close; a channel
    // that ended by itself (a leave, a stop, a crash) has already told the client.
    if (!previous.everJoined || !previous.replaced) return;
    const jr = previous.storedJoinRef;
    this.writeSafely(() => this.connection.serializer.encodeMessage(jr, jr, this.topic, WIRE.close, {}));
  }

  /** The `join` telemetry event, once `@Join` has been called. */
  private publishJoin(task: Task, result: JoinResult): void {
    if (this.joinStartedAt < 0 || !telemetry.join.hasSubscribers) return;
    const event: JoinEvent = {
      durationMs: performance.now() - this.joinStartedAt,
      result,
      topic: this.topic,
      channel: this.definition.name,
      params: task.payload,
      socketId: this.connection.id,
      transport: this.connection.transportName,
    };
    telemetry.join.publish(event);
  }

  /** `level` when this channel logs at it (a per-channel log option, not `false`, on a topic that is logged, enabled in Nest's logger); else null. */
  private logLevel(level: LogLevel | false): LogLevel | null {
    return level !== false && !this.quiet && Logger.isLevelEnabled(level) ? level : null;
  }

  private logJoin(outcome: 'joined' | 'refused', payload: unknown, startedAt: number): void {
    const level = this.logLevel(this.definition.options.logJoin);
    if (level === null) return;
    const ms = (performance.now() - startedAt).toFixed(2);
    this.logger[level](
      `${outcome === 'joined' ? 'JOINED' : 'REFUSED JOIN'} ${this.topic} in ${ms}ms, params: ${describeParams(payload)}`,
    );
  }

  // ── handle_in ──────────────────────────────────────────

  private runIn(task: Task): PromiseLike<unknown> | undefined {
    const handler = this.definition.handleIn.get(task.event) ?? this.prefixHandler(task.event);
    if (handler === undefined) {
      this.crash(new Error(MESSAGES.noHandleIn(this.definition.name, task.event, this.topic)), null, task.event, false);
      return undefined;
    }
    const timed = this.logLevel(this.definition.options.logHandleIn) !== null || telemetry.handleIn.hasSubscribers;
    const startedAt = timed ? performance.now() : -1;
    this.currentRef = task.ref;
    if (handler.enhance !== null) return this.runEnhancedIn(task, handler, startedAt);
    let result: unknown;
    try {
      result = isTracing(tracing.handleIn)
        ? traced(tracing.handleIn, this.inTrace(task), () => this.instance[handler.method](task.payload, this.socket, task.event))
        : this.instance[handler.method](task.payload, this.socket, task.event);
    } catch (error) {
      this.inThrew(task, handler, error, startedAt);
      return undefined;
    }
    if (isThenable(result)) {
      return result.then(
        (value) => this.inReturned(task, handler, value, startedAt),
        (error) => this.inThrew(task, handler, error, startedAt),
      );
    }
    this.inReturned(task, handler, result, startedAt);
    return undefined;
  }

  /** `@HandleIn('ctl:*')`: the longest prefix that matches, tried only when no exact event does. */
  private prefixHandler(event: string): ChannelHandler | undefined {
    for (const entry of this.definition.handleInPrefixes) {
      if (event.startsWith(entry.prefix)) return entry.handler;
    }
    return undefined;
  }

  private runEnhancedIn(task: Task, handler: ChannelHandler, startedAt: number): PromiseLike<unknown> | undefined {
    let pending: Promise<unknown>;
    try {
      pending = this.callEnhanced(handler, task, task.event, tracing.handleIn, this.inTrace);
    } catch (error) {
      this.inThrew(task, handler, error, startedAt);
      return undefined;
    }
    return pending.then(
      (outcome) =>
        outcome instanceof Returned
          ? this.inReturned(task, handler, outcome.value, startedAt)
          : this.inAnswered(task, handler, outcome, startedAt),
      (error: unknown) => this.inThrew(task, handler, error, startedAt),
    );
  }

  /**
   * Calls an enhanced handler with the execution context's arguments; while
   * its tracing channel has subscribers, inside it (the trace's `result` is
   * the handler's value, or a filter's answer).
   */
  private callEnhanced<C extends { result?: unknown; error?: unknown }>(
    handler: ChannelHandler,
    task: Task,
    event: string,
    trace: TracingChannel<object, C & object>,
    context: (task: Task) => C & object,
  ): Promise<unknown> {
    const call = this.enhancedCall(handler);
    if (!isTracing(trace)) return call(this.socket, task.payload, event);
    return traced(trace, context.call(this, task), () => call(this.socket, task.payload, event), handlerOutcome) as Promise<unknown>;
  }

  /** Nest's call for an enhanced handler, bound to this channel's instance on first use. */
  private enhancedCall(handler: ChannelHandler): EnhancedCall {
    const calls = (this.enhanced ??= new Array<EnhancedCall | undefined>(this.definition.enhancedCount));
    let call = calls[handler.slot];
    if (call === undefined) {
      call = handler.enhance!(this.instance);
      calls[handler.slot] = call;
    }
    return call;
  }

  /** An exception filter's answer to a request: a result helper counts as the handler's result; any other value is the error reply. */
  private inAnswered(task: Task, handler: ChannelHandler, answer: unknown, startedAt: number): void {
    if (answer instanceof Reply || answer instanceof NoReply || answer instanceof Stop) {
      this.inReturned(task, handler, answer, startedAt);
      return;
    }
    this.inReturned(task, handler, new Reply('error', answer), startedAt);
  }

  /** The context of the `handle_in` tracing channel for one request. */
  private inTrace(task: Task): HandleInTrace {
    return {
      topic: this.topic,
      event: task.event,
      channel: this.definition.name,
      payload: task.payload,
      socketId: this.connection.id,
    };
  }

  private inReturned(task: Task, handler: ChannelHandler, result: unknown, startedAt: number): void {
    this.currentRef = null;
    if (startedAt >= 0) {
      const durationMs = performance.now() - startedAt;
      const level = this.logLevel(this.definition.options.logHandleIn);
      if (level !== null) {
        this.logger[level](`HANDLED ${task.event} INCOMING ON ${this.topic} (${handler.where}) in ${durationMs.toFixed(2)}ms`);
      }
      this.publishHandleIn(
        task,
        durationMs,
        result === undefined || result instanceof NoReply ? 'noreply' : result instanceof Stop ? 'stop' : 'reply',
      );
    }
    // The channel ended while the handler ran (e.g. a push it made could not be encoded): nothing follows its end frame.
    if (this.state === State.Closed) return;
    try {
      if (result === undefined || result instanceof NoReply) return;
      if (result instanceof Reply) {
        this.writeReply(task.ref, result.status, result.response);
        return;
      }
      if (result instanceof Stop) {
        if (result.reply !== null) this.writeReply(task.ref, result.reply.status, result.reply.response);
        this.stopWith(result.reason, handler.where);
        return;
      }
      this.writeReply(task.ref, 'ok', result);
    } catch (error) {
      // The reply could not be encoded (e.g. a binary field over 255 bytes): that is a crash (P-53).
      this.crash(error, handler.where, task.event, true);
    }
  }

  /** The `handle_in` telemetry event, when it was timed (`startedAt` >= 0) and someone listens. */
  private publishHandleIn(task: Task, durationMs: number, result: HandleInResult): void {
    if (!telemetry.handleIn.hasSubscribers) return;
    const event: HandleInEvent = {
      durationMs,
      result,
      topic: this.topic,
      event: task.event,
      channel: this.definition.name,
      payload: task.payload,
      socketId: this.connection.id,
      transport: this.connection.transportName,
    };
    telemetry.handleIn.publish(event);
  }

  /** A thrown ChannelError, WsException or HttpException (a guard's refusal included) is an error reply; anything else crashes the channel. */
  private inThrew(task: Task, handler: ChannelHandler, error: unknown, startedAt: number): void {
    this.currentRef = null;
    const answer = answerFor(error);
    if (startedAt >= 0) this.publishHandleIn(task, performance.now() - startedAt, answer !== NO_ANSWER ? 'reply' : 'crashed');
    if (answer !== NO_ANSWER) {
      // Once the channel has ended (a refused write crashed it meanwhile), nothing follows its end frame.
      if (this.state === State.Closed) return;
      this.writeSafely(() => this.connection.serializer.encodeReply(this.joinRef, task.ref, this.topic, 'error', answer));
      return;
    }
    this.crash(error, handler.where, task.event, true);
  }

  // ── Leave ──────────────────────────────────────────────

  private runLeave(task: Task): PromiseLike<unknown> | undefined {
    this.writeSafely(() => this.connection.serializer.encodeReply(this.joinRef, task.ref, this.topic, 'ok', {}));
    return this.end({ shutdown: 'left' }, EndFrame.Close);
  }

  // ── handle_out and handle_info ─────────────────────────

  private runOut(task: Task): PromiseLike<unknown> | undefined {
    const handler = this.definition.handleOut.get(task.event);
    if (handler === undefined) {
      this.crash(new Error(MESSAGES.noHandleOut(this.definition.name, task.event)), null, task.event, false);
      return undefined;
    }
    if (task.ref === null) return this.callCallback(handler.method, [task.payload, this.socket, task.event], task.event);
    this.outPosition = task.ref as string;
    const pending = this.callCallback(handler.method, [task.payload, this.socket, task.event], task.event);
    if (pending === undefined) {
      this.outPosition = null;
      return undefined;
    }
    return pending.then(this.clearOutPosition);
  }

  private readonly clearOutPosition = (): void => {
    this.outPosition = null;
  };

  private runInfo(task: Task): PromiseLike<unknown> | undefined {
    const handler = this.definition.handleInfo;
    if (handler === null) {
      this.logger.warn(MESSAGES.noHandleInfo(this.definition.name, this.topic));
      return undefined;
    }
    return this.callCallback(handler.method, [task.payload, this.socket], null);
  }

  /**
   * `@HandleOut` / `@HandleInfo`: only undefined, noreply() or stop(...) are accepted.
   * `Class.method` is spelled out only when something goes wrong: this runs per intercepted broadcast.
   */
  private callCallback(method: string, args: unknown[], event: string | null): PromiseLike<unknown> | undefined {
    let result: unknown;
    try {
      result = this.instance[method](...args);
    } catch (error) {
      this.crash(error, `${this.definition.name}.${method}`, event, true);
      return undefined;
    }
    if (isThenable(result)) {
      return result.then(
        (value) => this.callbackReturned(method, value, event),
        (error) => this.crash(error, `${this.definition.name}.${method}`, event, true),
      );
    }
    this.callbackReturned(method, result, event);
    return undefined;
  }

  private callbackReturned(method: string, result: unknown, event: string | null): void {
    if (result === undefined || result instanceof NoReply) return;
    const where = `${this.definition.name}.${method}`;
    if (result instanceof Stop) {
      this.stopWith(result.reason, where);
      return;
    }
    this.crash(new ChannelsError(ERROR_CODE.invalidResult, MESSAGES.invalidResult(where, ACCEPTED_OUT, result)), null, event, false);
  }

  // ── Ending ────────────────────────────────────────

  private stopWith(reason: unknown, where: string): void {
    if (isGracefulReason(reason)) {
      void this.end(reason, EndFrame.Close);
      return;
    }
    this.logger.error(MESSAGES.stoppedAbnormally(where, this.topic, reason));
    void this.end(reason, EndFrame.Error);
  }

  /** A throw in user code, or an invalid result: log, phx_error, terminate with the error. */
  private crash(error: unknown, where: string | null, event: string | null, withStack: boolean): void {
    const head = where === null ? '' : `${MESSAGES.crashed(where, this.topic, event)}: `;
    this.logger.error(`${head}${withStack ? stackOf(error) : describe(error)}`);
    void this.end(error, EndFrame.Error);
  }

  /** Ends from inside the mailbox: the wire learns first, then terminate runs. */
  private end(reason: unknown, frame: EndFrame): PromiseLike<unknown> | undefined {
    if (this.state === State.Closed) return undefined;
    this.close();
    this.writeEndFrame(frame);
    this.terminated = this.runTerminate(reason);
    return this.terminated;
  }

  /**
   * A write from user code that the serializer refused (`push`, `SocketRef.reply`, possibly from a
   * timer): the channel crashes as a throw in a handler would, and nothing is thrown to the caller.
   * When a handler is running, `@Terminate` waits for it to finish.
   */
  private writeFailed(what: string, error: unknown): void {
    if (this.state === State.Closed) {
      // Nothing left to crash (a push from @Terminate, or a timer after the end): the error is all there is to say.
      this.logger.error(MESSAGES.unencodableAfterEnd(this.definition.name, this.topic, what, stackOf(error)));
      return;
    }
    this.logger.error(MESSAGES.unencodable(this.definition.name, this.topic, what, stackOf(error)));
    this.close();
    this.writeEndFrame(EndFrame.Error);
    this.terminated = this.running
      ? this.whenIdle(this.connection.shutdownTimeoutMs).then(() => this.runTerminate(error))
      : this.runTerminate(error);
  }

  /** A push inside `@Join`, or from a timer it set, before the join reply: the join fails with it when `@Join` returns. */
  private misusedInJoin(message: string): void {
    this.joinMisuse ??= new ChannelsError(ERROR_CODE.notJoined, message);
  }

  private writeEndFrame(frame: EndFrame): void {
    const jr = this.storedJoinRef;
    if (frame === EndFrame.Close) {
      this.writeSafely(() => this.connection.serializer.encodeMessage(jr, jr, this.topic, WIRE.close, {}));
    } else if (frame === EndFrame.Error) {
      this.writeSafely(() =>
        this.connection.serializer.encodeMessage(jr, jr, this.topic, WIRE.error, { reason: REASON.channelCrash }),
      );
    }
  }

  /** Leaves the table and the PubSub; idempotent. */
  private close(): void {
    if (this.state === State.Closed) return;
    this.state = State.Closed;
    this.preJoin = null;
    this.connection.channelEnded(this);
    this.unsubscribeAll();
    const callbacks = this.endCallbacks;
    if (callbacks !== null) {
      this.endCallbacks = null;
      for (const callback of callbacks) {
        try {
          callback(this);
        } catch (error) {
          // Internal callbacks do not throw; if one does, the channel still ends and the others still run.
          this.logger.error(`an end-of-channel callback on ${this.topic} threw: ${stackOf(error)}`);
        }
      }
    }
  }

  private unsubscribeAll(): void {
    const pubsub = this.connection.pubsub;
    if (this.subscribed) {
      this.subscribed = false;
      swallowAsync(pubsub.unsubscribe(this.topic, this), this.logger, this.topic);
    }
    if (this.external !== null) {
      for (const topic of this.external) swallowAsync(pubsub.unsubscribe(topic, this), this.logger, topic);
      this.external = null;
    }
  }

  /** Runs `@Terminate` once, bounded by `shutdownTimeout`; never rejects. Then the `terminate` telemetry event. */
  private runTerminate(reason: unknown): Promise<void> {
    if (this.instance === null || !telemetry.terminate.hasSubscribers) return this.callTerminate(reason);
    const startedAt = performance.now();
    return this.callTerminate(reason).then(() => {
      const event: TerminateEvent = {
        durationMs: performance.now() - startedAt,
        topic: this.topic,
        channel: this.definition.name,
        reason,
        socketId: this.connection.id,
        transport: this.connection.transportName,
      };
      telemetry.terminate.publish(event);
    });
  }

  private callTerminate(reason: unknown): Promise<void> {
    const handler = this.definition.terminate;
    if (handler === null || this.instance === null) return Promise.resolve();
    const where = handler.where;
    let result: unknown;
    try {
      result = this.instance[handler.method](reason, this.socket);
    } catch (error) {
      this.logger.error(`${where} threw: ${stackOf(error)}`);
      return Promise.resolve();
    }
    if (!isThenable(result)) {
      this.checkTerminateResult(where, result);
      return Promise.resolve();
    }
    const limitMs = this.connection.shutdownTimeoutMs;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.logger.warn(`${where} did not finish within shutdownTimeout (${limitMs}ms); cut off`);
        resolve();
      }, limitMs);
      timer.unref?.();
      result.then(
        (value) => {
          clearTimeout(timer);
          this.checkTerminateResult(where, value);
          resolve();
        },
        (error: unknown) => {
          clearTimeout(timer);
          this.logger.error(`${where} threw: ${stackOf(error)}`);
          resolve();
        },
      );
    });
  }

  private checkTerminateResult(where: string, result: unknown): void {
    if (result === undefined || result instanceof NoReply) return;
    this.logger.error(MESSAGES.invalidResult(where, 'undefined or noreply()', result));
  }

  // ── Writing ──────────────────────────────────────────────────────────────

  private writeReply(ref: Ref, status: string, response: unknown): void {
    this.connection.write(this.connection.serializer.encodeReply(this.joinRef, ref, this.topic, status, response));
  }

  /** For frames the protocol requires even when a payload is odd: an encoding failure is logged, not thrown. */
  private writeSafely(encode: () => OutFrame): void {
    try {
      this.connection.write(encode());
    } catch (error) {
      this.logger.error(`cannot encode a frame for ${this.topic}: ${describe(error)}`);
    }
  }
}

/** Resolves when the registered `wake` is called, or after `limitMs` (then `onTimeout` runs first). */
function wakeOrTimeout(register: (wake: () => void) => void, limitMs: number, onTimeout: () => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      onTimeout();
      resolve();
    }, limitMs);
    timer.unref?.();
    register(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function swallowAsync(result: void | Promise<void>, logger: Logger, topic: string): void {
  if (result !== undefined) {
    result.catch((error: unknown) => logger.warn(`unsubscribe from ${topic} failed: ${describe(error)}`));
  }
}

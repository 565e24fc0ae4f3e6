/**
 * Words of developer-facing errors and log lines, built in one place so tests
 * and logs read the same.
 */
import { DEFAULTS } from './channels.constants.js';

export const MESSAGES = {
  invalidResult: (where: string, accepted: string, got: unknown) =>
    `${where} returned an invalid result. Accepted: ${accepted}. Got: ${describe(got)}`,
  noHandleIn: (channel: string, event: string, topic: string) =>
    `${channel} has no @HandleIn('${event}') for an event on ${topic}; the channel crashes, as in Phoenix`,
  noHandleOut: (channel: string, event: string) =>
    `${channel} intercepts '${event}' but has no @HandleOut('${event}'); the channel crashes, as in Phoenix`,
  noHandleInfo: (channel: string, topic: string) =>
    `${channel} on ${topic} received a message but has no @HandleInfo; ignored`,
  crashed: (where: string, topic: string, event: string | null) =>
    `${where} crashed on ${topic}${event === null ? '' : ` (event '${event}')`}`,
  stoppedAbnormally: (channel: string, topic: string, reason: unknown) =>
    `${channel} on ${topic} stopped with reason ${describe(reason)}`,
  notJoined: (what: string) =>
    `${what} is only valid once the channel has joined; in @Join use socket.send(...) and do the work in @HandleInfo`,
  noRef: () => 'socket.ref() is only valid while handling a client message that carries a ref (inside a @HandleIn)',
  badPushPayload: (what: string, got: unknown) =>
    `${what}: the payload must be an object or binary (Buffer/Uint8Array), as the Phoenix protocol requires; got ${describe(got)}`,
  handlerCutOff: (channel: string, topic: string, limitMs: number) =>
    `${channel} on ${topic}: the handler in flight did not finish within ${limitMs}ms (shutdownTimeout); terminate runs without waiting for it`,
  malformed: (peer: string, reason: string) => `malformed frame from ${peer}: ${reason}; closing with 1011`,
  slowConsumer: (peer: string, bytes: number, limit: number) =>
    `closing slow consumer ${peer}: ${bytes} bytes unsent exceed maxBufferedBytes ${limit}`,
  limitExceeded: (peer: string, limit: string, max: number, topic: string | null, action: 'reply' | 'close' | 'refuse', unlogged: number) =>
    `${peer} exceeded ${limit} (${max})${topic === null ? '' : ` on ${topic}`}: ` +
    `${action === 'close' ? 'closing the connection with 1008' : 'answered with an error reply, not handled'}` +
    `${unlogged === 0 ? '' : `; ${unlogged} more limit hit(s) on this connection since the last such line`}` +
    ` (one line per connection per ${DEFAULTS.limitLogIntervalMs / 1000} s at most)`,
  queueFull: (peer: string, where: string, limit: number) =>
    `closing ${peer} with 1008: ${where} has ${limit} messages waiting, the limit (maxQueuedMessages)`,
  rejected: (action: string, topic: string, reason: string) => `${action} on ${topic} failed: ${reason}`,
  unencodable: (channel: string, topic: string, what: string, reason: string) =>
    `${channel} on ${topic}: ${what} cannot be encoded, so the channel crashes: ${reason}`,
  writeAfterEnd: (what: string, topic: string) => `${what} on ${topic} after the channel ended; dropped`,
  unencodableAfterEnd: (channel: string, topic: string, what: string, reason: string) =>
    `${channel} on ${topic}: ${what} after the channel ended cannot be encoded; dropped: ${reason}`,
  broadcastUnencodable: (event: string, topic: string, vsn: string, reason: string) =>
    `cannot encode broadcast '${event}' on ${topic} for ${vsn} subscribers, who do not get it: ${reason}`,
  providedTwice: (channel: string, first: string | undefined, second: string | undefined) =>
    `${channel} is a provider of two modules (${first ?? '?'} and ${second ?? '?'}); a channel class is provided by one module, whose providers it is built with`,
  enhancerIgnored: (where: string) =>
    `${where}: guards, interceptors, pipes, filters and parameter decorators run on @Join and @HandleIn only; the ones on this method are ignored`,
  undecoratedParams: (where: string, indexes: number[]) =>
    `${where} has parameter decorators, so its other parameters (index ${indexes.join(', ')}) receive undefined; decorate every parameter (e.g. @ConnectedSocket()) or none`,
  socketHandlerInModules: (handler: string, modules: string) =>
    `the socket handler ${handler} is a provider of several modules (${modules}); provide it in one`,
  socketHandlerNotProvided: (handler: string) =>
    `the socket handler ${handler} has guards, interceptors, pipes, filters or parameter decorators (its own or app-wide), which Nest resolves only for a provider: add ${handler} to a module's providers`,
  connectTimedOut: (handler: string, limitMs: number, peer: string, transport: string) =>
    `${handler}.connect from ${peer} did not settle within ${limitMs}ms (connectTimeout); answering its ${transport} connection with 503`,
  previousCutOff: (channel: string, topic: string, limitMs: number) =>
    `${channel} on ${topic}: the join and messages queued before a duplicate join did not finish within ${limitMs}ms (shutdownTimeout); the duplicate join replaces the channel now`,
  serving: (count: number, patterns: string, websocketPath: string) =>
    `serving ${count} channel pattern(s) at ${websocketPath}: ${patterns}`,
  noChannels: (websocketPath: string) =>
    `no @Channel class serves ${websocketPath}, so every join gets "unmatched topic": ` +
    'add your channel classes to the providers of a module (e.g. providers: [RoomChannel])',
  adapterMissing: (websocketPath: string) =>
    `ChannelsAdapter is not installed, so nothing answers at ${websocketPath} (clients get 404): ` +
    'call app.useWebSocketAdapter(new ChannelsAdapter(app)) before app.listen()',
  channelNotProvided: (channel: string, pattern: string) =>
    `${channel} has @Channel('${pattern}') but is not a provider of this app, so no join reaches it: ` +
    `add it to the providers of a module (e.g. providers: [${channel}])`,
  unmatchedJoin: (topic: string, mount: string, patterns: string) =>
    patterns === ''
      ? `ignoring join of unmatched topic ${describe(topic)} on ${mount}: this mount serves no channel; ` +
        'add your @Channel classes to the providers of a module'
      : `ignoring join of unmatched topic ${describe(topic)} on ${mount}: no pattern matches it (served: ${patterns}); ` +
        'a @Channel class for it must be in the providers of a module',
  longPollOverflow: (peer: string, messages: number, bytes: number, maxMessages: number, maxBytes: number) =>
    `ending the long-poll session of ${peer}: ${messages} frames (${bytes} bytes) wait for a poll, the limit is longpoll.maxBufferedMessages ${maxMessages} / maxBufferedBytes ${maxBytes}`,
  longPollUnsendable: (peer: string, what: string) =>
    `${what} frame for the long-poll session of ${peer} dropped: long-poll carries text frames only`,
  longPollSessionLimit: (path: string, limit: number) =>
    `refusing new long-poll sessions on ${path} with 503: the node holds ${limit} sessions (longpoll.maxSessions); logged once until one ends`,
  longPollFrameTooBig: (peer: string, limit: number) =>
    `a long-poll frame from ${peer} is over maxFrameSize (${limit} bytes); ending the session, as a WebSocket closes with 1009`,
  longPollBodyTooLarge: (peer: string, limit: number) =>
    `long-poll POST from ${peer} is over longpoll.maxBodySize (${limit} bytes); answered 400`,
  longPollBodyRead: (url: string | undefined) =>
    `long-poll POST on ${url}: the body was read before the long-poll transport saw it (a body parser ahead of ChannelsAdapter?); answered 400`,
  longPollBadBase64: (peer: string) => `long-poll POST from ${peer} has a line that is neither a JSON frame nor base64; answered 500`,
  originRefused: (origin: string | undefined, path: string) =>
    `origin of request ${describe(origin)} is not allowed on ${path} (checkOrigin); refusing with 403`,
};

// ── Describing values for log lines and error messages ─────────────────────
// Values described here are often the client's (join params, payloads): the
// description is built by one iterative walk that stops when it has written
// `maxChars` characters or gone `DESCRIBE_DEPTH` levels deep, so it never
// serializes more than it prints, never recurses on the client's depth, and
// never touches the bytes of a binary payload.

/** Characters a description shows by default before it is cut with `…`. */
const DESCRIBE_CHARS = 200;
/** Levels of nested arrays and objects a description opens; deeper ones show as `[…]` / `{…}`. */
const DESCRIBE_DEPTH = 8;
/** Characters of a stack trace a log line shows. */
const STACK_CHARS = 4000;
/** Param keys shown as [FILTERED], as Phoenix's logger filters them. */
const SECRET_KEY = /password|token/i;

/**
 * A short, safe description of any value for a message: JSON-like for data
 * (`{"a":[1,"x"]}`), `Name: message` for an Error, `<binary 1.5 MiB>` for
 * bytes, `[Circular]` for a cycle, cut with `…` after `maxChars` characters.
 */
export function describe(value: unknown, maxChars: number = DESCRIBE_CHARS): string {
  return render(value, maxChars, false);
}

/** `describe` for connect and join params: keys containing `password` or `token` show as [FILTERED]. */
export function describeParams(params: unknown): string {
  return render(params, DESCRIBE_CHARS, true);
}

/** An error's stack (or `describe` of a thrown non-Error) for an error log line, bounded. */
export function stackOf(error: unknown): string {
  if (!(error instanceof Error)) return describe(error);
  const stack = typeof error.stack === 'string' ? error.stack : describe(error);
  return stack.length > STACK_CHARS ? `${stack.slice(0, STACK_CHARS)}…` : stack;
}

/** One open array or object of the walk: its remaining entries. */
interface Level {
  readonly value: object;
  /** Own enumerable keys of an object; null for an array. */
  readonly keys: string[] | null;
  readonly length: number;
  index: number;
}

function render(root: unknown, maxChars: number, filter: boolean): string {
  if (root === undefined) return 'undefined';
  if (typeof root === 'function') return `function ${String(root.name).slice(0, maxChars) || '(anonymous)'}`;
  if (typeof root === 'symbol') return String(root).slice(0, maxChars);
  let out = '';
  try {
    const levels: Level[] = [];
    let next: unknown = root;
    let hasNext = true;
    while (out.length <= maxChars) {
      if (hasNext) {
        hasNext = false;
        const value = next;
        if (typeof value !== 'object' || value === null || isLeafObject(value)) {
          out += leaf(value, maxChars - out.length);
        } else if (levels.length >= DESCRIBE_DEPTH) {
          out += Array.isArray(value) ? '[…]' : '{…}';
        } else if (levels.some((level) => level.value === value)) {
          out += '"[Circular]"';
        } else if (Array.isArray(value)) {
          out += '[';
          levels.push({ value, keys: null, length: value.length, index: 0 });
        } else {
          out += '{';
          const keys = Object.keys(value);
          levels.push({ value, keys, length: keys.length, index: 0 });
        }
        continue;
      }
      const level = levels[levels.length - 1];
      if (level === undefined) break;
      if (level.index === level.length) {
        out += level.keys === null ? ']' : '}';
        levels.pop();
        continue;
      }
      const i = level.index++;
      if (i > 0) out += ',';
      if (level.keys === null) {
        next = (level.value as unknown[])[i];
        // As JSON shows them: a hole, undefined or a function in an array is null.
        if (next === undefined || typeof next === 'function') next = null;
        hasNext = true;
        continue;
      }
      const key = level.keys[i]!;
      out += `${quote(key, maxChars - out.length)}:`;
      if (filter && SECRET_KEY.test(key)) {
        out += '"[FILTERED]"';
        continue;
      }
      next = (level.value as Record<string, unknown>)[key];
      hasNext = true;
    }
  } catch {
    // A getter or a Proxy threw while being read: the type is enough to say what arrived.
    return `[${constructorName(root)}]`;
  }
  return out.length > maxChars ? `${out.slice(0, maxChars)}…` : out;
}

/** Objects shown as one token rather than opened. */
function isLeafObject(value: object): boolean {
  return (
    value instanceof Error ||
    value instanceof Uint8Array ||
    value instanceof ArrayBuffer ||
    value instanceof Date ||
    value instanceof Map ||
    value instanceof Set
  );
}

function leaf(value: unknown, room: number): string {
  switch (typeof value) {
    case 'string':
      return quote(value, room);
    case 'number':
      return String(value);
    case 'bigint':
      return `${value}n`;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
    case 'function':
    case 'symbol':
      return 'null';
  }
  if (value === null) return 'null';
  if (value instanceof Error) {
    const message = typeof value.message === 'string' ? value.message : '';
    const newline = message.indexOf('\n');
    return `${String(value.name).slice(0, room)}: ${(newline === -1 ? message : message.slice(0, newline)).slice(0, room)}`;
  }
  if (value instanceof Uint8Array) return `<binary ${bytes(value.byteLength)}>`;
  if (value instanceof ArrayBuffer) return `<binary ${bytes(value.byteLength)}>`;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'null' : `"${value.toISOString()}"`;
  if (value instanceof Map) return `Map(${value.size})`;
  if (value instanceof Set) return `Set(${value.size})`;
  return `[${constructorName(value)}]`;
}

/** A JSON string literal of at most `room` characters of `text` (escaping may add a few). */
function quote(text: string, room: number): string {
  return JSON.stringify(text.length > room ? text.slice(0, Math.max(0, room)) : text);
}

function bytes(count: number): string {
  if (count < 1024) return `${count} B`;
  if (count < 1024 * 1024) return `${(count / 1024).toFixed(1)} KiB`;
  if (count < 1024 * 1024 * 1024) return `${(count / (1024 * 1024)).toFixed(1)} MiB`;
  return `${(count / (1024 * 1024 * 1024)).toFixed(1)} GiB`;
}

function constructorName(value: unknown): string {
  try {
    return (value as object)?.constructor?.name || typeof value;
  } catch {
    // A Proxy whose get trap throws.
    return typeof value;
  }
}

/**
 * What the fuzz soak's hostile clients send, generated with fast-check: one
 * "session" per connection (its vsn and connect params, the topics it plays
 * with, a list of frames, how it ends). Frames are valid, near-valid or
 * garbage; V2 arrays, V1 objects and V2 binary pushes; with random joins,
 * leaves and pushes to the soak channels' events, huge refs, `__proto__` /
 * `constructor` topics, events and payload keys, invalid UTF-8 and deep
 * nesting. JSON is built as text where a generated object could not carry
 * what we want on the wire (a `__proto__` key, nesting past what
 * `JSON.stringify` would walk).
 */
import fc from 'fast-check';
import { clientPush } from '../support/binary-frames.js';

/** One WebSocket message: text (a string), text with bytes as given (invalid UTF-8), or binary. */
export type FuzzFrame =
  | { readonly kind: 'text'; readonly data: string }
  | { readonly kind: 'raw-text'; readonly data: Buffer }
  | { readonly kind: 'binary'; readonly data: Buffer };

/**
 * How a session sends: `paced` in small batches, each waiting for a
 * heartbeat's reply; the others all at once, to reach the limits:
 * `flood` overflows a channel's mailbox (maxQueuedMessages), `join-storm`
 * joins more channels than maxChannelsPerSocket, `no-read` stops reading
 * and asks for replies until the server holds more than maxBufferedBytes.
 * The generated mix has flood and join-storm sessions; the soak runs its
 * slow consumers (`no-read`) in a phase of their own (see fuzz-soak.ts).
 */
export type SessionMode = 'paced' | 'flood' | 'join-storm' | 'no-read';

export interface FuzzSession {
  readonly mode: SessionMode;
  /** The `vsn` query parameter, or null for none. */
  readonly vsn: string | null;
  /** More query parameters (the user is added by the driver). */
  readonly params: Readonly<Record<string, string>>;
  readonly frames: readonly FuzzFrame[];
  /** How the client ends the connection if the server has not. */
  readonly end: 'close' | 'terminate' | 'abandon';
}

const PROTO_WORDS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'then', 'length'];

/** Every event the fuzz channel handles, the protocol's own, and a few it does not know. */
const EVENTS = [
  'phx_join', 'phx_leave', 'heartbeat', 'ping', 'slow', 'crash', 'async_crash', 'stop', 'error_reply', 'channel_error',
  'push', 'broadcast', 'broadcast_from', 'intercepted', 'later', 'noreply', 'binary_echo', 'binary_push', 'send_self',
  'subscribe', 'unsubscribe', 'external', 'track', 'untrack', 'list', 'disconnect_id', 'msg', 'phx_reply', 'phx_close',
  'phx_error', 'no_such_event', ...PROTO_WORDS,
];

/** Keys the fuzz channel's handlers read, and prototype words. */
const PAYLOAD_KEYS = ['ms', 'n', 'seq', 'body', 'echo', 'track', 'reason', 'reply', 'key', 'meta', 'id', 'drop', 'stop', 'value', 'event', ...PROTO_WORDS];

/** Socket ids a few sessions share, so `disconnect_id` finds someone. */
const SOCKET_IDS = ['a', 'b', 'c', '__proto__', 'constructor'];

const JOIN_REFS = ['1', '2', '3', '7'];

const json = (value: unknown): string => JSON.stringify(value);

/** A value of `arb` once in `every` draws, otherwise null. */
function rarely<T>(arb: fc.Arbitrary<T>, every: number): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: every - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });
}

/** Topics: the soak channels' (steered joins included), prototype words, unmatched, long and odd ones. */
function topicArb(chatTopics: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 40, arbitrary: fc.constantFrom('fuzz:a', 'fuzz:b', 'fuzz:c', 'fuzz:refuse', 'fuzz:crash', 'fuzz:stop', 'fuzz-ext:1') },
    { weight: 10, arbitrary: chatTopics.length > 0 ? fc.constantFrom(...chatTopics) : fc.constant('chat:none') },
    { weight: 15, arbitrary: fc.constantFrom(...PROTO_WORDS, ...PROTO_WORDS.map((word) => `fuzz:${word}`), 'phoenix', 'room:1', '', 'fuzz:', 'chat:') },
    { weight: 10, arbitrary: fc.string({ maxLength: 16 }).map((tail) => `fuzz:${tail}`) },
    { weight: 5, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
    { weight: 1, arbitrary: fc.integer({ min: 200, max: 20_000 }).map((n) => `fuzz:${'t'.repeat(n)}`) },
  );
}

/** Ref text: mostly a short string or null, sometimes a number, a huge string or a wrong type. */
const refTextArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 100, arbitrary: fc.nat({ max: 99_999 }).map((n) => json(String(n))) },
  { weight: 30, arbitrary: fc.constant('null') },
  { weight: 20, arbitrary: fc.string({ maxLength: 8 }).map(json) },
  { weight: 10, arbitrary: fc.integer().map(String) },
  { weight: 10, arbitrary: fc.constantFrom('{}', '[1]', 'true', '1.5', '-0', '1e400', '{"__proto__":1}') },
  // Huge refs: the reply echoes them.
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 100_000 }).map((n) => json('r'.repeat(n))) },
);

const joinRefTextArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...JOIN_REFS).map(json) },
  { weight: 2, arbitrary: refTextArb },
);

/** A payload object's text with keys the handlers read and prototype words as own keys. */
const keyedObjectTextArb: fc.Arbitrary<string> = fc
  .array(
    fc.tuple(
      fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...PAYLOAD_KEYS) }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }) }),
      fc.oneof(
        { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }).map(json) },
        { weight: 1, arbitrary: fc.constantFrom('{"polluted":"yes"}', '{"prototype":{"polluted":"yes"}}', 'true', '"__proto__"', '5', '1e9', '-1') },
      ),
    ),
    { maxLength: 6 },
  )
  .map((pairs) => `{${pairs.map(([key, value]) => `${json(key)}:${value}`).join(',')}}`);

/** Nesting as text: `[[[...]]]` or `{"a":{"a":...}}`, mostly shallow, sometimes far past maxPayloadDepth. */
const nestedTextArb: fc.Arbitrary<string> = fc
  .tuple(
    fc.oneof({ weight: 20, arbitrary: fc.integer({ min: 1, max: 80 }) }, { weight: 1, arbitrary: fc.integer({ min: 1000, max: 100_000 }) }),
    fc.boolean(),
  )
  .map(([depth, arrays]) => (arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '0' + '}'.repeat(depth)));

const payloadTextArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 600, arbitrary: keyedObjectTextArb },
  { weight: 400, arbitrary: fc.jsonValue({ maxDepth: 3 }).map(json) },
  { weight: 200, arbitrary: nestedTextArb },
  {
    weight: 100,
    arbitrary: fc.constantFrom(
      '{"__proto__":{"polluted":"yes"}}',
      '{"constructor":{"prototype":{"polluted":"yes"}}}',
      '{"body":{"__proto__":{"isAdmin":true}}}',
      '{"track":true,"meta":{"__proto__":{"polluted":"yes"}}}',
      '{"key":"__proto__","meta":{"constructor":{"prototype":{"polluted":"yes"}}}}',
      '{"reason":{"__proto__":{"polluted":"yes"}},"reply":true}',
      '{"echo":{"__proto__":{"polluted":"yes"}}}',
      '{"id":"__proto__"}',
      '{"__proto__":null}',
      '[{"__proto__":[]}]',
      '{"stop":true}',
      '{"drop":true}',
    ),
  },
  { weight: 4, arbitrary: fc.integer({ min: 1000, max: 200_000 }).map((n) => json({ body: 'x'.repeat(n) })) },
  // Past the 1 MiB frame limit: closes with 1009 before anything is parsed.
  { weight: 1, arbitrary: fc.constant(json({ body: 'y'.repeat(1_100_000) })) },
);

/** A string's JSON text, or now and then a value of the wrong type. */
function stringTextArb(values: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof({ weight: 12, arbitrary: values.map(json) }, { weight: 1, arbitrary: fc.constantFrom('null', '1', '{}', '[]', 'true') });
}

interface FrameParts {
  joinRef: string;
  ref: string;
  topic: string;
  event: string;
  payload: string;
}

function partsArb(topics: fc.Arbitrary<string>): fc.Arbitrary<FrameParts> {
  return fc.record({
    joinRef: joinRefTextArb,
    ref: refTextArb,
    topic: stringTextArb(topics),
    event: stringTextArb(fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...EVENTS) }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }) })),
    payload: payloadTextArb,
  });
}

const v2Text = (p: FrameParts): string => `[${p.joinRef},${p.ref},${p.topic},${p.event},${p.payload}]`;

/** A V1 object, its keys in any order, now and then with a prototype word as an extra key. */
function v1TextArb(parts: fc.Arbitrary<FrameParts>): fc.Arbitrary<string> {
  return fc
    .tuple(parts, fc.shuffledSubarray(['topic', 'event', 'payload', 'ref', 'join_ref'], { minLength: 5 }), rarely(fc.constantFrom(...PROTO_WORDS), 8))
    .map(([p, order, extra]) => {
      const values: Record<string, string> = { topic: p.topic, event: p.event, payload: p.payload, ref: p.ref, join_ref: p.joinRef };
      const fields = order.map((key) => `${json(key)}:${values[key]}`);
      if (extra !== null) fields.push(`${json(extra)}:{"polluted":"yes"}`);
      return `{${fields.join(',')}}`;
    });
}

/** Small edits that make a valid frame invalid: cut, a byte changed, an element dropped or added, the other version's shape. */
function mutate(text: string, how: number, at: number, char: string): string {
  const cut = Math.floor(at * text.length);
  switch (how) {
    case 0:
      return text.slice(0, cut);
    case 1:
      return text.slice(0, cut) + char + text.slice(cut + 1);
    case 2:
      return text.slice(0, cut) + char + text.slice(cut);
    case 3:
      return text.startsWith('[') ? text.replace(/,[^,]*\]$/, ']') : text.replace(/"topic":/, '"topik":');
    case 4:
      return text.startsWith('[') ? text.replace(/\]$/, ',"extra"]') : `[${text}]`;
    default:
      return `${text} ${text}`;
  }
}

const INVALID_UTF8 = [[0xff], [0xfe, 0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80]];

function binaryArb(topics: fc.Arbitrary<string>): fc.Arbitrary<Buffer> {
  const field = (values: fc.Arbitrary<string>) =>
    values.filter((value) => Buffer.byteLength(value) <= 255);
  const wellFramed = fc
    .tuple(
      field(fc.oneof(fc.constantFrom(...JOIN_REFS), fc.string({ maxLength: 4 }))),
      field(fc.nat({ max: 99_999 }).map(String)),
      field(topics),
      field(fc.constantFrom(...EVENTS)),
      fc.uint8Array({ maxLength: 64 }),
    )
    .map(([joinRef, ref, topic, event, payload]) => clientPush(joinRef, ref, topic, event, Buffer.from(payload)));
  return fc.oneof(
    { weight: 6, arbitrary: wellFramed },
    // Cut into the header or the fields, or another kind byte: malformed.
    {
      weight: 2,
      arbitrary: fc.tuple(wellFramed, fc.nat({ max: 40 }), fc.integer({ min: 0, max: 255 })).map(([frame, cut, kind]) => {
        const copy = Buffer.from(frame.subarray(0, Math.max(0, frame.length - cut)));
        if (cut % 3 === 0 && copy.length > 0) copy[0] = kind;
        return copy;
      }),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)) },
  );
}

/** One frame for a session of version `vsn` whose topics are mostly `sessionTopics`. */
function frameArb(vsn: string | null, sessionTopics: readonly string[], chatTopics: readonly string[]): fc.Arbitrary<FuzzFrame> {
  const topics = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...sessionTopics) }, { weight: 1, arbitrary: topicArb(chatTopics) });
  const parts = partsArb(topics);
  const v1 = vsn?.startsWith('1.') === true;
  const valid = v1 ? v1TextArb(parts) : parts.map(v2Text);
  const other = v1 ? parts.map(v2Text) : v1TextArb(parts);
  const text = (arb: fc.Arbitrary<string>): fc.Arbitrary<FuzzFrame> => arb.map((data) => ({ kind: 'text', data }));
  return fc.oneof(
    { weight: 50, arbitrary: text(valid) },
    // A join of a session topic, so later frames find a channel.
    {
      weight: 12,
      arbitrary: text(
        fc.tuple(fc.constantFrom(...sessionTopics), fc.constantFrom(...JOIN_REFS), fc.nat({ max: 99_999 }), fc.oneof(keyedObjectTextArb, fc.constant('{"track":true}'))).map(
          ([topic, joinRef, ref, payload]) =>
            v1
              ? `{"topic":${json(topic)},"event":"phx_join","payload":${payload},"ref":${json(String(ref))},"join_ref":${json(joinRef)}}`
              : `[${json(joinRef)},${json(String(ref))},${json(topic)},"phx_join",${payload}]`,
        ),
      ),
    },
    { weight: 10, arbitrary: text(fc.tuple(valid, fc.nat({ max: 5 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.string({ minLength: 1, maxLength: 1 })).map(([t, how, at, char]) => mutate(t, how, at, char))) },
    { weight: 3, arbitrary: text(other) },
    { weight: 10, arbitrary: binaryArb(topics).map((data): FuzzFrame => ({ kind: 'binary', data })) },
    {
      weight: 3,
      arbitrary: fc
        .tuple(valid, fc.constantFrom(...INVALID_UTF8), fc.double({ min: 0, max: 1, noNaN: true }))
        .map(([t, bad, at]): FuzzFrame => {
          const bytes = Buffer.from(t, 'utf8');
          const cut = Math.floor(at * bytes.length);
          return { kind: 'raw-text', data: Buffer.concat([bytes.subarray(0, cut), Buffer.from(bad), bytes.subarray(cut)]) };
        }),
    },
    { weight: 3, arbitrary: text(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.json({ maxDepth: 2 }), fc.constantFrom('', '[]', '{}', 'null', '[null]'))) },
  );
}

/** The frames of a session that goes for a limit (V2): a join of `topic`, then the flood. */
function limitFrames(mode: Exclude<SessionMode, 'paced'>, topic: string): FuzzFrame[] {
  const text = (data: string): FuzzFrame => ({ kind: 'text', data });
  const join = text(`["1","1",${json(topic)},"phx_join",{}]`);
  switch (mode) {
    case 'flood':
      // 1500 handlers of 20 ms queued behind each other: past the mailbox's 1000.
      return [join, ...Array.from({ length: 1500 }, (_, i) => text(`["1","${i + 2}",${json(topic)},"slow",{"ms":20}]`))];
    case 'join-storm':
      return Array.from({ length: 120 }, (_, i) => text(`["${i}","${i}","fuzz:storm-${i}","phx_join",{}]`));
    case 'no-read': {
      // Each push is answered by a push of ~100 kB: 400 of them are 40 MB for a client that reads nothing, more than
      // the 16 MiB the app may hold plus what the kernel buffers on both ends.
      const push = text(`["1","2",${json(topic)},"push",{"body":"${'z'.repeat(100_000)}"}]`);
      return [join, ...Array.from({ length: 400 }, () => push)];
    }
  }
}

/** A session that goes for one limit (see `SessionMode`) on `topic`. */
export function limitSession(mode: Exclude<SessionMode, 'paced'>, topic: string): FuzzSession {
  return { mode, vsn: '2.0.0', params: {}, frames: limitFrames(mode, topic), end: 'terminate' };
}

const limitSessionArb: fc.Arbitrary<FuzzSession> = fc
  .tuple(fc.constantFrom<Exclude<SessionMode, 'paced'>>('flood', 'join-storm'), fc.constantFrom('fuzz:a', 'fuzz:b', 'fuzz:__proto__'))
  .map(([mode, topic]) => limitSession(mode, topic));

/** Sessions: mostly V2, often V1, sometimes a vsn the server refuses; a few share socket ids; now and then one goes for a limit. */
export function sessionArb(chatTopics: readonly string[]): fc.Arbitrary<FuzzSession> {
  return fc.oneof({ weight: 400, arbitrary: pacedSessionArb(chatTopics) }, { weight: 1, arbitrary: limitSessionArb });
}

function pacedSessionArb(chatTopics: readonly string[]): fc.Arbitrary<FuzzSession> {
  return fc
    .record({
      vsn: fc.oneof(
        { weight: 12, arbitrary: fc.constant('2.0.0') },
        { weight: 6, arbitrary: fc.constant('1.0.0') },
        { weight: 1, arbitrary: fc.constantFrom(null, '3.0.0', '', '__proto__', '2.0.0.0') },
      ),
      id: rarely(fc.constantFrom(...SOCKET_IDS), 3),
      odd: rarely(fc.constantFrom('refuse', 'throw', '__proto__', 'constructor'), 20),
      topics: fc.array(topicArb(chatTopics), { minLength: 1, maxLength: 4 }),
      end: fc.constantFrom('close', 'terminate', 'abandon') as fc.Arbitrary<FuzzSession['end']>,
      length: fc.integer({ min: 1, max: 40 }),
    })
    .chain(({ vsn, id, odd, topics, end, length }) =>
      fc.array(frameArb(vsn, topics, chatTopics), { minLength: length, maxLength: length }).map((frames): FuzzSession => {
        const params: Record<string, string> = {};
        if (id !== null) params.id = id;
        if (odd !== null) params[odd] = '1';
        return { mode: 'paced', vsn, params, frames, end };
      }),
    );
}

/** An endless supply of sessions from `seed`, generated in batches. */
export class SessionSource {
  private batch: FuzzSession[] = [];
  private batches = 0;
  private readonly arbitrary: fc.Arbitrary<FuzzSession>;

  constructor(
    private readonly seed: number,
    chatTopics: readonly string[],
  ) {
    this.arbitrary = sessionArb(chatTopics);
  }

  next(): FuzzSession {
    if (this.batch.length === 0) this.batch = fc.sample(this.arbitrary, { numRuns: 100, seed: this.seed + this.batches++ });
    return this.batch.pop()!;
  }
}

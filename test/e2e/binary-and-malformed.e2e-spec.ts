/**
 * Binary frames and bad input at the wire: the
 * checklist's byte-exact frames, what an unencodable frame does to its
 * channel, and malformed frames, which close their own connection with 1011
 * and nothing else. A property-based test throws arbitrary text and bytes
 * at real sockets while bystanders keep being served.
 */
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Socket as PhoenixSocket, Channel as PhoenixChannel } from 'phoenix';
import { Fixtures } from '../fixtures/fixtures.js';
import { Recorder } from '../fixtures/recorder.js';
import { WireFixtures } from '../fixtures/wire.fixtures.js';
import { clientPush, hex, parseServerFrame } from '../support/binary-frames.js';
import { eventually, joined, outcome, uniqueTopic } from '../support/phoenix-helpers.js';
import type { RawClient } from '../support/raw-client.js';
import { startApp, type TestApp } from '../support/test-app.js';

const QUIET_MS = 150;
/** Runs per property; FUZZ_RUNS raises it for a longer local hunt. */
const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 100);

const ok = (jr: unknown, r: unknown, topic: string, response: unknown = {}) => [jr, r, topic, 'phx_reply', { status: 'ok', response }];
const unmatched = (r: unknown, topic: string) => [null, r, topic, 'phx_reply', { status: 'error', response: { reason: 'unmatched topic' } }];
const crashed = (jr: unknown, topic: string) => [jr, jr, topic, 'phx_error', { reason: 'channel_crash' }];

async function nextBinary(raw: RawClient, what: string): Promise<Buffer> {
  const frame = await raw.next(2000, what);
  if (!frame.binary) throw new Error(`expected ${what} as a binary frame, got text ${frame.text}`);
  return frame.bytes;
}

async function assertQuiet(raw: RawClient, what: string): Promise<void> {
  const seen = await raw.nothingFor(QUIET_MS);
  assert.deepEqual(seen, [], `${what}: expected no frame, got ${seen.length}`);
}

/** A heartbeat round trip: the connection is alive and serving. */
async function assertServing(raw: RawClient, what: string): Promise<void> {
  const ref = `hb-${Math.random().toString(36).slice(2)}`;
  raw.send([null, ref, 'phoenix', 'heartbeat', {}]);
  assert.deepEqual(await raw.nextJson(2000, `${what}: the heartbeat reply`), ok(null, ref, 'phoenix'), what);
}

/** Sends a frame, then expects no reply and a 1011 close. */
async function assertMalformed(app: TestApp, query: string, send: (raw: RawClient) => void, what: string): Promise<void> {
  const raw = await app.raw({ query });
  send(raw);
  assert.equal(await raw.closedWith(2000), 1011, `${what} closes the connection with 1011`);
  assert.deepEqual(await raw.nothingFor(0), [], `${what} gets no reply`);
}

// ── Binary frames (P-49 to P-53) ──────────────────────────────────────────

describe('binary frames', () => {
  let app: TestApp;
  let recorder: Recorder;
  before(async () => {
    // Topics up to 300 characters, to reach the 255-byte topic limit of binary frames (P-53).
    app = await startApp(WireFixtures.binary({ maxTopicLength: 300 }));
    recorder = app.app.get(Recorder);
  });
  after(() => app.close());

  it('builds the checklist\'s client frames byte for byte (worked examples)', () => {
    assert.deepEqual(
      clientPush('12', '123', 'topic', 'event', Buffer.from('efg')),
      hex('00 02 03 05 05 31 32 31 32 33 74 6F 70 69 63 65 76 65 6E 74 65 66 67'),
    );
    assert.deepEqual(
      clientPush('3', '4', 'room:1', 'upload', hex('01 02')),
      hex('00 01 01 06 06 33 34 72 6F 6F 6D 3A 31 75 70 6C 6F 61 64 01 02'),
    );
  });

  it('hands the checklist frame 00 02 03 05 05 "12" "123" "topic" "event" efg to the handler as bytes, and replies kind 1 with ref 123 (P-49, P-50)', async () => {
    const raw = await app.raw();
    assert.deepEqual(await raw.join('topic', {}, '12', '12'), ok('12', '12', 'topic'));
    raw.sendBinary(hex('00 02 03 05 05 31 32 31 32 33 74 6F 70 69 63 65 76 65 6E 74 65 66 67'));
    const answer = await nextBinary(raw, 'the binary reply');
    // kind 1, jr "12", ref "123", topic "topic", status "ok" in the event slot, then the bytes.
    assert.deepEqual(answer, hex('01 02 03 05 02 31 32 31 32 33 74 6F 70 69 63 6F 6B 65 66 67'));
    assert.deepEqual(recorder.of('topic_event', 'topic').at(-1), { isBuffer: true, hex: '656667' });
  });

  it('gives binary_echo a Buffer and answers with a kind-1 reply carrying jr, ref, topic and "ok" (P-49, P-50)', async () => {
    const raw = await app.raw();
    const topic = uniqueTopic();
    await raw.join(topic, {}, '3', '3');
    const before = recorder.of('binary').length;
    const payload = Buffer.from([0, 1, 2, 253, 254, 255]);
    raw.sendBinary(clientPush('3', '4', topic, 'binary_echo', payload));
    const reply = parseServerFrame(await nextBinary(raw, 'the binary_echo reply'));
    assert.deepEqual(reply, { kind: 1, joinRef: '3', ref: '4', topic, event: 'ok', payload });
    assert.deepEqual(recorder.of('binary').slice(before), [true], 'the handler got a Buffer');
  });

  it('reads an empty binary join_ref as "", stale against a joined channel, unlike a JSON null', async () => {
    const raw = await app.raw();
    const topic = uniqueTopic();
    await raw.join(topic, {}, '3', '3');
    raw.sendBinary(clientPush('', '5', topic, 'binary_echo', Buffer.from([1])));
    await assertQuiet(raw, 'a binary push with an empty join_ref');
    raw.send([null, '6', topic, 'ping', { null: true }]);
    assert.deepEqual(await raw.nextJson(), ok('3', '6', topic, { null: true }));
    // On a topic not joined the empty join_ref is just another value: "unmatched topic", ref as a string.
    raw.sendBinary(clientPush('', '7', 'nowhere', 'anything', Buffer.alloc(0)));
    assert.deepEqual(await raw.nextJson(), unmatched('7', 'nowhere'));
  });

  it('round-trips an ArrayBuffer pushed by the phoenix client as an ArrayBuffer response (P-50)', async () => {
    const socket = app.client();
    const channel = socket.channel(uniqueTopic());
    await joined(channel);
    const sent = new Uint8Array([9, 0, 9, 0]).buffer;
    const { status, response } = await outcome(channel.push('binary_echo', sent), 3000, 'binary_echo');
    assert.equal(status, 'ok');
    assert.ok(response instanceof ArrayBuffer, 'the response is an ArrayBuffer');
    assert.deepEqual([...new Uint8Array(response)], [9, 0, 9, 0]);
  });

  it('sends a binary push as a kind-0 frame with a 4-byte header and no ref, before the text reply (P-51)', async () => {
    const raw = await app.raw();
    const topic = uniqueTopic();
    await raw.join(topic, {}, '3', '3');
    raw.send(['3', '9', topic, 'binary_push', {}]);
    const push = await nextBinary(raw, 'the binary push');
    const expected = Buffer.concat([
      Buffer.from([0, 1, Buffer.byteLength(topic), 3]),
      Buffer.from(`3${topic}bin`),
      Buffer.from([1, 2, 3]),
    ]);
    assert.deepEqual(push, expected);
    assert.deepEqual(parseServerFrame(push), { kind: 0, joinRef: '3', topic, event: 'bin', payload: Buffer.from([1, 2, 3]) });
    assert.deepEqual(await raw.nextJson(), ok('3', '9', topic));
  });

  it('sends a binary broadcast as a kind-2 frame with a 3-byte header to every V2 subscriber; a V1 subscriber is skipped and keeps serving (P-52)', async () => {
    const topic = uniqueTopic();
    const sender = await app.raw();
    const other = await app.raw();
    const v1 = await app.raw({ query: 'vsn=1.0.0' });
    await sender.join(topic, {}, '1', '1');
    await other.join(topic, {}, '2', '2');
    v1.send({ topic, event: 'phx_join', payload: {}, ref: '1' });
    await v1.nextJson(2000, 'the V1 join reply');
    sender.send(['1', '3', topic, 'binary_broadcast', {}]);
    const expected = Buffer.concat([Buffer.from([2, Buffer.byteLength(topic), 3]), Buffer.from(`${topic}bin`), Buffer.from([9, 8, 7])]);
    assert.deepEqual(await nextBinary(sender, 'the broadcast at the sender'), expected);
    assert.deepEqual(await sender.nextJson(), ok('1', '3', topic));
    assert.deepEqual(await nextBinary(other, 'the broadcast at the other subscriber'), expected);
    // V1 has no binary frames: nothing can be sent to it, and it is not harmed.
    await assertQuiet(v1, 'a V1 subscriber of a binary broadcast');
    v1.send({ topic: 'phoenix', event: 'heartbeat', payload: {}, ref: 'hb' });
    assert.deepEqual(await v1.nextJson(), { topic: 'phoenix', event: 'phx_reply', payload: { status: 'ok', response: {} }, ref: 'hb' });
  });

  it('does not send a binary push or reply whose topic exceeds 255 bytes: the channel errors and the connection goes on (P-53)', async () => {
    const raw = await app.raw();
    const long = `room:${'x'.repeat(260)}`;
    assert.deepEqual(await raw.join(long, {}, '5', '5'), ok('5', '5', long), 'a long topic is fine in JSON');
    raw.send(['5', '6', long, 'binary_push', {}]);
    assert.deepEqual(await raw.nextJson(2000, 'phx_error for the unencodable push'), crashed('5', long));
    await eventually(() => recorder.of('terminate', long).length > 0, '@Terminate after the crash');
    raw.send(['5', '7', long, 'ping', {}]);
    assert.deepEqual(await raw.nextJson(), unmatched('7', long), 'the crashed channel is gone');

    // The same for a binary reply.
    assert.deepEqual(await raw.join(long, {}, '8', '8'), ok('8', '8', long));
    raw.send(['8', '9', long, 'binary_echo', {}]);
    raw.sendBinary(Buffer.concat([Buffer.from([0, 1, 2, 255, 11]), Buffer.from('810'), Buffer.from(long.slice(0, 255)), Buffer.from('binary_echo')]));
    assert.deepEqual(await raw.nextJson(), ok('8', '9', long, {}), 'a JSON echo on the long topic still works');
    assert.deepEqual(await raw.nextJson(), unmatched('10', long.slice(0, 255)), 'a binary frame can only name a 255-byte topic');

    const short = uniqueTopic();
    await raw.join(short, {}, '20', '20');
    raw.sendBinary(clientPush('20', '21', short, 'binary_echo', Buffer.from([7])));
    assert.deepEqual(parseServerFrame(await nextBinary(raw, 'a binary reply on another topic')).payload, Buffer.from([7]));
    await assertServing(raw, 'after P-53');
  });
});

// ── Malformed frames ────────────────────────────────────

describe('malformed frames', () => {
  let app: TestApp;
  let recorder: Recorder;
  let bystander: RawClient;
  let bystanderTopic: string;
  let phoenix: PhoenixSocket;
  let phoenixChannel: PhoenixChannel;
  before(async () => {
    app = await startApp(Fixtures.standard());
    recorder = app.app.get(Recorder);
    bystander = await app.raw();
    bystanderTopic = uniqueTopic();
    await bystander.join(bystanderTopic, {}, 'b', 'b');
    phoenix = app.client();
    phoenixChannel = phoenix.channel(uniqueTopic());
    await joined(phoenixChannel);
  });
  after(() => app.close());

  /** Every other client is still served: the raw bystander's channel and a phoenix client. */
  async function othersServed(what: string): Promise<void> {
    const ref = `p-${Math.random().toString(36).slice(2)}`;
    bystander.send(['b', ref, bystanderTopic, 'ping', { ref }]);
    assert.deepEqual(await bystander.nextJson(2000, `${what}: the bystander's ping`), ok('b', ref, bystanderTopic, { ref }));
    assert.deepEqual(await outcome(phoenixChannel.push('ping', { what }), 2000, `${what}: phoenix ping`), { status: 'ok', response: { what } });
  }

  const v2Text: Array<[string, string]> = [
    ['not JSON', 'not json'],
    ['empty text', ''],
    ['a JSON object on V2', '{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"1"}'],
    ['a JSON string', '"phoenix"'],
    ['a 3-element array', '[null,"1","phoenix"]'],
    ['a 4-element array', '[null,"1","phoenix","heartbeat"]'],
    ['a numeric topic', '[null,"1",5,"heartbeat",{}]'],
    ['an object join_ref', '[{},"1","phoenix","heartbeat",{}]'],
    ['a truncated array', '[null,"1","phoenix","heartbeat",{}'],
  ];
  for (const [what, text] of v2Text) {
    it(`closes only its own connection with 1011 and no reply on ${what}`, async () => {
      await assertMalformed(app, 'vsn=2.0.0', (raw) => raw.send(text), what);
      await othersServed(what);
    });
  }

  const binary: Array<[string, Buffer]> = [
    ['an empty binary frame', Buffer.alloc(0)],
    ['binary kind 1 (reply) from a client', clientPush('1', '1', 'phoenix', 'heartbeat', Buffer.alloc(0)).fill(1, 0, 1)],
    ['binary kind 2 (broadcast) from a client', hex('02 01 01 61 62')],
    ['an unknown binary kind 7', hex('07 00 00 00 00')],
    ['a binary header shorter than 5 bytes', hex('00 01 01')],
    ['a binary frame shorter than its declared fields', hex('00 05 05 05 05 41 42')],
  ];
  for (const [what, bytes] of binary) {
    it(`closes only its own connection with 1011 and no reply on ${what}`, async () => {
      await assertMalformed(app, 'vsn=2.0.0', (raw) => raw.sendBinary(bytes), what);
      await othersServed(what);
    });
  }

  const v1: Array<[string, (raw: RawClient) => void]> = [
    ['a V1 object missing ref', (raw) => raw.send({ topic: 'phoenix', event: 'heartbeat', payload: {} })],
    ['a V1 object missing payload', (raw) => raw.send({ topic: 'phoenix', event: 'heartbeat', ref: '1' })],
    ['a V2 array on V1', (raw) => raw.send([null, '1', 'phoenix', 'heartbeat', {}])],
    ['not JSON on V1', (raw) => raw.send('{topic')],
    ['a binary frame on V1', (raw) => raw.sendBinary(clientPush('1', '1', 'phoenix', 'heartbeat', Buffer.alloc(0)))],
  ];
  for (const [what, send] of v1) {
    it(`closes only its own connection with 1011 and no reply on ${what} (P-47)`, async () => {
      await assertMalformed(app, 'vsn=1.0.0', send, what);
      await othersServed(what);
    });
  }

  it('ends the channels of a connection closed for a malformed frame, and handles none of the frames behind it', async () => {
    const raw = await app.raw();
    const joinedTopic = uniqueTopic();
    await raw.join(joinedTopic, {}, '1', '1');
    const lateTopic = uniqueTopic();
    // Both frames leave in one TCP write, so the server reads them in one go.
    const socket = (raw.ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.cork();
    raw.send('garbage');
    raw.send(['2', '2', lateTopic, 'phx_join', {}]);
    raw.send(['1', '3', joinedTopic, 'broadcast', { body: 'after the garbage' }]);
    socket.uncork();
    assert.equal(await raw.closedWith(), 1011);
    assert.deepEqual(await raw.nothingFor(0), [], 'no reply to anything after the malformed frame');
    await eventually(() => recorder.of('terminate', joinedTopic).length > 0, '@Terminate of the closed connection\'s channel');
    assert.deepEqual(recorder.of('terminate', joinedTopic), [{ shutdown: 'closed' }]);
    assert.deepEqual(recorder.of('join', lateTopic), [], 'the join behind the malformed frame never ran');
    await othersServed('after a malformed burst');
  });

  it('closes a text frame with invalid UTF-8 with 1007, and only that connection', async () => {
    const raw = await app.raw();
    raw.ws.send(hex('5b 22 ff fe 22 5d'), { binary: false });
    assert.equal(await raw.closedWith(), 1007);
    await othersServed('after invalid UTF-8');
  });

  it('leaves the connection serving after a throwing handler (phx_error, then "unmatched topic") or an unknown topic (P-30, P-35)', async () => {
    const raw = await app.raw();
    const topic = uniqueTopic();
    const sibling = uniqueTopic();
    await raw.join(topic, {}, '1', '1');
    await raw.join(sibling, {}, '2', '2');

    raw.send(['1', '3', topic, 'crash', {}]);
    assert.deepEqual(await raw.nextJson(), crashed('1', topic));
    await eventually(() => recorder.of('terminate', topic).length > 0, '@Terminate after the crash');
    assert.deepEqual(recorder.of('terminate', topic), [{ error: 'handler exploded' }]);
    raw.send(['1', '4', topic, 'ping', {}]);
    assert.deepEqual(await raw.nextJson(), unmatched('4', topic), 'later events on the crashed topic');
    raw.send(['2', '5', sibling, 'ping', { sibling: true }]);
    assert.deepEqual(await raw.nextJson(), ok('2', '5', sibling, { sibling: true }), 'the other channel of the connection goes on');

    // Rejoin after a crash, as phoenix.js would, then an async crash and an event with no handler.
    await raw.join(topic, {}, '6', '6');
    raw.send(['6', '7', topic, 'async_crash', {}]);
    assert.deepEqual(await raw.nextJson(), crashed('6', topic));
    await raw.join(topic, {}, '8', '8');
    raw.send(['8', '9', topic, 'no_such_event', {}]);
    assert.deepEqual(await raw.nextJson(), crashed('8', topic), 'an event with no @HandleIn crashes the channel, as in Phoenix');

    raw.send(['x', '10', 'nowhere:at:all', 'ping', {}]);
    assert.deepEqual(await raw.nextJson(), unmatched('10', 'nowhere:at:all'));
    await assertServing(raw, 'after crashes and an unknown topic');
    raw.send(['2', '11', sibling, 'ping', {}]);
    assert.deepEqual(await raw.nextJson(), ok('2', '11', sibling, {}));
    await othersServed('after crashes on another connection');
  });

  // ── Property-based: arbitrary input over real sockets ──────────────────

  const isRef = (value: unknown) => value === null || typeof value === 'string' || typeof value === 'number';

  /** What the V2 decoder must accept: an array of 5+ with ref-like refs and string topic/event. */
  function wellFormedText(text: string): { ref: unknown } | null {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return null;
    }
    if (!Array.isArray(frame) || frame.length < 5) return null;
    const [joinRef, ref, topic, event] = frame;
    return isRef(joinRef) && isRef(ref) && typeof topic === 'string' && typeof event === 'string' ? { ref } : null;
  }

  /** What the V2 decoder must accept as binary: kind 0, and every declared byte present. */
  function wellFormedBinary(bytes: Uint8Array): { ref: unknown } | null {
    if (bytes.length < 5 || bytes[0] !== 0) return null;
    const end = 5 + bytes[1]! + bytes[2]! + bytes[3]! + bytes[4]!;
    if (bytes.length < end) return null;
    const buffer = Buffer.from(bytes);
    return { ref: buffer.toString('utf8', 5 + bytes[1]!, 5 + bytes[1]! + bytes[2]!) };
  }

  /** One fuzz case on a fresh connection: a well-formed frame gets a reply with its ref; anything else no reply and 1011. */
  async function fuzzOnce(send: (raw: RawClient) => void, expected: { ref: unknown } | null, what: string): Promise<void> {
    const raw = await app.raw();
    try {
      send(raw);
      if (expected === null) {
        assert.equal(await raw.closedWith(2000), 1011, `${what}: malformed input closes with 1011`);
        assert.deepEqual(await raw.nothingFor(0), [], `${what}: malformed input gets no reply`);
      } else {
        const reply = await raw.nextJson(2000, `${what}: the reply`);
        assert.equal(reply[3], 'phx_reply', `${what}: a reply`);
        assert.deepEqual(reply[1], expected.ref, `${what}: the reply echoes the ref`);
        assert.equal(raw.closeCode, null, `${what}: a well-formed frame keeps the connection`);
      }
    } finally {
      raw.terminate();
    }
    // The bystander is served after every case.
    const ref = `f-${Math.random().toString(36).slice(2)}`;
    bystander.send(['b', ref, bystanderTopic, 'ping', {}]);
    assert.deepEqual(await bystander.nextJson(2000, `${what}: the bystander's ping`), ok('b', ref, bystanderTopic, {}));
  }

  // Mostly plausible values, sometimes wrong types, so that about half the frames are well formed.
  const refArb = fc.oneof(
    { weight: 6, arbitrary: fc.oneof(fc.constant(null), fc.string({ maxLength: 4 }), fc.integer()) },
    { weight: 1, arbitrary: fc.oneof(fc.boolean(), fc.constant({}), fc.constant([1])) },
  );
  const topicArb = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('phoenix', 'room:1', 'room:', 'lobby', 'food:1', 'nowhere', 'room:private', 'room:crash') },
    { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
    { weight: 1, arbitrary: fc.integer() },
  );
  const eventArb = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('phx_join', 'phx_leave', 'heartbeat', 'ping', 'crash', 'broadcast', 'no_such_event') },
    { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
    { weight: 1, arbitrary: fc.constant(null) },
  );
  const frameLike = fc
    .tuple(
      refArb,
      refArb,
      topicArb,
      eventArb,
      fc.jsonValue({ maxDepth: 2 }),
      fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 2 }),
    )
    .chain(([jr, r, topic, event, payload, extra]) =>
      fc
        .oneof({ weight: 3, arbitrary: fc.constant(7) }, { weight: 1, arbitrary: fc.nat({ max: 7 }) })
        .map((keep) => [jr, r, topic, event, payload, ...extra].slice(0, keep)),
    )
    .map((frame) => JSON.stringify(frame));
  const textArb = fc.oneof(
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 120 }) },
    { weight: 1, arbitrary: fc.json({ maxDepth: 2 }) },
    { weight: 4, arbitrary: frameLike },
  );

  it('never lets arbitrary text frames escape: malformed ones close 1011 with no reply, others are answered, bystanders are served', async () => {
    await fc.assert(
      fc.asyncProperty(textArb, async (text) => {
        // What the server reads: ws sends a lone surrogate as U+FFFD.
        const received = Buffer.from(text, 'utf8').toString('utf8');
        await fuzzOnce((raw) => raw.send(text), wellFormedText(received), `text ${JSON.stringify(text).slice(0, 80)}`);
      }),
      { numRuns: FUZZ_RUNS },
    );
    await othersServed('after the arbitrary text frames');
  });

  const binaryArb = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc
      .tuple(
        fc.string({ maxLength: 3 }),
        fc.string({ maxLength: 3 }),
        topicArb.map(String),
        eventArb.map(String),
        fc.uint8Array({ maxLength: 16 }),
        fc.integer({ min: -4, max: 4 }),
      )
      .map(([jr, r, topic, event, payload, cut]) => {
        const frame = clientPush(jr, r, topic, event, Buffer.from(payload));
        // Sometimes cut the frame short: into the payload (still well formed) or into the fields (malformed).
        return cut < 0 ? frame.subarray(0, Math.max(0, frame.length + cut * 3)) : frame;
      }),
  );

  it('never lets arbitrary binary frames escape: malformed ones close 1011 with no reply, others are answered, bystanders are served', async () => {
    await fc.assert(
      fc.asyncProperty(binaryArb, async (bytes) => {
        const buffer = Buffer.from(bytes);
        const what = `bytes ${buffer.toString('hex').slice(0, 80)}`;
        await fuzzOnce((raw) => raw.sendBinary(buffer), wellFormedBinary(buffer), what);
      }),
      { numRuns: FUZZ_RUNS },
    );
    await othersServed('after the arbitrary binary frames');
  });
});

// ── maxFrameSize ────────────────────────────────────────

describe('with maxFrameSize: 1024', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp(Fixtures.standard({ maxFrameSize: 1024 }));
  });
  after(() => app.close());

  it('serves a frame within the limit and closes one over it with 1009, only that connection', async () => {
    const bystander = await app.raw();
    const raw = await app.raw();
    const topic = uniqueTopic();
    await raw.join(topic);
    const within = 'a'.repeat(900);
    raw.send(['1', '2', topic, 'ping', { within }]);
    assert.deepEqual(await raw.nextJson(), ok('1', '2', topic, { within }));
    raw.send(['1', '3', topic, 'ping', { over: 'b'.repeat(2000) }]);
    assert.equal(await raw.closedWith(), 1009);
    assert.deepEqual(await raw.nothingFor(0), [], 'no reply to the oversized frame');

    const binary = await app.raw();
    binary.sendBinary(Buffer.alloc(1025));
    assert.equal(await binary.closedWith(), 1009, 'a binary frame over the limit too');
    await assertServing(bystander, 'the bystander after two oversized frames');
  });
});

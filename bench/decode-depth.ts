/**
 * Micro-benchmark of frame decoding (V1 and V2 text frames), to measure what
 * the nesting-limit scan costs on the decode path. Not part of `npm run
 * bench`: run it by hand after `npx tsc -p tsconfig.json`:
 *
 *   node dist/bench/decode-depth.js
 *
 * Prints the median ns/frame (Buffer input, as ws gives, and string input) of several rounds for a heartbeat, a typical
 * small chat frame, a 1 kB frame with a few nested levels, and a 16 kB frame.
 * Numbers are only comparable within one run on a quiet machine.
 */
import { V1JsonSerializer } from '../lib/serializers/v1-json.serializer.js';
import { V2JsonSerializer } from '../lib/serializers/v2-json.serializer.js';

const v1 = new V1JsonSerializer();
const v2 = new V2JsonSerializer();

const chat = { body: 'hello there, how is everyone doing today?', user: 'alice', at: 1716200000000 };
const nested = {
  user: { id: 42, name: 'alice', roles: ['admin', 'editor'], profile: { city: 'Lyon', tz: 'Europe/Paris' } },
  items: Array.from({ length: 12 }, (_, i) => ({ id: i, title: `item number ${i}`, tags: ['a', 'b'], meta: { ok: true } })),
};
const large = { rows: Array.from({ length: 200 }, (_, i) => ({ id: i, text: `row ${i} with "quotes" and \\ slashes`, n: i * 3.5 })) };

const cases: Array<{ name: string; v2: string; v1: string }> = [
  { name: 'heartbeat', ...frames(null, 'phoenix', 'heartbeat', {}) },
  { name: 'chat', ...frames('3', 'room:lobby', 'new_msg', chat) },
  { name: '1kB nested', ...frames('3', 'room:lobby', 'update', nested) },
  { name: '16kB', ...frames('3', 'room:lobby', 'bulk', large) },
];

function frames(joinRef: string | null, topic: string, event: string, payload: unknown): { v2: string; v1: string } {
  return {
    v2: JSON.stringify([joinRef, '7', topic, event, payload]),
    v1: JSON.stringify({ topic, event, payload, ref: '7', join_ref: joinRef }),
  };
}

function measure(decode: () => unknown, iterations: number): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) decode();
  return Number(process.hrtime.bigint() - started) / iterations;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const ROUNDS = 9;
for (const c of cases) {
  const iterations = Math.max(2_000, Math.floor(4_000_000 / c.v2.length));
  for (const [label, serializer, data] of [
    ['V2 buffer', v2, Buffer.from(c.v2)],
    ['V2 string', v2, c.v2],
    ['V1 buffer', v1, Buffer.from(c.v1)],
  ] as const) {
    // ws hands text frames over as Buffers; the long-poll transport and tests may pass strings.
    const run = (): unknown => serializer.decode(data, false);
    measure(run, iterations); // warm-up
    const samples = Array.from({ length: ROUNDS }, () => measure(run, iterations));
    console.log(`${label} ${c.name.padEnd(11)} ${String(data.length).padStart(6)} chars  ${median(samples).toFixed(0).padStart(7)} ns/frame`);
  }
}

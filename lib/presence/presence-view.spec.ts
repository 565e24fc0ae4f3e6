import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Presence as ClientPresence } from 'phoenix';
import { groupEntries, PresenceView, type Entry } from './presence-view.js';
import type { Presences } from './presence.types.js';

let refs = 0;
function entry(key: string, stamp: number, topic = 'room:1', fields: Record<string, unknown> = {}): Entry {
  return { topic, key, meta: Object.freeze({ ...fields, phx_ref: `r${++refs}` }), stamp };
}

function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** `{key: [refs]}`, keys sorted: what a client shows, compared without key order. */
function refsOf(presences: Presences): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null);
  for (const key of Object.keys(presences).sort()) out[key] = presences[key]!.metas.map((m) => m.phx_ref);
  return out;
}

describe('PresenceView', () => {
  it('lists a key with several metas in tracking order, whatever the order they arrived in', () => {
    const view = new PresenceView();
    const late = entry('u1', 30);
    const early = entry('u1', 10);
    const middle = entry('u1', 20);
    view.add(late);
    view.add(early);
    view.add(middle);
    assert.deepEqual(plain(refsOf(view.list('room:1'))), { u1: [early.meta.phx_ref, middle.meta.phx_ref, late.meta.phx_ref] });
    assert.equal(view.size, 3);
  });

  it('reports a batch as joins and leaves per topic, and a meta that joins and leaves within one batch in neither', () => {
    const view = new PresenceView();
    const a = entry('a', 1);
    const b = entry('b', 2, 'room:2');
    const brief = entry('brief', 3);
    view.add(a);
    view.add(b);
    view.add(brief);
    view.remove(brief);
    const changes = view.takeChanges();
    assert.deepEqual([...changes.keys()], ['room:1', 'room:2']);
    assert.deepEqual([...changes.get('room:1')!.joins.keys()], [a.meta.phx_ref]);
    assert.equal(changes.get('room:1')!.leaves.size, 0);
    assert.equal(view.hasChanges, false, 'taken');

    // Gone and back within one batch (a node re-synced): clients never saw it go.
    view.remove(a);
    view.add(a);
    const again = view.takeChanges().get('room:1')!;
    assert.equal(again.joins.size + again.leaves.size, 0);
  });

  it('removes only the entry it was given, and says whether it was there', () => {
    const view = new PresenceView();
    const a = entry('a', 1);
    view.add(a);
    assert.equal(view.remove(entry('a', 1)), false, 'another entry with the same key');
    assert.equal(view.remove(a), true);
    assert.equal(view.remove(a), false);
    assert.deepEqual(plain(view.list('room:1')), {});
    assert.equal(view.get('room:1', 'a'), null);
  });

  it('groups entries by key into null-prototype records, so __proto__ is an ordinary key', () => {
    const grouped = groupEntries([entry('__proto__', 2), entry('x', 1), entry('__proto__', 1)]);
    assert.equal(Object.getPrototypeOf(grouped), null);
    assert.deepEqual(Object.keys(grouped), ['__proto__', 'x']);
    assert.equal(grouped['__proto__']!.metas.length, 2);
    assert.ok(grouped['__proto__']!.metas[0]!.phx_ref > '', 'a real entry, not the prototype');
    assert.ok(Number(grouped['__proto__']!.metas[0]!.phx_ref.slice(1)) > Number(grouped['__proto__']!.metas[1]!.phx_ref.slice(1)), 'sorted by stamp');
  });

  it('keeps a phoenix.js client exact: any adds and removes, reported in any batches, applied with syncDiff, equal the list (property)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), key: fc.constantFrom('a', 'b', 'c', '__proto__', '1'), topic: fc.constantFrom('t1', 't2'), stamp: fc.nat(50) }),
      fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
      // A removed entry coming back (a node's replica dropped, then restored by its state).
      fc.record({ kind: fc.constant('readd' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('flush' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const view = new PresenceView();
        const live: Entry[] = [];
        const removed: Entry[] = [];
        const clients: Record<string, any> = { t1: {}, t2: {} };
        const flush = (): void => {
          for (const [topic, changes] of view.takeChanges()) {
            const diff = plain({ joins: groupEntries(changes.joins.values()), leaves: groupEntries(changes.leaves.values()) });
            clients[topic] = ClientPresence.syncDiff(clients[topic], diff);
          }
          for (const topic of ['t1', 't2']) {
            const client: Record<string, string[]> = Object.create(null);
            for (const key of Object.keys(clients[topic]).sort()) {
              client[key] = clients[topic][key].metas.map((m: { phx_ref: string }) => m.phx_ref).sort();
            }
            const server = refsOf(view.list(topic));
            for (const key of Object.keys(server)) server[key]!.sort();
            assert.deepEqual(client, server, topic);
          }
        };
        for (const step of ops) {
          if (step.kind === 'add') {
            const added = entry(step.key, step.stamp, step.topic);
            live.push(added);
            view.add(added);
          } else if (step.kind === 'remove' && live.length > 0) {
            const [gone] = live.splice(step.pick % live.length, 1);
            view.remove(gone!);
            removed.push(gone!);
          } else if (step.kind === 'readd' && removed.length > 0) {
            const [back] = removed.splice(step.pick % removed.length, 1);
            view.add(back!);
            live.push(back!);
          } else if (step.kind === 'flush') flush();
        }
        flush();
        assert.equal(view.size, live.length);
      }),
      { numRuns: 300 },
    );
  });
});

/**
 * The faults run's definition of "should receive" and of the fault windows
 * (bench/soak/faults-analysis.ts), on hand-made records: the table in
 * bench/README.md is only as true as this rule.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeFaults, inFaultWindow, shouldReceive, type FaultWindows } from '../../bench/soak/faults-analysis.js';
import { KEY_SPACE, type FaultsWorkerResult, type MembershipRecord, type PublishRecord } from '../../bench/soak/faults-data.js';

const GRACE = 2000;
const windows: FaultWindows = { kill: { node: 2, at: 20_000 }, redis: { down: 35_000, recovered: 38_500 }, graceMs: GRACE };

function message(seq: number, tSend: number, status: PublishRecord['status'] = 'ok', topic = 'chat:t1'): PublishRecord {
  return { key: 1 * KEY_SPACE + seq, topic, node: 0, tSend, tAck: tSend + 5, status };
}

function membership(node: number, tJoin: number, tEnd: number, received: number[] = []): MembershipRecord {
  return { client: 2, topic: 'chat:t1', node, tJoin, tEnd, end: 'left', received };
}

function worker(publishes: PublishRecord[], memberships: MembershipRecord[], duplicates = 0): FaultsWorkerResult {
  return {
    publishes,
    memberships,
    reconnects: [],
    duplicates,
    duplicateSamples: [],
    received: memberships.reduce((sum, m) => sum + m.received.length, 0),
    latency: { sparse: [], maxUs: 0 },
    joinsRefused: 0,
    connectFailures: 0,
    unexpectedChannelEnds: 0,
    connections: 1,
    cpuUs: 0,
    wallMs: 1,
  };
}

describe('faults analysis', () => {
  it('a subscriber should receive an ok message sent after its join and answered at least the grace period before its leave', () => {
    const m = membership(0, 1000, 10_000);
    const due = shouldReceive(m, [message(1, 999), message(2, 1000), message(3, 7000), message(4, 7996), message(5, 8000, 'error'), message(6, 5000, 'none')], windows);
    // 999: sent before the join; 7996 + 5 + 2000 > 10000: too close to the leave; error / none: never sent.
    assert.deepEqual(
      due.map((m) => m.key % KEY_SPACE),
      [2, 3],
    );
  });

  it('a subscriber on the killed node should receive nothing answered within the grace period before the kill', () => {
    const onVictim = membership(2, 1000, 30_000);
    const due = shouldReceive(onVictim, [message(1, 10_000), message(2, 17_995), message(3, 17_996), message(4, 19_000)], windows);
    // 17995 + 5 + 2000 = 20000: just in; 17996: out.
    assert.deepEqual(
      due.map((m) => m.key % KEY_SPACE),
      [1, 2],
    );
  });

  it('a message counts in a fault window when it was in flight within the grace period of the kill or of the Redis outage', () => {
    assert.equal(inFaultWindow(message(1, 10_000), windows), false);
    assert.equal(inFaultWindow(message(2, 17_990), windows), false, 'answered 5 ms before the kill window');
    assert.equal(inFaultWindow(message(3, 18_000), windows), true);
    assert.equal(inFaultWindow(message(4, 21_999), windows), true);
    assert.equal(inFaultWindow(message(5, 22_001), windows), false);
    assert.equal(inFaultWindow(message(6, 33_000), windows), true, 'answered within the grace period before Redis stopped');
    assert.equal(inFaultWindow(message(7, 40_499), windows), true, 'sent within the grace period after every PubSub was back');
    assert.equal(inFaultWindow(message(8, 40_501), windows), false);
    assert.equal(inFaultWindow(message(9, 60_000), { ...windows, redis: { down: 35_000, recovered: null } }), true, 'a PubSub that never came back leaves the window open');
  });

  it('counts deliveries, losses in and out of the windows and the lowest ratio per node; the killed node is not a survivor', () => {
    const publishes = [message(1, 5000), message(2, 6000), message(3, 36_000), message(4, 50_000)];
    const complete = membership(0, 1000, 60_000, [1 * KEY_SPACE + 1, 1 * KEY_SPACE + 2, 1 * KEY_SPACE + 4]);
    const missing = membership(1, 1000, 60_000, [1 * KEY_SPACE + 1, 1 * KEY_SPACE + 3]);
    const victim = membership(2, 1000, 20_000, []);
    const analysis = analyzeFaults([worker(publishes, [complete, missing, victim], 0)], 3, windows);
    assert.deepEqual(analysis.rows[0], { node: 0, survived: true, memberships: 1, steady: { should: 3, delivered: 3, lost: 0 }, inWindows: { should: 1, delivered: 0, lost: 1 }, minRatio: 1 });
    assert.deepEqual(analysis.rows[1], { node: 1, survived: true, memberships: 1, steady: { should: 3, delivered: 1, lost: 2 }, inWindows: { should: 1, delivered: 1, lost: 0 }, minRatio: 1 / 3 });
    assert.deepEqual(analysis.rows[2]!.steady, { should: 2, delivered: 0, lost: 2 });
    assert.equal(analysis.rows[2]!.survived, false);
    assert.deepEqual(analysis.survivors.steady, { should: 6, delivered: 4, lost: 2 }, 'the victim is left out of the survivors');
    assert.equal(analysis.survivors.minRatio, 1 / 3);
    assert.deepEqual(analysis.publishes, { ok: 4, refused: 0, unanswered: 0 });
  });
});

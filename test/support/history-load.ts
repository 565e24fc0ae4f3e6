/**
 * For the history drop tests: a publisher at a steady rate on the server
 * side, and a phoenix client channel through `withHistory` that records
 * what the app is given and every frame the socket received.
 */
import type { Channel, Socket } from 'phoenix';
import { withHistory } from '../../lib/client/index.js';
import type { ChannelsEndpoint } from '../../lib/index.js';
import { sleep } from './phoenix-helpers.js';

export interface Publishing {
  /** Broadcasts the PubSub accepted so far (`broadcast` resolved). */
  readonly sent: number;
  /** Broadcasts refused (`broadcast` rejected). */
  readonly refused: number;
  /** Resolves when the run is over and every broadcast settled. */
  readonly done: Promise<void>;
  /** Milliseconds since the start. */
  elapsed(): number;
}

/**
 * Broadcasts `msg` {i} on `topic` at `perSecond` for `durationMs`, i counting
 * from 0 in the order of the calls; a refused broadcast is not counted as
 * sent (its i is reused).
 */
export function publishSteadily(endpoint: ChannelsEndpoint, topic: string, perSecond: number, durationMs: number): Publishing {
  const startedAt = performance.now();
  let issued = 0;
  let sent = 0;
  let refused = 0;
  const pending: Promise<void>[] = [];
  const done = (async () => {
    for (;;) {
      const elapsed = performance.now() - startedAt;
      const due = Math.min(Math.floor((elapsed * perSecond) / 1000), Math.floor((durationMs * perSecond) / 1000));
      while (issued < due) {
        const i = issued++;
        pending.push(
          endpoint.broadcast(topic, 'msg', { i }).then(
            () => {
              sent++;
            },
            () => {
              refused++;
            },
          ),
        );
      }
      if (elapsed >= durationMs) break;
      await sleep(5);
    }
    await Promise.all(pending);
  })();
  return {
    get sent() {
      return sent;
    },
    get refused() {
      return refused;
    },
    done,
    elapsed: () => performance.now() - startedAt,
  };
}

export interface Receiving {
  readonly channel: Channel;
  /** `msg` payloads' i, in the order the app was given them. */
  readonly received: number[];
  /** `history_gap` payloads the app was given. */
  readonly gaps: Array<{ since: string | null; epoch: string }>;
  /** Frames on the topic carrying a position, as the socket received them (duplicates included). */
  readonly positions: string[];
  /** Joins sent for the topic (the first and every rejoin). */
  readonly joins: number;
}

/** Joins `topic` through `withHistory` and records; resolves once joined. */
export async function receiveWithHistory(socket: Socket, topic: string): Promise<Receiving> {
  const channel = withHistory(socket, topic) as unknown as Channel;
  const received: number[] = [];
  const gaps: Array<{ since: string | null; epoch: string }> = [];
  const positions: string[] = [];
  let joins = 0;
  channel.on('msg', (payload: { i: number }) => {
    received.push(payload.i);
  });
  channel.on('history_gap', (payload) => {
    gaps.push(payload);
  });
  socket.onMessage((raw) => {
    const message = raw as { topic: string; event: string; ref: string | null };
    if (message.topic === topic && message.event === 'msg' && message.ref !== null) positions.push(message.ref);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no join reply for ${topic} within 5000ms`)), 5000);
    channel
      .join()
      .receive('ok', () => {
        joins++;
        clearTimeout(timer);
        resolve();
      })
      .receive('error', (response) => {
        clearTimeout(timer);
        reject(new Error(`join of ${topic} refused: ${JSON.stringify(response)}`));
      });
  });
  return {
    channel,
    received,
    gaps,
    positions,
    get joins() {
      return joins;
    },
  };
}

/** Sent, delivered, duplicates and order, for assertions and the test's diagnostic line. */
export interface DeliveryReport {
  readonly sent: number;
  readonly delivered: number;
  /** Frames with a position the socket had already received (dropped by withHistory). */
  readonly duplicateFrames: number;
  /** Deliveries to the app of an i it already had. */
  readonly duplicates: number;
  /** True when the app got 0, 1, … sent - 1 in that order. */
  readonly inOrder: boolean;
  readonly joins: number;
}

export function report(sent: number, receiving: Receiving): DeliveryReport {
  const seen = new Set<number>();
  let duplicates = 0;
  for (const i of receiving.received) {
    if (seen.has(i)) duplicates++;
    seen.add(i);
  }
  const frames = new Set(receiving.positions);
  return {
    sent,
    delivered: seen.size,
    duplicateFrames: receiving.positions.length - frames.size,
    duplicates,
    inOrder: receiving.received.length === sent && receiving.received.every((i, index) => i === index),
    joins: receiving.joins,
  };
}

/**
 * What the faults run's load workers record and the runner analyses
 * (faults-worker.ts → faults.ts). Times are epoch milliseconds from
 * `performance.timeOrigin + performance.now()`, comparable across the
 * processes of one machine.
 *
 * A message is identified by `key = client × 1,000,000 + seq`: each client
 * numbers its own messages, and the channel stamps the sender (`from`) from
 * the connection's `user` assign, so nobody can send under another's name.
 */

export const KEY_SPACE = 1_000_000;

export interface FaultsWorkerStart {
  cmd: 'start';
  /** Ports of the nodes, in node order; a client tries its preferred one first, then the next. */
  ports: number[];
  /** This worker's clients: `first` to `first + count - 1`. */
  first: number;
  count: number;
  topics: number;
  topicsPerClient: number;
  seed: number;
  /** When clients stop chatting, leave and close (epoch ms). */
  until: number;
  /** Clients start spread over this long. */
  rampMs: number;
  /** How long a client stays connected between two planned reconnects. */
  connectedMs: readonly [number, number];
  /** Pause between two messages of one client. */
  publishEveryMs: readonly [number, number];
  /** Pause between a planned disconnect and the reconnect. */
  pauseMs: readonly [number, number];
}

/** A message a client sent and what the server answered. */
export interface PublishRecord {
  key: number;
  topic: string;
  /** Index of the node the publisher was connected to. */
  node: number;
  tSend: number;
  /** When the reply came (or the connection closed without one). */
  tAck: number;
  /** 'ok', 'error' (the PubSub refused: Redis down), or 'none' (no reply: the connection went). */
  status: 'ok' | 'error' | 'none';
}

/** One client joined to one topic on one node, from its join reply to its leave (or drop). */
export interface MembershipRecord {
  client: number;
  topic: string;
  node: number;
  /** When the ok reply to the join arrived. */
  tJoin: number;
  /** When the client sent phx_leave, or saw its connection or channel end. */
  tEnd: number;
  end: 'left' | 'dropped' | 'channel-ended';
  /** Keys of the `msg` broadcasts it received, in order. */
  received: number[];
}

/** A connection the client did not close itself, and how long until it was back on every topic. */
export interface ReconnectRecord {
  client: number;
  fromNode: number;
  tDrop: number;
  /** When the last of its joins on the new connection was answered ok; null if it never was before the end. */
  tBack: number | null;
  toNode: number | null;
}

export interface FaultsWorkerResult {
  publishes: PublishRecord[];
  memberships: MembershipRecord[];
  reconnects: ReconnectRecord[];
  /** Broadcasts a client got twice (the same key). */
  duplicates: number;
  duplicateSamples: string[];
  received: number;
  /** Delivery latency (the sender's send to the receipt) of every receipt, as `Histogram.toSparse()` and its max. */
  latency: { sparse: number[]; maxUs: number };
  joinsRefused: number;
  connectFailures: number;
  /** phx_error / phx_close the client did not ask for. */
  unexpectedChannelEnds: number;
  /** Connections opened (first connects and reconnects). */
  connections: number;
  cpuUs: number;
  wallMs: number;
}

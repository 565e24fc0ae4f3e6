import { Injectable } from '@nestjs/common';
import { Channel, ChannelsEndpoint, HandleIn, type ChannelSocket } from '../../lib/index.js';
import { emitSteadily } from './bench-hooks.js';
import { BenchChannel } from './bench.channel.js';

/**
 * The bench channel's work (`ping`, `blast`), plus `stream` {n, perSecond}:
 * the server broadcasts n × `msg` {i} on the topic at that rate, from a timer
 * (not from the channel, so the publisher's own connection may drop), and
 * replies at once. Two classes share it: one keeps history, one does not.
 */
@Injectable()
class StreamingChannel extends BenchChannel {
  constructor(private readonly endpoint: ChannelsEndpoint) {
    super();
  }

  @HandleIn('stream')
  stream(payload: { n?: number; perSecond?: number }, socket: ChannelSocket) {
    const topic = socket.topic;
    // Through the endpoint, not the channel: the publisher's own connection may drop meanwhile.
    return emitSteadily(payload?.n, payload?.perSecond, (i) => {
      this.endpoint.broadcast(topic, 'msg', { i }).catch(() => undefined);
    });
  }
}

/** `hbench:*`: the bench channel with history (room for 10,000 broadcasts, one minute). */
@Channel('hbench:*', { history: { size: 10_000, ttlMs: 60_000 }, logJoin: false, logHandleIn: false })
export class KeptBenchChannel extends StreamingChannel {}

/** `pbench:*`: the same channel without history. */
@Channel('pbench:*', { logJoin: false, logHandleIn: false })
export class PlainBenchChannel extends StreamingChannel {}

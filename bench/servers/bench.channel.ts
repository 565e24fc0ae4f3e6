import { Channel, HandleIn, Join, reply, type ChannelSocket } from '../../lib/index.js';

/**
 * The bench channel, `bench:*`: join ok; `ping` replies with its payload;
 * `blast` {n, size} broadcasts n × `msg` {i, body} to the topic, then replies ok.
 */
@Channel('bench:*', { logJoin: false, logHandleIn: false })
export class BenchChannel {
  @Join()
  join() {
    return undefined;
  }

  @HandleIn('ping')
  ping(payload: unknown) {
    return payload;
  }

  @HandleIn('blast')
  async blast(payload: { n?: number; size?: number }, socket: ChannelSocket) {
    const n = Math.min(Math.max(0, Number(payload?.n) | 0), 10_000_000);
    const size = Math.min(Math.max(0, Number(payload?.size) | 0), 16 * 1024 * 1024);
    const body = 'x'.repeat(size);
    for (let i = 0; i < n; i++) await socket.broadcast('msg', { i, body });
    return reply('ok', { n });
  }
}

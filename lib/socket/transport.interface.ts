import type { SharedFrame } from '../pubsub/fastlane.js';
import type { OutFrame } from '../serializers/serializer.interface.js';

/**
 * The boundary every transport sits on: WebSocket, long-poll and the
 * in-process test transport. The connection writes frames through it
 * and closes it; the transport feeds the connection with
 * `SocketConnection.receive` and tells it `transportClosed`.
 */
export interface Transport {
  /** `'websocket'`, `'longpoll'` or `'test'`. */
  readonly name: string;
  /** A peer for log lines, e.g. `127.0.0.1:51234`. */
  readonly peer: string;
  /**
   * True when the client sends heartbeats, so silence past `heartbeatTimeout`
   * ends the connection. Long-poll clients send none; that transport ends an
   * idle session itself.
   */
  readonly expectsHeartbeats: boolean;
  /** Writes one frame; never throws; dropped once the transport is closing. */
  send(frame: OutFrame): void;
  /** Writes a fastlaned broadcast shared with other connections; may keep its ready-to-write form in a `FrameSlot` of its own. */
  sendShared(frame: SharedFrame): void;
  /** Closes with a WebSocket close code; `transportClosed` follows. */
  close(code: number, reason: string): void;
}

import type { SharedFrame } from '../pubsub/fastlane.js';
import type { OutFrame } from '../serializers/serializer.interface.js';
import type { SocketConnection } from '../socket/socket-connection.js';
import type { Transport } from '../socket/transport.interface.js';
import type { Inbox } from './inbox.js';
import type { ReceivedFrame } from './pass-through.serializer.js';

/**
 * The in-process transport: the test plays the client. Frames from the
 * server land in the test's inbox as objects; no socket, no port.
 */
export class TestTransport implements Transport {
  readonly name = 'test';
  readonly peer = 'test-client';
  readonly expectsHeartbeats = true;
  connection: SocketConnection | null = null;
  closeCode: number | null = null;

  constructor(private readonly inbox: Inbox<ReceivedFrame>) {}

  send(frame: OutFrame): void {
    if (this.closeCode === null) this.inbox.push(frame as ReceivedFrame);
  }

  sendShared(frame: SharedFrame): void {
    if (this.closeCode === null) this.inbox.push(frame.data as ReceivedFrame);
  }

  close(code: number, _reason: string): void {
    if (this.closeCode !== null) return;
    this.closeCode = code;
    void this.connection?.transportClosed();
  }
}

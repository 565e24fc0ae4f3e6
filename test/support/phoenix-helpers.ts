/** Promise helpers around the `phoenix` client, each wait bounded and named. */
import type { Channel, Push, Socket } from 'phoenix';

let topicCounter = 0;

/** A topic no other test uses. */
export function uniqueTopic(prefix = 'room'): string {
  return `${prefix}:t${process.pid}-${++topicCounter}`;
}

/** Resolves with the status and response of a push (join or event), or rejects on timeout. */
export function outcome(push: Push, timeoutMs = 3000, what = 'a reply'): Promise<{ status: string; response: any }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply within ${timeoutMs}ms to ${what}`)), timeoutMs);
    const settle = (status: string) => (response: any) => {
      clearTimeout(timer);
      resolve({ status, response });
    };
    for (const status of ['ok', 'error', 'timeout'] as const) push.receive(status, settle(status));
  });
}

/** Joins and resolves with the ok response; rejects with the error response. */
export async function joined(channel: Channel, timeoutMs = 3000): Promise<any> {
  const { status, response } = await outcome(channel.join(), timeoutMs, `joining ${channel.topic}`);
  if (status !== 'ok') throw Object.assign(new Error(`join of ${channel.topic} answered ${status}: ${JSON.stringify(response)}`), { response });
  return response;
}

/** Collects every payload of `event` on a channel. */
export function collect(channel: Channel, event: string): any[] {
  const seen: any[] = [];
  channel.on(event, (payload) => {
    seen.push(payload);
  });
  return seen;
}

/** Waits until `predicate` holds, polling; throws naming `what` after `timeoutMs`. */
export async function eventually(predicate: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting until ${what}`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves with the first payload of `event` on the channel. */
export function nextEvent(channel: Channel, event: string, timeoutMs = 3000): Promise<any> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' on ${channel.topic} within ${timeoutMs}ms`)), timeoutMs);
    const ref = channel.on(event, (payload) => {
      clearTimeout(timer);
      channel.off(event, ref);
      resolve(payload);
    });
  });
}

/** The join_ref phoenix.js uses for the channel's current join (not in @types/phoenix). */
export function joinRefOf(channel: Channel): string {
  return (channel as unknown as { joinRef(): string }).joinRef();
}

/** A decoded server frame as phoenix.js hands it to `Socket.onMessage`. */
export interface ClientFrame {
  join_ref: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: any;
}

/** Every frame the client receives (on `topic` only, if given), in arrival order, with the server's join_ref untouched. */
export function framesOf(socket: Socket, topic?: string): ClientFrame[] {
  const seen: ClientFrame[] = [];
  socket.onMessage((message) => {
    const frame = message as ClientFrame;
    if (topic === undefined || frame.topic === topic) seen.push(frame);
  });
  return seen;
}

/** The code of every close the client sees, in order. */
export function closeCodesOf(socket: Socket): number[] {
  const codes: number[] = [];
  socket.onClose((event) => {
    codes.push((event as unknown as { code: number }).code);
  });
  return codes;
}

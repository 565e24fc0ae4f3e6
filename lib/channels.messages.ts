/**
 * Words of developer-facing errors and log lines, built in one place so tests
 * and logs read the same.
 */

export const MESSAGES = {
  invalidResult: (where: string, accepted: string, got: unknown) =>
    `${where} returned an invalid result. Accepted: ${accepted}. Got: ${describe(got)}`,
  noHandleIn: (channel: string, event: string, topic: string) =>
    `${channel} has no @HandleIn('${event}') for an event on ${topic}; the channel crashes, as in Phoenix`,
  noHandleOut: (channel: string, event: string) =>
    `${channel} intercepts '${event}' but has no @HandleOut('${event}'); the channel crashes, as in Phoenix`,
  noHandleInfo: (channel: string, topic: string) =>
    `${channel} on ${topic} received a message but has no @HandleInfo; ignored`,
  crashed: (where: string, topic: string, event: string | null) =>
    `${where} crashed on ${topic}${event === null ? '' : ` (event '${event}')`}`,
  stoppedAbnormally: (channel: string, topic: string, reason: unknown) =>
    `${channel} on ${topic} stopped with reason ${describe(reason)}`,
  notJoined: (what: string) =>
    `${what} is only valid once the channel has joined; in @Join use socket.send(...) and do the work in @HandleInfo`,
  noRef: () => 'socket.ref() is only valid while handling a client message that carries a ref (inside a @HandleIn)',
  badPushPayload: (what: string, got: unknown) =>
    `${what}: the payload must be an object or binary (Buffer/Uint8Array), as PROTOCOL.md 2.3 requires; got ${describe(got)}`,
  handlerCutOff: (channel: string, topic: string, limitMs: number) =>
    `${channel} on ${topic}: the handler in flight did not finish within ${limitMs}ms (shutdownTimeout); terminate runs without waiting for it`,
  joinCutOff: (channel: string, topic: string, limitMs: number) =>
    `${channel} on ${topic}: the join did not finish within ${limitMs}ms (shutdownTimeout); a duplicate join replaces it`,
  refAfterEnd: (topic: string) => `SocketRef.reply on ${topic} after the channel ended; dropped`,
  malformed: (peer: string, reason: string) => `malformed frame from ${peer}: ${reason}; closing with 1011`,
  slowConsumer: (peer: string, bytes: number, limit: number) =>
    `closing slow consumer ${peer}: ${bytes} bytes unsent exceed maxBufferedBytes ${limit}`,
  longPollOverflow: (peer: string, messages: number, bytes: number, maxMessages: number, maxBytes: number) =>
    `ending the long-poll session of ${peer}: ${messages} frames (${bytes} bytes) wait for a poll, the limit is longpoll.maxBufferedMessages ${maxMessages} / maxBufferedBytes ${maxBytes}`,
  longPollUnsendable: (peer: string, what: string) =>
    `${what} frame for the long-poll session of ${peer} dropped: long-poll carries text frames only`,
  longPollSessionLimit: (path: string, limit: number) =>
    `refusing new long-poll sessions on ${path} with 503: the node holds ${limit} sessions (longpoll.maxSessions); logged once until one ends`,
  longPollBodyTooLarge: (peer: string, limit: number) =>
    `long-poll POST from ${peer} is over longpoll.maxBodySize (${limit} bytes); answered 400`,
  longPollBodyRead: (url: string | undefined) =>
    `long-poll POST on ${url}: the body was read before the long-poll transport saw it (a body parser ahead of ChannelsAdapter?); answered 400`,
  longPollBadBase64: (peer: string) => `long-poll POST from ${peer} has a line that is neither a JSON frame nor base64; answered 500`,
  originRefused: (origin: string | undefined, path: string) =>
    `origin of request ${origin} is not allowed on ${path} (checkOrigin); refusing with 403`,
};

/** A short, safe description of any value for a message. */
export function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  try {
    const json = JSON.stringify(value);
    if (json === undefined) return String(value);
    return json.length > 200 ? `${json.slice(0, 200)}…` : json;
  } catch {
    // cycles or BigInt: the constructor name is enough to say what arrived
    return `[${(value as object)?.constructor?.name ?? typeof value}]`;
  }
}

/** Shows keys containing `password` or `token` as [FILTERED] (PROTOCOL.md 5.8). */
export function filterParams(params: unknown): unknown {
  if (typeof params !== 'object' || params === null || params instanceof Uint8Array) return params;
  if (Array.isArray(params)) return params.map(filterParams);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    out[key] = /password|token/i.test(key) ? '[FILTERED]' : filterParams(value);
  }
  return out;
}

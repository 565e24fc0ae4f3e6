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
  serving: (count: number, patterns: string, websocketPath: string) =>
    `serving ${count} channel pattern(s) at ${websocketPath}: ${patterns}`,
  noChannels: (websocketPath: string) =>
    `no @Channel class serves ${websocketPath}, so every join gets "unmatched topic": ` +
    'add your channel classes to the providers of a module (e.g. providers: [RoomChannel])',
  adapterMissing: (websocketPath: string) =>
    `ChannelsAdapter is not installed, so nothing answers WebSocket upgrades at ${websocketPath} (clients get 404): ` +
    'call app.useWebSocketAdapter(new ChannelsAdapter(app)) before app.listen()',
  channelNotProvided: (channel: string, pattern: string) =>
    `${channel} has @Channel('${pattern}') but is not a provider of this app, so no join reaches it: ` +
    `add it to the providers of a module (e.g. providers: [${channel}])`,
  unmatchedJoin: (topic: string, mount: string, patterns: string) =>
    patterns === ''
      ? `ignoring join of unmatched topic "${clip(topic)}" on ${mount}: this mount serves no channel; ` +
        'add your @Channel classes to the providers of a module'
      : `ignoring join of unmatched topic "${clip(topic)}" on ${mount}: no pattern matches it (served: ${patterns}); ` +
        'a @Channel class for it must be in the providers of a module',
};

/** A client-chosen string cut to a length fit for a log line. */
function clip(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

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

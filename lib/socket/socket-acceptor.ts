/**
 * The connect step every transport shares: parse the
 * params, negotiate the serializer from `vsn`, run the socket handler's
 * `connect` (behind its guards, when it has any) and `id`, all within
 * `connectTimeout`. It answers accept (with the serializer and socket state)
 * or refuse with the HTTP status the transport answers: 403 when refused,
 * 503 when `connect` did not settle in time.
 */
import { Logger, type LogLevel } from '@nestjs/common';
import { parseCookie } from 'cookie';
import type { IncomingHttpHeaders } from 'node:http';
import qs from 'qs';
import { MESSAGES, describe, describeParams } from '../channels.messages.js';
import { Returned } from '../channel/results.js';
import type { ResolvedChannelsOptions } from '../interfaces/channels-module-options.interface.js';
import type { ConnectInfo, SocketHandler } from '../interfaces/socket-handler.interface.js';
import type { EnhancedCall } from '../registry/channel-definition.js';
import { negotiateSerializer } from '../serializers/negotiate.js';
import type { Serializer } from '../serializers/serializer.interface.js';
import { channels as telemetry, type ConnectEvent } from '../telemetry/telemetry.js';
import { SocketState } from './socket-state.js';

export type ConnectOutcome =
  | { readonly accepted: true; readonly serializer: Serializer; readonly state: SocketState }
  | { readonly accepted: false; readonly reason: string; readonly status: 403 | 503 };

/** The execution context's pattern for a socket handler's connect (`getPattern()`). */
export const CONNECT_PATTERN = 'connect';

const logger = new Logger('ChannelsSocket');

/** Query strings of only these characters hold nothing for `qs` to decode or nest: no `%`, `+`, brackets. */
const PLAIN_QUERY = /^[\w.~=&-]*$/;
const PARAMETER_LIMIT = 1000;

/**
 * Phoenix/Plug query parsing: nested keys with brackets, the last of repeated
 * keys wins. A plain query (`vsn=2.0.0&token=abc`, what clients send) is split
 * here, with the result `qs` gives for it (the spec beside this file checks
 * that on generated queries); anything else goes to `qs`.
 */
export function parseConnectParams(query: string): Record<string, any> {
  if (PLAIN_QUERY.test(query)) {
    const plain = parsePlainQuery(query);
    if (plain !== null) return plain;
  }
  return qs.parse(query, { duplicates: 'last', depth: 10, parameterLimit: PARAMETER_LIMIT, arrayLimit: 100 }) as Record<string, any>;
}

/** `key=value` pairs of a plain query, or null where `qs` must decide (an `Object.prototype` key, too many pairs). */
function parsePlainQuery(query: string): Record<string, string> | null {
  const params: Record<string, string> = {};
  if (query === '') return params;
  let start = 0;
  for (let count = 0; start <= query.length; count++) {
    if (count === PARAMETER_LIMIT) return null;
    let end = query.indexOf('&', start);
    if (end === -1) end = query.length;
    const eq = query.indexOf('=', start);
    const key = eq === -1 || eq > end ? query.slice(start, end) : query.slice(start, eq);
    if (key !== '') {
      // qs leaves out keys that name Object.prototype members; let it say which.
      if (key in Object.prototype) return null;
      params[key] = eq === -1 || eq > end ? '' : query.slice(eq + 1, end);
    }
    start = end + 1;
  }
  return params;
}

/** `connect` did not settle within `connectTimeout`. */
const TIMED_OUT: unique symbol = Symbol('TIMED_OUT');

const NO_COOKIES: Readonly<Record<string, string | undefined>> = Object.freeze(Object.create(null));

/** The `Cookie` header's cookies (`ConnectInfo.cookies`), parsed by the `cookie` package. */
export function parseCookies(headers: IncomingHttpHeaders): Readonly<Record<string, string | undefined>> {
  const header = headers.cookie;
  return header === undefined || header === '' ? NO_COOKIES : parseCookie(header);
}

export class SocketAcceptor {
  private readonly handlerName: string;

  /**
   * @param guarded the handler's `connect` as Nest calls it when guards (or
   *   other enhancers) apply to it; null calls `connect` directly.
   */
  constructor(
    private readonly options: ResolvedChannelsOptions,
    private readonly handler: SocketHandler | null,
    private readonly guarded: EnhancedCall | null = null,
  ) {
    this.handlerName = handler?.constructor.name ?? 'default socket';
  }

  async accept(params: Record<string, any>, info: ConnectInfo): Promise<ConnectOutcome> {
    const startedAt = performance.now();
    const negotiated = negotiateSerializer(params.vsn, this.options.serializers);
    if ('error' in negotiated) {
      logger.warn(`refusing connection to ${this.handlerName}: ${negotiated.message}`);
      this.publish(false, null, params, info, startedAt, null);
      return { accepted: false, reason: negotiated.message, status: 403 };
    }
    const state = new SocketState();
    if (this.handler !== null) {
      let verdict: unknown;
      try {
        verdict = await this.withinTimeout(this.connect(this.handler, params, state, info));
      } catch (error) {
        return this.refuse(`connect threw ${describe(error)}`, params, info, startedAt);
      }
      if (verdict === TIMED_OUT) {
        logger.error(MESSAGES.connectTimedOut(this.handlerName, this.options.connectTimeoutMs, info.peerData.address, info.transport));
        this.publish(false, null, params, info, startedAt, null);
        return { accepted: false, reason: 'connect timed out', status: 503 };
      }
      if (verdict !== true) return this.refuse(`connect returned ${describe(verdict)}`, params, info, startedAt);
      if (typeof this.handler.id === 'function') {
        let id: unknown;
        try {
          id = this.handler.id(state);
        } catch (error) {
          return this.refuse(`id threw ${describe(error)}`, params, info, startedAt);
        }
        if (id === undefined) id = null;
        if (id !== null && typeof id !== 'string') {
          return this.refuse(`id returned ${describe(id)}, expected a string or null`, params, info, startedAt);
        }
        state.id = id;
      }
    }
    this.log(`CONNECTED TO ${this.handlerName}`, negotiated.serializer, params, info, startedAt);
    this.publish(true, negotiated.serializer, params, info, startedAt, state.id);
    return { accepted: true, serializer: negotiated.serializer, state };
  }

  /** `connect`, behind its guards when it has any; what an exception filter answers stands for its verdict. */
  private async connect(handler: SocketHandler, params: Record<string, any>, state: SocketState, info: ConnectInfo): Promise<unknown> {
    if (this.guarded === null) return handler.connect(params, state, info);
    const outcome = await this.guarded(state, params, info, CONNECT_PATTERN);
    return outcome instanceof Returned ? outcome.value : outcome;
  }

  /** Resolves with what `connect` settles with, or `TIMED_OUT`; the late outcome of a timed-out connect is ignored. */
  private withinTimeout(connecting: Promise<unknown>): Promise<unknown> {
    const limitMs = this.options.connectTimeoutMs;
    if (limitMs === 0) return connecting;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve(TIMED_OUT), limitMs);
      timer.unref();
      connecting.then(
        (verdict) => {
          clearTimeout(timer);
          resolve(verdict);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  private refuse(why: string, params: Record<string, any>, info: ConnectInfo, startedAt: number): ConnectOutcome {
    logger.warn(`REFUSED CONNECTION TO ${this.handlerName} (${why}) from ${info.peerData.address}`);
    this.log(`REFUSED CONNECTION TO ${this.handlerName}`, null, params, info, startedAt);
    this.publish(false, null, params, info, startedAt, null);
    return { accepted: false, reason: why, status: 403 };
  }

  /** The `connect` telemetry event, built only when someone listens. */
  private publish(
    accepted: boolean,
    serializer: Serializer | null,
    params: Record<string, any>,
    info: ConnectInfo,
    startedAt: number,
    socketId: string | null,
  ): void {
    if (!telemetry.connect.hasSubscribers) return;
    const event: ConnectEvent = {
      durationMs: performance.now() - startedAt,
      result: accepted ? 'ok' : 'error',
      transport: info.transport,
      vsn: serializer?.vsn ?? null,
      handler: this.handlerName,
      socketId,
      params,
      info,
    };
    telemetry.connect.publish(event);
  }

  private log(
    head: string,
    serializer: Serializer | null,
    params: Record<string, any>,
    info: ConnectInfo,
    startedAt: number,
  ): void {
    const level: LogLevel | false = this.options.connectLogLevel;
    if (level === false || !Logger.isLevelEnabled(level)) return;
    const ms = (performance.now() - startedAt).toFixed(2);
    logger[level](
      `${head} in ${ms}ms\n  Transport: ${info.transport}\n  Serializer: ${serializer?.vsn ?? '-'}\n  Parameters: ${describeParams(params)}`,
    );
  }
}

/**
 * The connect step every transport shares (PROTOCOL.md 1.2 to 1.4): parse the
 * params, negotiate the serializer from `vsn`, run the socket handler's
 * `connect` and `id`. It answers accept (with the serializer and socket
 * state) or refuse; the transport turns a refusal into its own wire answer.
 */
import { Logger, type LogLevel } from '@nestjs/common';
import { parseCookie } from 'cookie';
import type { IncomingHttpHeaders } from 'node:http';
import qs from 'qs';
import { describe, describeParams } from '../channels.messages.js';
import type { ResolvedChannelsOptions } from '../interfaces/channels-module-options.interface.js';
import type { ConnectInfo, SocketHandler } from '../interfaces/socket-handler.interface.js';
import { negotiateSerializer } from '../serializers/negotiate.js';
import type { Serializer } from '../serializers/serializer.interface.js';
import { channels as telemetry, type ConnectEvent } from '../telemetry/telemetry.js';
import { SocketState } from './socket-state.js';

export type ConnectOutcome =
  | { readonly accepted: true; readonly serializer: Serializer; readonly state: SocketState }
  | { readonly accepted: false; readonly reason: string };

const logger = new Logger('ChannelsSocket');

/** Phoenix/Plug query parsing: nested keys with brackets, the last of repeated keys wins. */
export function parseConnectParams(query: string): Record<string, any> {
  return qs.parse(query, { duplicates: 'last', depth: 10, parameterLimit: 1000, arrayLimit: 100 }) as Record<string, any>;
}

const NO_COOKIES: Readonly<Record<string, string | undefined>> = Object.freeze(Object.create(null));

/** The `Cookie` header's cookies (`ConnectInfo.cookies`), parsed by the `cookie` package. */
export function parseCookies(headers: IncomingHttpHeaders): Readonly<Record<string, string | undefined>> {
  const header = headers.cookie;
  return header === undefined || header === '' ? NO_COOKIES : parseCookie(header);
}

export class SocketAcceptor {
  private readonly handlerName: string;

  constructor(
    private readonly options: ResolvedChannelsOptions,
    private readonly handler: SocketHandler | null,
  ) {
    this.handlerName = handler?.constructor.name ?? 'default socket';
  }

  async accept(params: Record<string, any>, info: ConnectInfo): Promise<ConnectOutcome> {
    const startedAt = performance.now();
    const negotiated = negotiateSerializer(params.vsn, this.options.serializers);
    if ('error' in negotiated) {
      logger.warn(`refusing connection to ${this.handlerName}: ${negotiated.message}`);
      this.publish(false, null, params, info, startedAt, null);
      return { accepted: false, reason: negotiated.message };
    }
    const state = new SocketState();
    if (this.handler !== null) {
      let verdict: unknown;
      try {
        verdict = await this.handler.connect(params, state, info);
      } catch (error) {
        return this.refuse(`connect threw ${describe(error)}`, params, info, startedAt);
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

  private refuse(why: string, params: Record<string, any>, info: ConnectInfo, startedAt: number): ConnectOutcome {
    logger.warn(`REFUSED CONNECTION TO ${this.handlerName} (${why}) from ${info.peerData.address}`);
    this.log(`REFUSED CONNECTION TO ${this.handlerName}`, null, params, info, startedAt);
    this.publish(false, null, params, info, startedAt, null);
    return { accepted: false, reason: why };
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

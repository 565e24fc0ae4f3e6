/**
 * The origin check (the `checkOrigin` option), and its default: a request
 * with no `Origin` passes; `true` accepts an Origin whose host equals the
 * request's `Host` host; a list accepts any matching entry, where a missing
 * scheme, host or port is a wildcard and `*.example.com` also matches
 * `example.com`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { CheckOrigin } from '../interfaces/channels-module-options.interface.js';

interface OriginRule {
  readonly scheme: string | null;
  readonly host: string | null;
  readonly wildcardHost: boolean;
  readonly port: string | null;
}

const DEFAULT_PORTS: Record<string, string> = { http: '80', https: '443', ws: '80', wss: '443' };

function parseRule(entry: string): OriginRule {
  const match = /^(?:([a-z][a-z0-9+.-]*):)?(?:\/\/)?([^/:]*)(?::(\d+))?/i.exec(entry.trim());
  const scheme = match?.[1]?.toLowerCase() ?? null;
  let host = match?.[2]?.toLowerCase() || null;
  const wildcardHost = host?.startsWith('*.') ?? false;
  if (wildcardHost) host = host!.slice(2);
  const port = match?.[3] ?? (scheme !== null ? (DEFAULT_PORTS[scheme] ?? null) : null);
  return { scheme, host, wildcardHost, port };
}

function portOf(url: URL): string {
  return url.port || DEFAULT_PORTS[url.protocol.slice(0, -1)] || '';
}

/**
 * The origin a request claims. Handshakes of WebSocket drafts before RFC
 * 6455 (`Sec-WebSocket-Version: 8`, which ws still accepts) carry it in
 * `Sec-WebSocket-Origin` instead of `Origin`: the check must see either, or
 * such a request would pass as having no origin at all.
 */
export function originOf(headers: IncomingHttpHeaders): string | undefined {
  const origin = headers.origin ?? headers['sec-websocket-origin'];
  return Array.isArray(origin) ? origin[0] : origin;
}

/** Builds the check once per mount; the function answers per request. */
export function compileOriginCheck(setting: CheckOrigin): (origin: string | undefined, requestHost: string | undefined) => boolean {
  if (setting === false) return () => true;
  if (typeof setting === 'function') {
    return (origin) => {
      if (origin === undefined) return true;
      const url = parseOrigin(origin);
      return url !== null && setting(url) === true;
    };
  }
  if (setting === true) {
    return (origin, requestHost) => {
      if (origin === undefined) return true;
      const url = parseOrigin(origin);
      if (url === null || requestHost === undefined) return false;
      return url.hostname.toLowerCase() === hostWithoutPort(requestHost);
    };
  }
  const rules = setting.map(parseRule);
  return (origin) => {
    if (origin === undefined) return true;
    const url = parseOrigin(origin);
    if (url === null) return false;
    const scheme = url.protocol.slice(0, -1).toLowerCase();
    const host = url.hostname.toLowerCase();
    const port = portOf(url);
    return rules.some(
      (rule) =>
        (rule.scheme === null || rule.scheme === scheme) &&
        (rule.port === null || rule.port === port) &&
        (rule.host === null ||
          rule.host === host ||
          (rule.wildcardHost && host.endsWith(`.${rule.host}`))),
    );
  };
}

function parseOrigin(origin: string): URL | null {
  try {
    const url = new URL(origin);
    return url.hostname === '' ? null : url;
  } catch {
    // "null" and other host-less origins fail every check but `false`
    return null;
  }
}

function hostWithoutPort(host: string): string {
  const value = host.toLowerCase();
  if (value.startsWith('[')) return value.slice(0, value.indexOf(']') + 1);
  const colon = value.lastIndexOf(':');
  return colon === -1 ? value : value.slice(0, colon);
}

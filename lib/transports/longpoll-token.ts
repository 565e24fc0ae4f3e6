/**
 * Long-poll session tokens: `lp1.<node>.<session id>.<signature>`, the
 * last three base64url. The session id is 16 random bytes; the signature is an
 * HMAC-SHA256 over the mount path, the node and the id, with a secret made
 * once per process. Only the node that made a token can check it, and only
 * that node holds the session: another node reads the node name out of the
 * token to route the request there, and the owner checks the signature.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const SECRET = randomBytes(32);
const VERSION = 'lp1';
const SESSION_ID = /^[A-Za-z0-9_-]{22}$/;
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;

export interface SessionAddress {
  /** The token as the client sent it. */
  readonly token: string;
  /** The node (PubSub node name) that holds the session. */
  readonly node: string;
  readonly sessionId: string;
  readonly signature: string;
}

function sign(mountPath: string, node: string, sessionId: string): Buffer {
  return createHmac('sha256', SECRET).update(`${mountPath}\n${node}\n${sessionId}`).digest();
}

/** A new, unguessable session id. */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

export function signToken(mountPath: string, node: string, sessionId: string): string {
  return `${VERSION}.${Buffer.from(node).toString('base64url')}.${sessionId}.${sign(mountPath, node, sessionId).toString('base64url')}`;
}

/** The address a token names, unchecked (any node may read it to route the request); null when it is not one of ours. */
export function readToken(token: string): SessionAddress | null {
  // A user param called `token` (often a JWT) shares the query key with the session token; it never reads as one.
  if (token.length > 1024) return null;
  const parts = token.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION || !SESSION_ID.test(parts[2]!) || !SIGNATURE.test(parts[3]!)) return null;
  const node = Buffer.from(parts[1]!, 'base64url').toString();
  return node === '' ? null : { token, node, sessionId: parts[2]!, signature: parts[3]! };
}

/** True when this process signed `token` for this mount; constant time in the signature. */
export function verifyToken(mountPath: string, address: SessionAddress): boolean {
  return timingSafeEqual(Buffer.from(address.signature, 'base64url'), sign(mountPath, address.node, address.sessionId));
}

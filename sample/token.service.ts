import { Injectable } from '@nestjs/common';
import { JwtService, TokenExpiredError } from '@nestjs/jwt';

/** A user name: 1 to 32 letters, digits or `_` (the page's form asks for the same). */
export const USER_NAME = /^\w{1,32}$/;

/**
 * Seconds a connect token is good for. It is only checked when a connection
 * opens (an open connection stays open), so it needs to live just long enough
 * to connect and reconnect; a leaked one is soon worthless.
 */
export const TOKEN_TTL_SECONDS = 300;

/** What the tokens are for: a token signed for another purpose of the app is not a connect token. */
export const TOKEN_AUDIENCE = 'chat-socket';

export interface IssuedToken {
  readonly token: string;
  /** When the token stops being accepted, in ms since the epoch. */
  readonly expiresAt: number;
}

/** The verdict on a token: whose it is, or why it is refused. */
export type TokenVerdict =
  | { readonly valid: true; readonly user: string; readonly expiresAt: number }
  | { readonly valid: false; readonly reason: 'missing' | 'expired' | 'invalid'; readonly message: string };

/**
 * Signed, expiring connect tokens. The sample hands one to whoever names a
 * user; a real app authenticates the HTTP request first (its session cookie,
 * its login) and signs the token for the user it found.
 */
@Injectable()
export class TokenService {
  constructor(private readonly jwt: JwtService) {}

  async issue(user: string): Promise<IssuedToken> {
    const token = await this.jwt.signAsync({ sub: user });
    const { exp } = this.jwt.decode<{ exp: number }>(token);
    return { token, expiresAt: exp * 1000 };
  }

  /** Checks signature, audience and expiry; never throws. */
  async verify(token: unknown): Promise<TokenVerdict> {
    if (typeof token !== 'string' || token === '') return { valid: false, reason: 'missing', message: 'no token' };
    try {
      const claims = await this.jwt.verifyAsync<{ sub?: unknown; exp: number }>(token);
      if (typeof claims.sub !== 'string' || !USER_NAME.test(claims.sub)) {
        return { valid: false, reason: 'invalid', message: 'no valid user in the token' };
      }
      return { valid: true, user: claims.sub, expiresAt: claims.exp * 1000 };
    } catch (error) {
      if (error instanceof TokenExpiredError) return { valid: false, reason: 'expired', message: 'expired' };
      // jsonwebtoken's own words: "invalid signature", "jwt malformed", "jwt audience invalid. expected: …"
      return { valid: false, reason: 'invalid', message: (error as Error).message };
    }
  }
}

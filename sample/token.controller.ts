import { BadRequestException, Body, Controller, Get, Headers, HttpCode, Post, UnauthorizedException } from '@nestjs/common';
import { TokenService, USER_NAME, type IssuedToken } from './token.service.js';

/**
 * The page's connect tokens, over plain HTTP:
 * - `POST /api/token {user}` answers `{token, expiresAt}`. This is where a
 *   real app authenticates (a session cookie, a login); the sample trusts the
 *   name, as its chat has no accounts.
 * - `GET /api/token` with `Authorization: Bearer <token>` says whether the
 *   socket would accept that token, and if not why. A browser does not tell a
 *   script why a WebSocket upgrade failed (a 403 looks like a network error),
 *   so the page asks here when its connection fails.
 */
@Controller('api/token')
export class TokenController {
  constructor(private readonly tokens: TokenService) {}

  @Post()
  @HttpCode(200)
  issue(@Body() body: { user?: unknown } | undefined): Promise<IssuedToken> {
    const user = body?.user;
    if (typeof user !== 'string' || !USER_NAME.test(user)) {
      throw new BadRequestException('user must be 1 to 32 letters, digits or _');
    }
    return this.tokens.issue(user);
  }

  @Get()
  async check(@Headers('authorization') authorization: string | undefined): Promise<{ user: string; expiresAt: number }> {
    const bearer = /^Bearer (\S+)$/i.exec(authorization ?? '')?.[1];
    const verdict = await this.tokens.verify(bearer);
    if (!verdict.valid) throw new UnauthorizedException({ statusCode: 401, reason: verdict.reason, message: verdict.message });
    return { user: verdict.user, expiresAt: verdict.expiresAt };
  }
}

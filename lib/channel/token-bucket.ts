/**
 * A token bucket for rate limits on the frame path: `perSecond` tokens a
 * second, holding at most one second's worth. `take(nowMs)` is a few
 * arithmetic operations and allocates nothing; the caller passes a time it
 * already has (the connection reads the clock once per frame).
 */
export class TokenBucket {
  private tokens: number;
  private readonly perMs: number;
  /** One second's worth, and at least one token (a rate below 1/s still lets one through). */
  private readonly capacity: number;

  constructor(
    perSecond: number,
    private refilledAt: number,
  ) {
    this.capacity = Math.max(1, perSecond);
    this.tokens = this.capacity;
    this.perMs = perSecond / 1000;
  }

  /** True when it holds its whole second's worth again: it is then as good as a new one. */
  isFull(nowMs: number): boolean {
    const elapsed = nowMs - this.refilledAt;
    return (elapsed > 0 ? this.tokens + elapsed * this.perMs : this.tokens) >= this.capacity;
  }

  /** Takes one token if there is one; false when the rate is exceeded. */
  take(nowMs: number): boolean {
    const elapsed = nowMs - this.refilledAt;
    // A wall clock set back must not take tokens away: it adds none.
    let tokens = elapsed > 0 ? this.tokens + elapsed * this.perMs : this.tokens;
    if (tokens > this.capacity) tokens = this.capacity;
    this.refilledAt = nowMs;
    if (tokens < 1) {
      this.tokens = tokens;
      return false;
    }
    this.tokens = tokens - 1;
    return true;
  }
}

/** A bucket for `perSecond`, or null when the rate is unlimited (`Infinity`). */
export function bucketFor(perSecond: number, nowMs: number): TokenBucket | null {
  return perSecond === Number.POSITIVE_INFINITY ? null : new TokenBucket(perSecond, nowMs);
}

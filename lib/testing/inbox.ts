/**
 * What a test receives, in arrival order, with receive-style waits: `take`
 * consumes the first item that matches (others stay queued), `refute` fails
 * if one arrives within the window. Failures say what did arrive.
 */

/** Thrown by the kit's `assert*` / `refute*` methods; its message says what was expected and what arrived. */
export class ChannelTestAssertionError extends Error {
  override name = 'ChannelTestAssertionError';
  readonly code = 'ERR_CHANNELS_TEST_ASSERTION';
}

/** One queue of received items (frames or broadcasts) with `take` and `refute`. */
export class Inbox<T> {
  private readonly items: T[] = [];
  private waiters: Array<() => void> = [];

  constructor(private readonly describeItem: (item: T) => string) {}

  push(item: T): void {
    this.items.push(item);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Items not consumed yet. */
  get pending(): readonly T[] {
    return this.items;
  }

  async take(predicate: (item: T) => boolean, timeoutMs: number, expected: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.items.findIndex(predicate);
      if (index !== -1) return this.items.splice(index, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new ChannelTestAssertionError(
          `expected ${expected} within ${timeoutMs}ms, but it did not arrive.\n${this.describePending()}`,
        );
      }
      await this.wait(left);
    }
  }

  async refute(predicate: (item: T) => boolean, timeoutMs: number, unexpected: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.items.find(predicate);
      if (found !== undefined) {
        throw new ChannelTestAssertionError(`expected no ${unexpected} within ${timeoutMs}ms, but got ${this.describeItem(found)}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) return;
      await this.wait(left);
    }
  }

  describePending(): string {
    if (this.items.length === 0) return 'Nothing else arrived.';
    return `What arrived instead:\n${this.items.map((item) => `  - ${this.describeItem(item)}`).join('\n')}`;
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(finish, ms);
      function finish(): void {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(finish);
    });
  }
}

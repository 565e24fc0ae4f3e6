/**
 * Watches the test process for what would kill a real server: an unhandled
 * rejection or an uncaught exception (a throw into a timer). While installed
 * it records them instead of letting Node exit, so a test can assert there
 * were none and still report what happened.
 */
import assert from 'node:assert/strict';

export class ProcessGuard {
  readonly problems: string[] = [];
  private restored = false;

  private readonly onRejection = (reason: unknown): void => {
    this.problems.push(`unhandledRejection: ${describeProblem(reason)}`);
  };

  private readonly onException = (error: unknown): void => {
    this.problems.push(`uncaughtException: ${describeProblem(error)}`);
  };

  private constructor() {
    process.on('unhandledRejection', this.onRejection);
    process.on('uncaughtException', this.onException);
  }

  static install(): ProcessGuard {
    return new ProcessGuard();
  }

  /** Lets pending rejections be reported (Node reports them after the microtask queue drains), then asserts none were. */
  async assertClean(what: string): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(this.problems, [], `${what}: the process had no unhandled rejection or uncaught exception`);
  }

  restore(): void {
    if (this.restored) return;
    this.restored = true;
    process.off('unhandledRejection', this.onRejection);
    process.off('uncaughtException', this.onException);
  }
}

function describeProblem(value: unknown): string {
  return value instanceof Error ? `${value.name}: ${value.message}` : String(value);
}

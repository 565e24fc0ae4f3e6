/**
 * A count of live timers in the soak app, unref'd ones included.
 *
 * `process.getActiveResourcesInfo()` lists only what keeps the event loop
 * alive, and the library unrefs its per-connection timers (the heartbeat
 * check), so a leaked one would never show there. This wraps the global
 * `setTimeout` / `setInterval` / `clear*` (which the library calls) to keep
 * every timer that has neither fired nor been cleared. Installed once, first
 * thing in the soak app; never in a test runner or in the library.
 */

/** Live timers, each with where it was set when SOAK_TIMER_SITES is set (a stack per timer costs time). */
const live = new Map<NodeJS.Timeout, string | null>();
const withSites = process.env.SOAK_TIMER_SITES !== undefined;

/** Timers set through the globals that have neither fired (timeouts) nor been cleared. */
export function liveTimers(): number {
  return live.size;
}

/** With SOAK_TIMER_SITES set: how many live timers each place in the code set, most first. */
export function liveTimerSites(): Record<string, number> {
  const sites: Record<string, number> = {};
  for (const site of live.values()) if (site !== null) sites[site] = (sites[site] ?? 0) + 1;
  return sites;
}

function siteOf(): string | null {
  if (!withSites) return null;
  // The first two frames outside this file: who called setTimeout, and its caller.
  const frames = (new Error().stack ?? '').split('\n').slice(1).filter((frame) => !frame.includes('timer-census'));
  return frames.slice(0, 2).map((frame) => frame.trim()).join(' < ');
}

export function installTimerCensus(): void {
  const realSetTimeout = globalThis.setTimeout;
  const realSetInterval = globalThis.setInterval;
  const realClearTimeout = globalThis.clearTimeout;
  const realClearInterval = globalThis.clearInterval;

  const setTimeoutCounted = function (callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]): NodeJS.Timeout {
    const timer: NodeJS.Timeout = realSetTimeout(
      function (this: unknown, ...given: unknown[]) {
        live.delete(timer);
        callback.apply(this, given);
      },
      ms,
      ...args,
    );
    live.set(timer, siteOf());
    return timer;
  };
  const setIntervalCounted = function (callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]): NodeJS.Timeout {
    const timer = realSetInterval(callback, ms, ...args);
    live.set(timer, siteOf());
    return timer;
  };
  const clear = (real: (timer: NodeJS.Timeout | string | number | undefined) => void) =>
    function (timer: NodeJS.Timeout | string | number | undefined): void {
      if (typeof timer === 'object') live.delete(timer);
      real(timer);
    };

  // `util.promisify(setTimeout)` must keep working for whoever uses it.
  Object.assign(setTimeoutCounted, { __promisify__: (realSetTimeout as unknown as { __promisify__: unknown }).__promisify__ });
  globalThis.setTimeout = setTimeoutCounted as unknown as typeof globalThis.setTimeout;
  globalThis.setInterval = setIntervalCounted as unknown as typeof globalThis.setInterval;
  globalThis.clearTimeout = clear(realClearTimeout) as typeof globalThis.clearTimeout;
  globalThis.clearInterval = clear(realClearInterval) as typeof globalThis.clearInterval;
}

import { INTERCEPT_METADATA } from '../channels.constants.js';

/**
 * Routes broadcasts of these events through the channel's `@HandleOut`
 * methods, per subscriber; every other event stays on the fastlane.
 * Stacking appends.
 *
 * @publicApi
 */
export function Intercept(events: readonly string[]): ClassDecorator {
  return (target) => {
    const previous: string[] = Reflect.getOwnMetadata(INTERCEPT_METADATA, target) ?? [];
    Reflect.defineMetadata(INTERCEPT_METADATA, [...previous, ...events], target);
  };
}

import type { Type } from '@nestjs/common';
import type { ResolvedHistoryOptions } from '../history/history.types.js';
import type { ChannelOptions } from '../interfaces/channels-module-options.interface.js';
import type { TopicPattern } from './topic-matcher.js';

/** How to build one channel instance: decided once per class at bootstrap. */
export type ChannelFactory = () => object;

/** Everything the runtime needs to know about one `@Channel` class. */
export interface ChannelDefinition {
  readonly type: Type<object>;
  readonly name: string;
  readonly topic: TopicPattern;
  readonly options: Required<Omit<ChannelOptions, 'history'>>;
  /** `@Channel(…, { history })`, validated; null for a channel without history. */
  readonly history: ResolvedHistoryOptions | null;
  readonly join: string;
  readonly handleIn: ReadonlyMap<string, string>;
  readonly handleOut: ReadonlyMap<string, string>;
  /** Events routed through `@HandleOut`; null when the channel intercepts nothing (all fastlane). */
  readonly intercepts: ReadonlySet<string> | null;
  readonly handleInfo: string | null;
  readonly terminate: string | null;
  readonly create: ChannelFactory;
}

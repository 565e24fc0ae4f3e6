/**
 * nestjs-channels: Phoenix Channels for NestJS.
 * Every export is named here; `nestjs-channels/redis`,
 * `nestjs-channels/testing` and `nestjs-channels/client` (the browser
 * helper for topic history) are separate entry points.
 */

// Module and adapter
export { ChannelsModule } from './channels.module.js';
export { ChannelsAdapter } from './transports/channels.adapter.js';

// Decorators
export { Channel } from './decorators/channel.decorator.js';
export { Intercept } from './decorators/intercept.decorator.js';
export { Join, HandleIn, HandleOut, HandleInfo, Terminate } from './decorators/method-decorators.js';
export { Topic, TopicParam, Event } from './decorators/param.decorators.js';

// Socket types
export type { ChannelSocket, PushPayload } from './channel/channel-socket.js';
export { SocketRef } from './channel/socket-ref.js';
export type { TerminateReason } from './channel/channel-server.js';
export type { Socket, SocketHandler, ConnectInfo } from './interfaces/socket-handler.interface.js';
export type {
  ChannelsModuleOptions,
  ChannelsModuleAsyncOptions,
  ChannelsOptionsFactory,
  ChannelOptions,
  CheckOrigin,
  LongPollOptions,
} from './interfaces/channels-module-options.interface.js';

// Result helpers
export { reply, noreply, stop, Reply, NoReply, Stop } from './channel/results.js';
export type { CallbackResult, TerminateResult } from './channel/results.js';

// Errors
export { ChannelError } from './errors/channel.error.js';
export {
  ChannelsError,
  ChannelsConfigurationError,
  MalformedMessageError,
  SerializationError,
  PubSubUnavailableError,
  ERROR_CODE,
} from './errors/errors.js';
export type { ErrorCode } from './errors/errors.js';

// Endpoint
export { ChannelsEndpoint } from './endpoint/channels-endpoint.js';

// PubSub
export { PubSub } from './pubsub/pubsub.js';
export { LocalPubSub } from './pubsub/local.pubsub.js';
export { LocalSubscriptions } from './pubsub/local-subscriptions.js';
export { FastlaneCache } from './pubsub/fastlane.js';
export type { SharedFrame } from './pubsub/fastlane.js';
export type { Subscriber } from './pubsub/subscriber.interface.js';

// Topic history (`@Channel(…, { history })`; the browser side is `nestjs-channels/client`)
export { supportsHistory } from './history/history.types.js';
export type {
  HistoryOptions,
  HistoryPolicy,
  HistoryPosition,
  HistoryPubSub,
  HistoryRead,
  ResolvedHistoryOptions,
} from './history/history.types.js';

// Presence
export { Presence } from './presence/presence.js';
export type { PresenceKey, PresenceUpdate } from './presence/presence.js';
export type {
  PresenceChange,
  PresenceDiff,
  PresenceEntry,
  PresenceFetch,
  PresenceMeta,
  PresenceOptions,
  Presences,
} from './presence/presence.types.js';

// Serializers
export type { Broadcast, Message, Ref } from './serializers/message.js';
export type { Serializer, OutFrame } from './serializers/serializer.interface.js';
export { V1JsonSerializer } from './serializers/v1-json.serializer.js';
export { V2JsonSerializer } from './serializers/v2-json.serializer.js';

// Telemetry (diagnostics_channel)
export { TELEMETRY, TELEMETRY_TRACING } from './telemetry/telemetry.js';
export type {
  BroadcastEvent,
  ConnectEvent,
  ConnectResult,
  HandleInEvent,
  HandleInResult,
  HandleInTrace,
  JoinEvent,
  JoinResult,
  JoinTrace,
  LimitAction,
  LimitEvent,
  LimitName,
  PublishLostEvent,
  SlowConsumerEvent,
  TerminateEvent,
} from './telemetry/telemetry.js';

/**
 * `nestjs-channels/testing`: drive channels in-process, without a network,
 * in the manner of Phoenix.ChannelTest. Works with any test runner.
 */
export { ChannelTest, ConnectRefusedError, describeFrame } from './channel-test.js';
export type { ChannelTestOptions, ChannelTestModule, ConnectOptions } from './channel-test.js';
export { TestSocket, TestChannel, JoinRefusedError } from './test-socket.js';
export { ChannelTestAssertionError } from './inbox.js';
export { matches } from './match.js';
export type { Pattern } from './match.js';
export type { ReceivedFrame } from './pass-through.serializer.js';

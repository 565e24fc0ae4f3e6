import type { Message, Ref } from './message.js';

/**
 * What a serializer produces for one outgoing frame: a string is sent as a
 * WebSocket text frame, a Buffer as a binary frame. The in-process test
 * transport may use a serializer whose frames are plain objects.
 */
export type OutFrame = string | Buffer | object;

/**
 * Turns wire frames into messages and back. One
 * instance serves every connection that negotiated its `vsn`; it keeps no
 * per-connection state.
 */
export interface Serializer {
  /** The `vsn` this serializer answers to, e.g. `'2.0.0'`. */
  readonly vsn: string;

  /**
   * Decodes one client frame. Throws `MalformedMessageError` for anything
   * the protocol calls malformed; never throws anything else.
   *
   * `maxDepth` is the mount's `maxPayloadDepth`: a serializer that parses
   * nested data must refuse (as malformed) a payload whose arrays and
   * objects nest deeper than that, before building it.
   */
  decode(data: Buffer | string, isBinary: boolean, maxDepth?: number): Message;

  /**
   * A message from server to client: a push (`ref` null), `phx_close` or
   * `phx_error` (`ref` = join_ref). Binary payloads become kind-0 frames
   * (no ref). Throws `SerializationError` when the frame cannot be encoded.
   */
  encodeMessage(joinRef: Ref, ref: Ref, topic: string, event: string, payload: unknown): OutFrame;

  /** A `phx_reply`; a binary response becomes a kind-1 frame. Throws `SerializationError`. */
  encodeReply(joinRef: Ref, ref: Ref, topic: string, status: string, response: unknown): OutFrame;

  /**
   * A fastlaned broadcast: join_ref null, and ref null too unless the
   * broadcast has a history position, which goes in the ref slot (`ref`).
   * Binary becomes a kind-2 frame, which has no ref slot. Throws `SerializationError`.
   */
  encodeBroadcast(topic: string, event: string, payload: unknown, ref?: Ref): OutFrame;
}

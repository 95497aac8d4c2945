/**
 * Emulates a connection read buffer for codec tests: appends chunks, decodes until `need-more`, and
 * records each frame (copied, since frames are views valid only until the next decode).
 *
 * @module
 */
import type { Codec, Frame } from "../../../codecs/codec.ts";

/** A decoded frame with its bytes copied out of the buffer. */
export interface Decoded {
  frame: Frame;
  bytes: Uint8Array;
}

/** Outcome of feeding chunks: the frames, an error if one happened, and the unconsumed byte count. */
export interface FeedResult {
  frames: Decoded[];
  error?: string;
  leftover: number;
}

/** Feeds `chunks` in order to `codec` the way the proxy does; stops at the first error. */
export function feed(codec: Codec, chunks: Iterable<Uint8Array>): FeedResult {
  let buffer = new Uint8Array(0);
  const frames: Decoded[] = [];
  for (const chunk of chunks) {
    const grown = new Uint8Array(buffer.length + chunk.length);
    grown.set(buffer);
    grown.set(chunk, buffer.length);
    buffer = grown;
    for (;;) {
      if (buffer.length === 0) break;
      const r = codec.decode(buffer);
      if (r.kind === "need-more") {
        if (r.atLeast !== undefined && r.atLeast <= buffer.length) {
          throw new Error(`need-more atLeast ${r.atLeast} with ${buffer.length} buffered`);
        }
        break;
      }
      if (r.kind === "error") return { frames, error: r.reason, leftover: buffer.length };
      if (r.size <= 0 || r.frame.bytes.length !== r.size) throw new Error(`bad frame size ${r.size}`);
      frames.push({ frame: r.frame, bytes: r.frame.bytes.slice() });
      buffer = buffer.subarray(r.size);
    }
  }
  return { frames, leftover: buffer.length };
}

/** The chunkings every codec case runs through: whole, byte by byte, and split at every boundary. */
export function* chunkings(bytes: Uint8Array): Generator<{ name: string; chunks: Uint8Array[] }> {
  yield { name: "whole", chunks: [bytes] };
  yield { name: "byte by byte", chunks: Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)) };
  for (let i = 1; i < bytes.length; i++) {
    yield { name: `split at ${i}`, chunks: [bytes.subarray(0, i), bytes.subarray(i)] };
  }
}

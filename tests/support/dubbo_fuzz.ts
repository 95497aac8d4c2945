/**
 * The Dubbo codec fuzzer shared by `tests/codecs/dubbo/fuzz_test.ts` and `bench/fuzz_dubbo.ts`:
 * deterministic mutations (byte flips, truncation, oversized/negative lengths, tag swaps, splices) of
 * valid frames, each decoded by a real codec instance; every result is checked for sanity.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Codec, DecodeResult } from "../../codecs/codec.ts";
import { createDubboCodecFactory } from "../../codecs/dubbo/mod.ts";
import { encodeHeartbeat, encodeRequest, encodeResponse } from "./dubbo_frames.ts";
import { prng } from "./prng.ts";

/** Counts of outcomes, by result kind. */
export interface FuzzTally {
  frames: number;
  "need-more": number;
  frame: number;
  error: number;
}

/** The valid frames mutations start from (built with hessian.js). */
export function seedFrames(): Uint8Array[] {
  const attachments = { path: "com.example.Greeter", group: "g1", timeout: "3000", n: 5, "x-trace": "abc" };
  return [
    encodeRequest({
      requestId: 1,
      interface: "com.example.Greeter",
      method: "hello",
      args: ["Aeraki"],
      attachments,
    }),
    encodeRequest({
      requestId: 2,
      interface: "com.example.Kitchen",
      method: "cook",
      args: [
        42,
        2 ** 40,
        1.25,
        "é😀".repeat(40),
        [1, "two", null, [3]],
        { k: "v", nested: { a: 1 } },
        { $class: "com.example.Dish", $: { id: { $class: "long", $: 7 }, name: "soup" } },
        new Date(1700000000000),
        Buffer.from([0, 1, 2, 3]),
        true,
        null,
      ],
      attachments: { ...attachments, version: "1.0.0" },
    }),
    encodeRequest({ requestId: 3, interface: "a.B", method: "m", args: [], attachments: null }),
    encodeRequest({
      requestId: 4,
      interface: "a.B",
      method: "ping",
      args: [1],
      attachments: {},
      oneway: true,
    }),
    encodeResponse({ requestId: 1, value: "hello from x" }),
    encodeResponse({
      requestId: 2,
      value: { a: [1, 2] },
      attachments: { "x-envoy-peer-metadata-id": "sidecar" },
    }),
    encodeResponse({ requestId: 3, type: 0, errorMessage: "boom" }),
    encodeResponse({ requestId: 4, type: 2 }),
    encodeResponse({ requestId: 5, type: 5, attachments: { a: "b" } }),
    encodeResponse({ requestId: 6, status: 70, errorMessage: "service error" }),
    encodeHeartbeat(7),
    encodeHeartbeat(7, true),
  ];
}

/** Interesting int32 body lengths: zero, limits, overflow-ish, negative. */
const LENGTHS = [0, 1, 15, 16, 0xffff, 16 * 1024 * 1024, 16 * 1024 * 1024 + 1, 0x7fffffff, -1, -0x80000000];

/** Returns one mutated frame derived from `seeds`. */
export function mutate(seeds: readonly Uint8Array[], rand: () => number): Uint8Array {
  const base = seeds[rand() % seeds.length];
  const op = rand() % 8;
  switch (op) {
    case 0: // truncate
      return base.subarray(0, rand() % (base.length + 1));
    case 1: { // body length field
      const out = base.slice();
      new DataView(out.buffer).setInt32(12, LENGTHS[rand() % LENGTHS.length]);
      return out;
    }
    case 2: { // append a second frame: must decode one at a time
      const other = seeds[rand() % seeds.length];
      const out = new Uint8Array(base.length + other.length);
      out.set(base);
      out.set(other, base.length);
      return out;
    }
    case 3: { // random bytes inserted into the body, length fixed up to stay consistent
      const at = 16 + (rand() % Math.max(1, base.length - 16));
      const n = 1 + (rand() % 8);
      const out = new Uint8Array(base.length + n);
      out.set(base.subarray(0, at));
      for (let i = 0; i < n; i++) out[at + i] = rand() & 0xff;
      out.set(base.subarray(at), at + n);
      new DataView(out.buffer).setInt32(12, out.length - 16);
      return out;
    }
    case 4: { // header flag/status byte
      const out = base.slice();
      out[2 + (rand() % 2)] = rand() & 0xff;
      return out;
    }
    default: { // 1..4 random body bytes (tags, lengths, UTF-8) with the length kept consistent
      const out = base.slice();
      const flips = 1 + (rand() % 4);
      for (let i = 0; i < flips; i++) out[16 + (rand() % Math.max(1, out.length - 16))] = rand() & 0xff;
      return out;
    }
  }
}

/**
 * Decodes `input` with `codec` and exercises encode/localReply/heartbeatReply on any frame; throws
 * (an `Error` naming the broken property) only when the codec misbehaves.
 */
export function checkOne(codec: Codec, input: Uint8Array): DecodeResult["kind"] {
  const result = codec.decode(input);
  switch (result.kind) {
    case "need-more":
      if (result.atLeast !== undefined && result.atLeast <= input.length) {
        throw new Error(`need-more atLeast ${result.atLeast} with ${input.length} buffered`);
      }
      return "need-more";
    case "error":
      if (!result.reason.startsWith("Cannot ")) throw new Error(`bad reason: ${result.reason}`);
      return "error";
    case "frame": {
      const { frame, size } = result;
      if (size < 16 || size > input.length || frame.bytes.length !== size) {
        throw new Error(`bad size ${size}`);
      }
      if (frame.type === "request" || frame.type === "oneway") {
        const out = codec.encode(frame, new Map([["x-request-id", "fuzz"]]));
        if (out.kind === "bytes" && codec.decode(out.bytes).kind !== "frame") {
          throw new Error("re-encoded request does not decode");
        }
      }
      codec.localReply(frame, { kind: "timeout", message: "fuzz" });
      codec.heartbeatReply(frame);
      return "frame";
    }
  }
}

/** Runs `count` mutated inputs from `seed`; returns the tally. Deterministic for a given (seed, count). */
export function runFuzz(count: number, seed = 0x5eed): FuzzTally {
  const rand = prng(seed);
  const seeds = seedFrames();
  const codec = createDubboCodecFactory().create("server");
  const tally: FuzzTally = { frames: 0, "need-more": 0, frame: 0, error: 0 };
  for (let i = 0; i < count; i++) {
    const input = mutate(seeds, rand);
    let kind: DecodeResult["kind"];
    try {
      kind = checkOne(codec, input);
    } catch (error) {
      const hex = Array.from(input, (b) => b.toString(16).padStart(2, "0")).join("");
      throw new Error(`Cannot fuzz Dubbo codec: input ${i} (${hex}) failed: ${error}`, { cause: error });
    }
    tally[kind]++;
    tally.frames++;
  }
  return tally;
}

/**
 * Seeded fuzzer of declarative codecs, shared by fuzz_test.ts and bench/fuzz_declarative.ts: valid seed
 * frames mutated (byte flips, truncation, huge and tiny lengths, splices, random bytes), each decoded by
 * server and client instances; results are checked for sanity, and every frame decoded is also put
 * through encode, setRequestId and localReply (which must not throw anything but a RangeError).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Codec, CodecFactory } from "../../../codecs/codec.ts";
import {
  createDeclarativeCodecFactory,
  loadProtocol,
  shippedProtocols,
} from "../../../codecs/declarative/mod.ts";
import { encodeTrpcRequest, encodeTrpcResponse } from "../../support/trpc_peer.ts";
import { encodeVideoPacket } from "../../support/videopacket_peer.ts";
import { TOY, toyFrame } from "./_toy.ts";
import { prng } from "../../support/prng.ts";

/** A fuzz target: a codec factory and the valid frames mutations start from. */
export interface FuzzTarget {
  readonly name: string;
  readonly factory: CodecFactory;
  readonly seeds: readonly Uint8Array[];
}

/** The three targets: tRPC, videopacket, toy. */
export function fuzzTargets(): FuzzTarget[] {
  const p = shippedProtocols();
  const body = new TextEncoder().encode("payload");
  return [
    {
      name: "trpc",
      factory: createDeclarativeCodecFactory(p.get("trpc")!),
      seeds: [
        encodeTrpcRequest({
          requestId: 300,
          caller: "c",
          callee: "trpc.a.b",
          func: "/a.B/C",
          transInfo: { k: "v", version: "v1" },
          body,
        }),
        encodeTrpcRequest({ requestId: 1, callType: 1 }),
        encodeTrpcResponse({ requestId: 70000, ret: 11, errorMsg: "e", transInfo: { s: "x" }, body }),
      ],
    },
    {
      name: "videopacket",
      factory: createDeclarativeCodecFactory(p.get("videopacket")!),
      seeds: [encodeVideoPacket(1, body), encodeVideoPacket(24608)],
    },
    {
      name: "toy",
      factory: createDeclarativeCodecFactory(loadProtocol(TOY)),
      seeds: [
        toyFrame(0xc0, 9n, "svc", [["a", "b"], ["c", "d"]]),
        toyFrame(0xe0, 1n, "", []),
        toyFrame(0x01, 2n ** 63n, "x", []),
      ],
    },
  ];
}

function mutate(seed: Uint8Array, rnd: () => number, seeds: readonly Uint8Array[]): Uint8Array {
  const b = seed.slice();
  switch (rnd() % 6) {
    case 0: // flip a few bytes
      for (let i = rnd() % 4; i >= 0; i--) b[rnd() % b.length] = rnd() & 0xff;
      return b;
    case 1: // truncate
      return b.subarray(0, rnd() % b.length);
    case 2: { // a huge or tiny 32-bit value at a random place (lengths, sizes)
      const at = rnd() % Math.max(1, b.length - 4);
      new DataView(b.buffer).setUint32(
        at,
        [0xffffffff, 0x7fffffff, 0, 1, rnd()][rnd() % 5],
        (rnd() & 1) === 1,
      );
      return b;
    }
    case 3: { // splice two frames
      const other = seeds[rnd() % seeds.length];
      const cut = rnd() % b.length;
      const out = new Uint8Array(cut + other.length - (rnd() % other.length));
      out.set(b.subarray(0, cut));
      out.set(other.subarray(0, out.length - cut), cut);
      return out;
    }
    case 4: // random bytes after a valid header start
      for (let i = 2 + (rnd() % 14); i < b.length; i++) b[i] = rnd() & 0xff;
      return b;
    default:
      return b; // valid frames keep the encode/rewrite paths busy
  }
}

/** Outcome counts. */
export interface FuzzTally {
  frames: number;
  "need-more": number;
  frame: number;
  error: number;
}

function exercise(codec: Codec, input: Uint8Array, tally: FuzzTally): void {
  const r = codec.decode(input);
  tally[r.kind]++;
  if (r.kind === "need-more") {
    if (r.atLeast !== undefined) assert.ok(r.atLeast > input.length);
    return;
  }
  if (r.kind === "error") {
    assert.match(r.reason, /^Cannot decode /);
    return;
  }
  assert.ok(r.size > 0 && r.size <= input.length && r.frame.bytes.length === r.size);
  const frame = { ...r.frame, bytes: r.frame.bytes.slice() };
  try {
    codec.encode(frame, new Map([["k", "v2"], ["x-request-id", "abc"]]));
    codec.localReply(frame, { kind: "route_not_found", message: "m" });
    codec.heartbeatReply(frame);
    codec.setRequestId(frame, frame.bytes.slice(), 12345);
  } catch (error) {
    // Only a rewrite that cannot fit its field (or a codec without ids) may refuse.
    if (
      !(error instanceof RangeError || (error instanceof TypeError && /no rewritable/.test(error.message)))
    ) throw error;
  }
}

/** Decodes `count` mutated frames of `target` from `seed`; throws on any insane result. */
export function fuzz(target: FuzzTarget, seed: number, count: number): FuzzTally {
  const rnd = prng(seed);
  const tally: FuzzTally = { frames: 0, "need-more": 0, frame: 0, error: 0 };
  const server = target.factory.create("server"), client = target.factory.create("client");
  for (let i = 0; i < count; i++) {
    const input = mutate(target.seeds[rnd() % target.seeds.length], rnd, target.seeds);
    tally.frames++;
    exercise((i & 1) === 0 ? server : client, input, tally);
  }
  return tally;
}

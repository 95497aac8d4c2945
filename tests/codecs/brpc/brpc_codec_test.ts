/**
 * The brpc codec on frames built by the independent peer encoder (`tests/support/brpc_peer.ts`): every
 * case decoded whole, byte by byte and split at every boundary; request id rewrite round trips (the
 * varint changes length); mutations as `user_fields`; local replies a stock client can read.
 */
import assert from "node:assert/strict";
import type { Codec, Frame, LocalErrorKind } from "../../../codecs/codec.ts";
import { Errno, LOCAL_ERROR_CODES } from "../../../codecs/brpc/constants.ts";
import { createBrpcCodecFactory } from "../../../codecs/brpc/mod.ts";
import { frame, pbDecode, pbEncode } from "../../support/brpc_peer.ts";
import { chunkings, feed } from "../thrift/feed.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const factory = createBrpcCodecFactory();

type Item = [number, number | bigint | string | Uint8Array];

function request(id: bigint | null, extra: Item[] = [], payload = "hello", attachment = ""): Uint8Array {
  const items: Item[] = [[
    1,
    pbEncode([[1, "example.EchoService"], [2, "Echo"], [3, 9], [7, "x-req"], [8, 500]]),
  ]];
  if (id !== null) items.push([4, id]);
  if (attachment) items.push([5, attachment.length]);
  items.push(...extra);
  return frame(pbEncode(items), enc.encode(payload), enc.encode(attachment));
}

function response(id: bigint, code: number, text = ""): Uint8Array {
  const resp: Item[] = [[1, BigInt.asUintN(64, BigInt(code))]];
  if (text) resp.push([2, text]);
  return frame(pbEncode([[2, pbEncode(resp)], [4, id]]), enc.encode("payload"));
}

interface Case {
  name: string;
  role: "server" | "client";
  bytes: Uint8Array;
  check(f: Frame): void;
}

const cases: Case[] = [
  {
    name: "request with service, method, attachment and user_fields",
    role: "server",
    bytes: request(5n, [[9, pbEncode([[1, "env"], [2, "canary"]])], [3, 0]], "ping", "ATT"),
    check(f) {
      assert.equal(f.type, "request");
      assert.equal(f.requestId, 5);
      assert.equal(f.metadata.get("service"), "example.EchoService");
      assert.equal(f.metadata.get("method"), "Echo");
      assert.equal(f.metadata.get("env"), "canary");
      assert.equal(f.operation, "example.EchoService/Echo");
    },
  },
  {
    name: "request without correlation_id (id 0), empty payload",
    role: "server",
    bytes: request(null, [], ""),
    check(f) {
      assert.equal(f.type, "request");
      assert.equal(f.requestId, 0);
    },
  },
  {
    name: "request with a 64-bit correlation_id above 2^53",
    role: "server",
    bytes: request(0xfedcba9876543210n),
    check(f) {
      assert.equal(f.requestId, 0xfedcba9876543210n);
    },
  },
  {
    name: "ok response",
    role: "client",
    bytes: response(77n, 0),
    check(f) {
      assert.equal(f.type, "response");
      assert.equal(f.requestId, 77);
      assert.equal(f.ok, true);
      assert.equal(f.metadata.size, 0);
    },
  },
  {
    name: "error response (ENOMETHOD)",
    role: "client",
    bytes: response(78n, Errno.ENOMETHOD, "no such method"),
    check(f) {
      assert.equal(f.ok, false);
      assert.equal(f.metadata.get("error_code"), "1002");
      assert.equal(f.metadata.get("error_text"), "no such method");
    },
  },
  {
    name: "error response with a negative int32 code",
    role: "client",
    bytes: response(79n, -1, "neg"),
    check(f) {
      assert.equal(f.ok, false);
      assert.equal(f.metadata.get("error_code"), "-1");
    },
  },
  {
    name: "response without response meta (client role)",
    role: "client",
    bytes: frame(pbEncode([[4, 3n]]), enc.encode("x")),
    check(f) {
      assert.equal(f.type, "response");
      assert.equal(f.ok, true);
      assert.equal(f.requestId, 3);
    },
  },
];

Deno.test("brpc codec: every case decodes whole, byte by byte and split at every boundary (two frames back to back)", () => {
  for (const c of cases) {
    const two = new Uint8Array(c.bytes.length * 2);
    two.set(c.bytes);
    two.set(c.bytes, c.bytes.length);
    for (const { name, chunks } of chunkings(two)) {
      const r = feed(factory.create(c.role), chunks);
      assert.equal(r.error, undefined, `${c.name} / ${name}`);
      assert.equal(r.frames.length, 2, `${c.name} / ${name}`);
      assert.equal(r.leftover, 0);
      for (const d of r.frames) {
        assert.deepEqual(d.bytes, c.bytes);
        c.check(d.frame);
      }
    }
  }
});

function decodeOne(codec: Codec, bytes: Uint8Array): Frame {
  const r = codec.decode(bytes);
  assert.equal(r.kind, "frame", r.kind === "error" ? r.reason : r.kind);
  if (r.kind !== "frame") throw new Error("unreachable");
  assert.equal(r.size, bytes.length);
  return r.frame;
}

/** Checks the header sizes of `bytes` against its length and its RpcMeta against the peer decoder. */
function peerView(bytes: Uint8Array) {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  assert.equal(dec.decode(bytes.subarray(0, 4)), "PRPC");
  assert.equal(view.getUint32(4), bytes.length - 12);
  const metaSize = view.getUint32(8);
  const meta = pbDecode(bytes.subarray(12, 12 + metaSize));
  return { meta, rest: dec.decode(bytes.subarray(12 + metaSize)) };
}

Deno.test("brpc codec: request id rewrite round trips for every varint length, and adds a missing id", () => {
  const ids: (number | bigint)[] = [
    0,
    1,
    127,
    128,
    16383,
    16384,
    2 ** 32,
    2 ** 53 - 1,
    2n ** 53n,
    2n ** 64n - 1n,
  ];
  for (const original of [1n, 300n, 2n ** 62n]) {
    const bytes = request(original, [[9, pbEncode([[1, "k"], [2, "v"]])]], "body", "tail");
    for (const id of ids) {
      const codec = factory.create("server");
      const f = decodeOne(codec, bytes);
      const rewritten = codec.setRequestId(f, bytes.slice(), id);
      const g = decodeOne(factory.create("server"), rewritten);
      assert.equal(g.requestId, id, `${original} → ${id}`);
      assert.equal(g.metadata.get("service"), "example.EchoService");
      assert.equal(g.metadata.get("k"), "v");
      const { meta, rest } = peerView(rewritten);
      assert.equal(meta.get(4)!.length, 1, "one correlation_id field");
      assert.equal(rest, "bodytail");
      const back = factory.create("server").setRequestId(g, rewritten.slice(), f.requestId);
      assert.deepEqual(back, bytes, `${original} → ${id} → back`);
    }
  }
  const bare = request(null);
  const codec = factory.create("server");
  const added = codec.setRequestId(decodeOne(codec, bare), bare.slice(), 4242);
  assert.equal(decodeOne(factory.create("server"), added).requestId, 4242);
  assert.equal(peerView(added).rest, "hello");
});

Deno.test("brpc codec: mutation is appended as user_fields (later entries win), then the id can still be rewritten", () => {
  const bytes = request(9n, [[9, pbEncode([[1, "foo"], [2, "old"]])]], "p", "a");
  const codec = factory.create("server");
  const f = decodeOne(codec, bytes);
  assert.deepEqual(codec.encode(f, new Map()), { kind: "bytes", bytes: f.bytes });
  const r = codec.encode(f, new Map([["foo", "bar"], ["foo1", "bar1"]]));
  assert.equal(r.kind, "bytes");
  if (r.kind !== "bytes") return;
  const g = decodeOne(factory.create("server"), r.bytes);
  assert.equal(g.metadata.get("foo"), "bar");
  assert.equal(g.metadata.get("foo1"), "bar1");
  assert.equal(g.requestId, 9);
  const h = decodeOne(factory.create("server"), codec.setRequestId(f, r.bytes.slice(), 2n ** 60n));
  assert.equal(h.requestId, 2n ** 60n);
  assert.equal(h.metadata.get("foo"), "bar");
  assert.equal(peerView(h.bytes).rest, "pa");
});

Deno.test("brpc codec: local replies are response metas with brpc's error code, the message and the request's id", () => {
  for (const id of [7n, 0xfedcba9876543210n]) {
    const codec = factory.create("server");
    const req = decodeOne(codec, request(id));
    for (const kind of Object.keys(LOCAL_ERROR_CODES) as LocalErrorKind[]) {
      const reply = codec.localReply(req, { kind, message: `because ${kind}` })!;
      const { meta, rest } = peerView(reply);
      assert.equal(meta.get(4)![0], id);
      const resp = pbDecode(meta.get(2)![0] as Uint8Array);
      assert.equal(Number(resp.get(1)![0]), LOCAL_ERROR_CODES[kind]);
      assert.equal(dec.decode(resp.get(2)![0] as Uint8Array), `because ${kind}`);
      assert.equal(rest, "");
      const back = decodeOne(factory.create("client"), reply);
      assert.equal(back.ok, false);
      assert.equal(back.requestId, typeof req.requestId === "bigint" ? id : Number(id));
    }
  }
  assert.equal(LOCAL_ERROR_CODES.route_not_found, 1001);
  assert.equal(LOCAL_ERROR_CODES.rate_limited, 2004);
  assert.equal(
    factory.create("server").heartbeatReply(decodeOne(factory.create("server"), request(1n))),
    null,
  );
});

Deno.test("brpc codec: malformed input is refused before anything is allocated", () => {
  const good = request(1n);
  const withHeader = (body: number, meta: number, tail = new Uint8Array(0)) => {
    const b = new Uint8Array(12 + tail.length);
    b.set(enc.encode("PRPC"));
    new DataView(b.buffer).setUint32(4, body);
    new DataView(b.buffer).setUint32(8, meta);
    b.set(tail, 12);
    return b;
  };
  const bad: [string, Uint8Array, RegExp, number?][] = [
    ["bad first magic byte", Uint8Array.of(0x51), /magic/],
    ["bad fourth magic byte", enc.encode("PRPX"), /magic/],
    ["HTTP instead of brpc", enc.encode("GET / HTTP/1.1\r\n\r\n"), /magic/],
    ["body size 4 GiB - 1", withHeader(0xffffffff, 0), /body size 4294967295 exceeds/],
    ["body size over the factory limit", withHeader(2000, 0), /exceeds the limit 1024/, 1024],
    ["meta size > body size", withHeader(10, 11), /meta size 11 exceeds body size 10/],
    ["meta tag cut", frame(Uint8Array.of(0x80), new Uint8Array(0)), /tag is cut/],
    [
      "field length beyond meta",
      frame(Uint8Array.of(0x0a, 0x05, 0x01), new Uint8Array(0)),
      /malformed or cut/,
    ],
    ["group wire type", frame(Uint8Array.of(0x0b), new Uint8Array(0)), /wire type 3/],
    ["field number 0", frame(Uint8Array.of(0x00, 0x00), new Uint8Array(0)), /field 0/],
    [
      "request meta with a cut string",
      frame(pbEncode([[1, Uint8Array.of(0x0a, 0x09, 0x41)]]), new Uint8Array(0)),
      /request meta/,
    ],
    [
      "no request meta on a server connection",
      frame(pbEncode([[4, 1n]]), new Uint8Array(0)),
      /no request meta/,
    ],
    [
      "user_fields over the entry limit",
      frame(
        pbEncode(Array.from({ length: 1025 }, (): Item => [9, pbEncode([[1, "k"], [2, "v"]])])),
        new Uint8Array(0),
      ),
      /more than 1024/,
    ],
  ];
  for (const [name, bytes, reason, limit] of bad) {
    const codec = createBrpcCodecFactory({ maxBodySize: limit }).create("server");
    const r = feed(codec, [bytes]);
    assert.match(r.error ?? "(none)", reason, name);
    assert.match(r.error!, /^Cannot /);
    // Also byte by byte: the error comes as soon as the offending bytes are in.
    const r2 = feed(
      createBrpcCodecFactory({ maxBodySize: limit }).create("server"),
      chunkings(bytes).drop(1).take(1).next().value!.chunks,
    );
    assert.match(r2.error ?? "(none)", reason, `${name} byte by byte`);
  }
  // A short prefix of a good frame is need-more with a hint, not an error.
  const codec = factory.create("server");
  assert.deepEqual(codec.decode(good.subarray(0, 5)), { kind: "need-more", atLeast: 12 });
  assert.deepEqual(codec.decode(good.subarray(0, 20)), { kind: "need-more", atLeast: good.length });
  assert.throws(() => createBrpcCodecFactory({ maxBodySize: -1 }), /Cannot create brpc codec/);
});

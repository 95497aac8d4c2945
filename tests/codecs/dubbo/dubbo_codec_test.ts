/**
 * Dubbo codec cases as one table, each run whole, byte by byte and split at every boundary through an
 * emulated connection buffer; plus the whole table pipelined on one connection.
 */
import assert from "node:assert/strict";
import type { Codec, CodecRole, Frame, LocalErrorKind } from "../../../codecs/codec.ts";
import { resolveCodec } from "../../../codecs/registry.ts";
import "../../../codecs/builtin.ts";
import {
  encodeHeartbeat,
  encodeRequest,
  encodeResponse,
  hessianDecodeAll,
} from "../../support/dubbo_frames.ts";

const factory = resolveCodec("aeraki.meta_protocol.codec.dubbo");
const iface = "org.apache.dubbo.samples.basic.api.DemoService";

interface Expected {
  type: Frame["type"];
  requestId: number | bigint;
  ok: boolean;
  operation?: string;
  metadata?: Record<string, string>;
}
interface Case {
  name: string;
  bytes: Uint8Array;
  expected: Expected;
}

function request(
  name: string,
  spec: Parameters<typeof encodeRequest>[0],
  metadata: Record<string, string>,
): Case {
  return {
    name,
    bytes: encodeRequest(spec),
    expected: {
      type: spec.oneway ? "oneway" : "request",
      requestId: spec.requestId,
      ok: true,
      operation: `${spec.interface}/${spec.method}`,
      metadata,
    },
  };
}

function response(name: string, bytes: Uint8Array, type: Frame["type"], ok: boolean, requestId = 9): Case {
  return { name, bytes, expected: { type, requestId, ok, operation: "", metadata: {} } };
}

const base = { interface: iface, method: "sayHello", version: "1.0.0" };
const cases: Case[] = [
  request("request with attachments", {
    ...base,
    requestId: 1,
    args: ["Aeraki"],
    attachments: { path: iface, group: "blue", timeout: "3000", version: "1.0.0" },
  }, { interface: iface, method: "sayHello", version: "1.0.0", path: iface, group: "blue", timeout: "3000" }),
  request("request without attachment map", { ...base, requestId: 2, args: [1, "x"], attachments: null }, {
    interface: iface,
    method: "sayHello",
    version: "1.0.0",
  }),
  request("request with non-string attachments (ignored) and an overwriting key", {
    ...base,
    requestId: 3,
    args: [
      { $class: "com.example.User", $: { id: { $class: "long", $: 42 }, name: "n" } },
      [1, 2],
      new Date(5),
    ],
    attachments: { n: 5, list: ["a"], method: "overwritten", foo: "bar" },
  }, { interface: iface, method: "overwritten", version: "1.0.0", foo: "bar" }),
  request("one-way request", { ...base, requestId: 4, args: ["x"], attachments: { a: "b" }, oneway: true }, {
    interface: iface,
    method: "sayHello",
    version: "1.0.0",
    a: "b",
  }),
  request("request id beyond 2^53 is a bigint", { ...base, requestId: 2n ** 63n + 5n, args: [] }, {
    interface: iface,
    method: "sayHello",
    version: "1.0.0",
  }),
  response(
    "response type 0 exception",
    encodeResponse({ requestId: 9, type: 0, errorMessage: "x" }),
    "error",
    false,
  ),
  response("response type 1 value", encodeResponse({ requestId: 9, type: 1, value: "hi" }), "response", true),
  response("response type 2 null", encodeResponse({ requestId: 9, type: 2 }), "response", true),
  response(
    "response type 3 exception + attachments",
    encodeResponse({ requestId: 9, type: 3, attachments: { a: "b" } }),
    "error",
    false,
  ),
  response(
    "response type 4 value + attachments",
    encodeResponse({ requestId: 9, type: 4, value: [1, "é"], attachments: { a: "b" } }),
    "response",
    true,
  ),
  response(
    "response type 5 null + attachments",
    encodeResponse({ requestId: 9, type: 5, attachments: {} }),
    "response",
    true,
  ),
  ...[30, 31, 40, 50, 60, 70, 80, 90, 100].map((status) =>
    response(
      `status ${status}`,
      encodeResponse({ requestId: 9, status, errorMessage: "bad" }),
      "error",
      false,
    )
  ),
  response("heartbeat request", encodeHeartbeat(11), "heartbeat", true, 11),
  response("heartbeat response", encodeHeartbeat(11, true), "heartbeat", true, 11),
];

function summarize(frame: Frame): Expected {
  return {
    type: frame.type,
    requestId: frame.requestId,
    ok: frame.ok,
    operation: frame.operation,
    metadata: Object.fromEntries(frame.metadata),
  };
}

/**
 * Feeds `chunks` to one codec the way a connection does: append, decode until need-more, drop consumed
 * bytes. Checks that a need-more is repeatable (no state change) and that frames are views of the input.
 */
function feed(codec: Codec, chunks: Uint8Array[]): Expected[] {
  let buffer = new Uint8Array(0);
  const out: Expected[] = [];
  for (const chunk of chunks) {
    const next = new Uint8Array(buffer.length + chunk.length);
    next.set(buffer);
    next.set(chunk, buffer.length);
    buffer = next;
    for (;;) {
      const result = codec.decode(buffer);
      if (result.kind === "need-more") {
        assert.ok(result.atLeast === undefined || result.atLeast > buffer.length);
        assert.deepEqual(codec.decode(buffer), result);
        break;
      }
      assert.equal(result.kind, "frame", result.kind === "error" ? result.reason : "");
      if (result.kind !== "frame") return out;
      assert.equal(result.frame.bytes.buffer, buffer.buffer);
      out.push(summarize(result.frame));
      buffer = buffer.subarray(result.size);
    }
  }
  assert.equal(buffer.length, 0);
  return out;
}

function roleOf(c: Case): CodecRole {
  return c.expected.type === "request" || c.expected.type === "oneway" ? "server" : "client";
}

for (const c of cases) {
  Deno.test(`table: ${c.name} — whole, byte by byte, split at every boundary`, () => {
    const codec = factory.create(roleOf(c));
    const want = [{ operation: "", metadata: {}, ...c.expected }];
    assert.deepEqual(feed(codec, [c.bytes]), want, "whole");
    assert.deepEqual(feed(codec, Array.from(c.bytes, (b) => Uint8Array.of(b))), want, "byte by byte");
    for (let i = 1; i < c.bytes.length; i++) {
      assert.deepEqual(feed(codec, [c.bytes.subarray(0, i), c.bytes.subarray(i)]), want, `split at ${i}`);
    }
  });
}

Deno.test("table: every case pipelined on one connection, in 7-byte chunks", () => {
  const all = new Uint8Array(cases.reduce((n, c) => n + c.bytes.length, 0));
  let at = 0;
  for (const c of cases) {
    all.set(c.bytes, at);
    at += c.bytes.length;
  }
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < all.length; i += 7) chunks.push(all.subarray(i, i + 7));
  const want = cases.map((c) => ({ operation: "", metadata: {}, ...c.expected }));
  assert.deepEqual(feed(factory.create("server"), chunks), want);
});

Deno.test("registry: name and alias resolve; config must be Aeraki's empty DubboCodec", () => {
  assert.equal(factory.name, "aeraki.meta_protocol.codec.dubbo");
  assert.equal(factory.multiplexable, true);
  assert.equal(resolveCodec("dubbo").name, factory.name);
  resolveCodec("dubbo", { "@type": "type.googleapis.com/aeraki.meta_protocol.codec.DubboCodec" });
  assert.throws(() => resolveCodec("dubbo", { "@type": "type.googleapis.com/x.Y" }), TypeError);
  assert.throws(() => resolveCodec("dubbo", { max: 1 }), /unknown field 'max'/);
});

const localKinds: [LocalErrorKind, number][] = [
  ["route_not_found", 60],
  ["bad_response", 50],
  ["timeout", 31],
  ["overloaded", 100],
  ["rate_limited", 100],
  ["cluster_not_found", 80],
  ["no_healthy_upstream", 80],
  ["upstream_connect_failure", 80],
  ["upstream_reset", 80],
  ["fault_injected", 80],
];

Deno.test("localReply: status per kind, flag 0x02, same id, body is ONE Hessian2 string", () => {
  const server = factory.create("server");
  const client = factory.create("client");
  const req = encodeRequest({ ...base, requestId: 2n ** 60n + 3n, args: ["x"] });
  const frame = (server.decode(req) as { frame: Frame }).frame;
  for (const [kind, status] of localKinds) {
    const message = `meta protocol: ${kind} for request '${frame.requestId}'`;
    const reply = server.localReply(frame, { kind, message })!;
    assert.deepEqual([...reply.subarray(0, 4)], [0xda, 0xbb, 0x02, status], kind);
    assert.deepEqual(reply.subarray(4, 12), req.subarray(4, 12), kind);
    assert.deepEqual(hessianDecodeAll(reply.subarray(16)), [message], kind);
    const decoded = (client.decode(reply) as { frame: Frame }).frame;
    assert.equal(decoded.type, "error");
    assert.equal(decoded.ok, false);
    assert.equal(decoded.requestId, 2n ** 60n + 3n);
  }
});

Deno.test("localReply: exact bytes for route_not_found (our form of Aeraki's D-F10, without the int 0)", () => {
  const server = factory.create("server");
  const frame = (server.decode(encodeRequest({ ...base, requestId: 1 })) as { frame: Frame }).frame;
  const message = "meta protocol router: no matched route for request '1'";
  const reply = server.localReply(frame, { kind: "route_not_found", message })!;
  const hex = Array.from(reply, (b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(hex, "dabb023c000000000000000100000038" + "3036" + new TextEncoder().encode(message).toHex());
});

Deno.test("localReply: long and non-ASCII messages round-trip through hessian.js; null for oneway/heartbeat", () => {
  const server = factory.create("server");
  const frame = (server.decode(encodeRequest({ ...base, requestId: 5 })) as { frame: Frame }).frame;
  for (const message of ["", "é😀中", "x".repeat(40_000) + "😀".repeat(20_000)]) {
    const reply = server.localReply(frame, { kind: "timeout", message })!;
    assert.deepEqual(hessianDecodeAll(reply.subarray(16)), [message]);
    assert.equal(new DataView(reply.buffer).getInt32(12), reply.length - 16);
  }
  const oneway =
    (server.decode(encodeRequest({ ...base, requestId: 6, oneway: true })) as { frame: Frame }).frame;
  assert.equal(server.localReply(oneway, { kind: "timeout", message: "x" }), null);
  const heartbeat = (server.decode(encodeHeartbeat(7)) as { frame: Frame }).frame;
  assert.equal(server.localReply(heartbeat, { kind: "timeout", message: "x" }), null);
});

Deno.test("setRequestId: numbers (incl. 2^53-1) and bigints up to 2^64-1 written as int64 BE at offset 4", () => {
  const codec = factory.create("client");
  const bytes = encodeRequest({ ...base, requestId: 1, args: ["x"] });
  const frame = (codec.decode(bytes) as { frame: Frame }).frame;
  for (const id of [0, 7, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER, 2n ** 53n, 2n ** 64n - 1n]) {
    const copy = bytes.slice();
    const out = codec.setRequestId(frame, copy, id);
    assert.equal(out, copy);
    assert.equal(new DataView(out.buffer).getBigUint64(4), BigInt(id));
    assert.equal((codec.decode(out) as { frame: Frame }).frame.requestId, id);
    assert.deepEqual(out.subarray(12), bytes.subarray(12));
  }
});

/**
 * The case table run whole, byte by byte and split at every boundary, plus pipelined streams, pinned
 * config, THeader mutation and seqid rewriting for every transport × protocol.
 */
import assert from "node:assert/strict";
import type { Frame } from "../../../codecs/codec.ts";
import { thriftCodecFactory } from "../../../codecs/thrift/mod.ts";
import { allCases, type Case, encodeIn, SHAPES } from "./cases.ts";
import { chunkings, feed } from "./feed.ts";
import { binaryMessage, framed } from "./thrift_wire.ts";

const factory = thriftCodecFactory();
const CASES = allCases();

function check(c: Case, frame: Frame, label: string): void {
  assert.equal(frame.metadata.get("method"), c.expected.method, label);
  assert.equal(frame.metadata.get("service"), c.expected.service, label);
  assert.equal(frame.type, c.expected.type, label);
  assert.equal(frame.ok, c.expected.ok, label);
  assert.equal(frame.requestId, c.expected.requestId, label);
  for (const [k, v] of Object.entries(c.expected.headers)) {
    assert.equal(frame.metadata.get(k), v, `${label} ${k}`);
  }
  const extra = [...frame.metadata.keys()].filter((k) => k !== "method" && k !== "service");
  assert.deepEqual(extra.sort(), Object.keys(c.expected.headers).sort(), label);
}

Deno.test("every case decodes whole, byte by byte and split at every boundary", () => {
  let runs = 0;
  for (const c of CASES) {
    for (const { name, chunks } of chunkings(c.bytes)) {
      const label = `${c.name} (${name})`;
      const r = feed(factory.create("server"), chunks);
      assert.equal(r.error, undefined, label);
      assert.equal(r.frames.length, 1, label);
      assert.equal(r.leftover, 0, label);
      assert.deepEqual(r.frames[0].bytes, c.bytes, label);
      check(c, r.frames[0].frame, label);
      runs++;
    }
  }
  assert.equal(runs, CASES.reduce((n, c) => n + c.bytes.length + 1, 0));
});

Deno.test("pipelined messages on one connection decode in order (whole and byte by byte)", () => {
  for (const shape of SHAPES) {
    const cases = CASES.filter((c) => c.shape === shape);
    const stream = new Uint8Array(cases.reduce((n, c) => n + c.bytes.length, 0));
    let at = 0;
    for (const c of cases) stream.set(c.bytes, at), at += c.bytes.length;
    for (const chunks of [[stream], Array.from(stream, (_, i) => stream.subarray(i, i + 1))]) {
      const r = feed(factory.create("client"), chunks);
      assert.equal(r.error, undefined, shape.name);
      assert.equal(r.frames.length, cases.length, shape.name);
      r.frames.forEach((d, i) => check(cases[i], d.frame, `${shape.name} #${i}`));
    }
  }
});

Deno.test("method names repeated, changed at one byte or in length decode right on one connection", () => {
  const names = [
    "sayHello",
    "sayHello",
    "sayHellp",
    "sayHell",
    "S:sayHello",
    "sayHello",
    "",
    "sayHello",
    "héllo",
  ];
  const stream = names.map((name, seqid) => framed(binaryMessage({ name, type: 1, seqid, body: [] })));
  const codec = factory.create("server");
  for (const [i, bytes] of stream.entries()) {
    const r = feed(codec, [bytes]);
    assert.equal(r.error, undefined, names[i]);
    const frame = r.frames[0].frame;
    const split = names[i].indexOf(":");
    assert.equal(frame.metadata.get("method"), names[i]);
    assert.equal(
      frame.operation,
      split < 0 ? names[i] : `${names[i].slice(0, split)}/${names[i].slice(split + 1)}`,
    );
    assert.equal((frame.private as { method: string }).method, names[i].slice(split + 1));
  }
});

Deno.test("pinned transport/protocol accept their shape and reject others", () => {
  const call = CASES.filter((c) => c.message.name === "echo" && c.expected.type === "request");
  for (const c of call) {
    const pinned = thriftCodecFactory({ transport: c.shape.transport, protocol: c.shape.protocol });
    assert.equal(feed(pinned.create("server"), [c.bytes]).frames.length, 1, c.name);
    const other = c.shape.protocol === "binary" ? "compact" : "binary";
    const wrong = thriftCodecFactory({ transport: c.shape.transport, protocol: other });
    assert.match(
      feed(wrong.create("server"), [c.bytes]).error ?? "",
      /^Cannot decode Thrift message/,
      c.name,
    );
  }
  assert.throws(() => thriftCodecFactory({ transport: "http" }), TypeError);
  assert.throws(() => thriftCodecFactory({ max_frame_size: -1 }), TypeError);
});

Deno.test("the detected transport is sticky per connection", () => {
  const [framedCall, unframedCall] = ["framed binary call", "unframed binary call"].map((n) =>
    CASES.find((c) => c.name === n)!
  );
  const codec = factory.create("server");
  assert.equal(feed(codec, [framedCall.bytes]).frames.length, 1);
  assert.ok(feed(codec, [unframedCall.bytes]).error);
});

Deno.test("THeader mutation round trip: headers set and overwritten, message untouched", () => {
  for (const c of CASES.filter((c) => c.shape.transport === "header")) {
    const codec = factory.create("server");
    const { frame } = feed(codec, [c.bytes]).frames[0];
    assert.deepEqual(codec.encode(frame, new Map()), { kind: "bytes", bytes: frame.bytes });
    const r = codec.encode(frame, new Map([["user", "changed"], ["x-new", "v".repeat(300)]]));
    assert.equal(r.kind, "bytes", c.name);
    if (r.kind !== "bytes") continue;
    const again = feed(factory.create("server"), [r.bytes]);
    assert.equal(again.error, undefined, c.name);
    const decoded = again.frames[0].frame;
    assert.equal(decoded.metadata.get("user"), "changed", c.name);
    assert.equal(decoded.metadata.get("x-new"), "v".repeat(300), c.name);
    assert.equal(decoded.metadata.get("x-trace"), "t1", c.name);
    if (c.shape.kitex) assert.equal(decoded.metadata.get("to_service"), "to-svc", c.name);
    assert.equal(decoded.requestId, frame.requestId, c.name);
    assert.equal(decoded.type, frame.type, c.name);
    const payload = (b: Uint8Array) => b.subarray(14 + ((b[12] << 8) | b[13]) * 4);
    assert.deepEqual(payload(r.bytes), payload(frame.bytes), c.name);
  }
  for (const c of CASES.filter((c) => c.shape.transport !== "header")) {
    const codec = factory.create("server");
    const { frame } = feed(codec, [c.bytes]).frames[0];
    assert.equal(codec.encode(frame, new Map([["a", "b"]])).kind, "not-applicable", c.name);
  }
});

Deno.test("setRequestId rewrites the seqid (both seqids in THeader) and round-trips original ids", () => {
  const ids = [0, 1, 127, 128, 16384, 2 ** 31 - 1, -1, -(2 ** 31), 0xfffffffe];
  for (const c of CASES) {
    const codec = factory.create("server");
    const { frame } = feed(codec, [c.bytes]).frames[0];
    for (const id of ids) {
      const rewritten = codec.setRequestId(frame, frame.bytes.slice(), id);
      const r = feed(factory.create("server"), [rewritten]);
      assert.equal(r.error, undefined, `${c.name} id ${id}`);
      const decoded = r.frames[0].frame;
      assert.equal(decoded.requestId, id | 0, `${c.name} id ${id}`);
      assert.equal(decoded.type, frame.type);
      assert.deepEqual(decoded.metadata, frame.metadata);
      if (c.shape.transport === "header") {
        assert.equal(new DataView(rewritten.buffer, rewritten.byteOffset).getInt32(8), id | 0);
      }
      const back = codec.setRequestId(decoded, rewritten.slice(), frame.requestId);
      assert.deepEqual(back, c.bytes, `${c.name} back from ${id}`);
    }
  }
  const codec = factory.create("server");
  const { frame } = feed(codec, [CASES[0].bytes]).frames[0];
  assert.throws(() => codec.setRequestId(frame, frame.bytes.slice(), 2 ** 32), RangeError);
});

Deno.test("local replies decode as TApplicationException with the request's seqid, method and shape", () => {
  for (const c of CASES.filter((c) => c.expected.type === "request")) {
    const codec = factory.create("server");
    const { frame } = feed(codec, [c.bytes]).frames[0];
    const reply = codec.localReply(frame, { kind: "no_healthy_upstream", message: "no upstream" });
    assert.ok(reply);
    const r = feed(
      thriftCodecFactory({ transport: c.shape.transport, protocol: c.shape.protocol }).create("client"),
      [reply],
    );
    assert.equal(r.error, undefined, c.name);
    const decoded = r.frames[0].frame;
    assert.equal(decoded.type, "error", c.name);
    assert.equal(decoded.requestId, c.expected.requestId, c.name);
    // Servers answer multiplexed calls with the bare method name; stock clients dispatch on it.
    assert.equal(decoded.metadata.get("method"), c.expected.method.replace(/^.*:/, ""), c.name);
    const expectedShape = encodeIn(c.shape, { name: "x", type: 3, seqid: 0, body: [] });
    assert.equal(
      reply[0] === 0x80 || reply[0] === 0x82,
      expectedShape[0] === 0x80 || expectedShape[0] === 0x82,
    );
    if (c.shape.transport === "header") assert.deepEqual(reply.subarray(4, 6), c.bytes.subarray(4, 6));
  }
});

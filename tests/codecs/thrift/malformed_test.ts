/** One named test per malformed input: each is rejected (or waits) before anything is allocated. */
import assert from "node:assert/strict";
import { thriftCodecFactory } from "../../../codecs/thrift/mod.ts";
import { binaryMessage, compactMessage, framed, header, hex, type TValue } from "./thrift_wire.ts";

function decode(bytes: Uint8Array, config?: Record<string, unknown>) {
  return thriftCodecFactory(config).create("server").decode(bytes);
}

function assertError(bytes: Uint8Array, pattern: RegExp, config?: Record<string, unknown>): void {
  const r = decode(bytes, config);
  assert.equal(r.kind, "error", JSON.stringify(r));
  if (r.kind === "error") {
    assert.match(r.reason, /^Cannot decode Thrift message: /);
    assert.match(r.reason, pattern);
  }
}

const call = (body: TValue[] = []) => ({
  name: "echo",
  type: 1,
  seqid: 1,
  body: body.map((value, i) => ({ id: i + 1, value })),
});

Deno.test("oversized frame length is rejected from the 8-byte prefix alone", () => {
  // Framed binary with a 0x7fffffff length: only the prefix is present, nothing is buffered further.
  assertError(hex("7fffffff8001000100000004"), /frame size 2147483647 exceeds limit 16777216/);
  assertError(hex("7fffffff80010001"), /frame size 2147483647 exceeds limit/, { transport: "framed" });
  assertError(hex("010000018001000100000004"), /frame size 16777217 exceeds limit 16777216/, {
    transport: "framed",
  });
  assertError(hex("000001000fff0000"), /frame size 256 exceeds limit 64/, {
    transport: "header",
    max_frame_size: 64,
  });
});

Deno.test("oversized string length is rejected before waiting for the bytes", () => {
  const binary = binaryMessage(call([{ type: "string", value: "abc" }]));
  binary.set([0x7f, 0xff, 0xff, 0xff], 4 + 4 + 4 + 4 + 3); // the string length of field 1
  assertError(binary.subarray(0, 28), /string length 2147483647 exceeds limit/);
  const compact = compactMessage(call([{ type: "string", value: "abc" }]));
  const at = compact.indexOf(3, 8); // varint length 3 of "abc"
  const blown = Uint8Array.from([...compact.subarray(0, at), 0xff, 0xff, 0xff, 0xff, 0x07]);
  assertError(blown, /string length 2147483647 exceeds limit/);
  assertError(framed(binaryMessage(call([{ type: "string", value: "x".repeat(100) }]))), /exceeds limit 64/, {
    max_frame_size: 64,
  });
});

Deno.test("oversized container count is rejected before looping", () => {
  const list: TValue = { type: "list", elem: "i32", values: [] };
  const bytes = binaryMessage(call([list]));
  bytes.set([0x7f, 0xff, 0xff, 0xff], bytes.length - 5); // the list size
  assertError(bytes, /container size 2147483647 exceeds limit/);
});

Deno.test("oversized method name length is rejected", () => {
  assertError(hex("80010001 7fffffff"), /method name length 2147483647 exceeds limit/, {
    transport: "unframed",
  });
});

Deno.test("bad binary version and bad compact version are rejected", () => {
  assertError(
    hex("8002000100000004 65636 86f 00000001 00".replace(/ /g, "")),
    /bad binary version|unknown transport/,
  );
  assertError(hex("80020001000000046563686f0000000100"), /bad binary version 0x80020001/, {
    transport: "unframed",
  });
  assertError(hex("822201046563686f00"), /bad compact version 2/, { transport: "unframed" });
});

Deno.test("unknown message type and unknown field type ids are rejected", () => {
  assertError(hex("80010007000000046563686f0000000100"), /unknown message type 7/);
  const bytes = binaryMessage(call([{ type: "i32", value: 1 }]));
  bytes[bytes.length - 8] = 0x11; // field type 17
  assertError(bytes, /unknown field type 17/);
  assertError(hex("8221010465636 86f1e00".replace(/ /g, "")), /unknown field type 14/);
});

Deno.test("nesting deeper than the limit is rejected (binary and compact)", () => {
  let deep: TValue = { type: "struct", fields: [] };
  for (let i = 0; i < 70; i++) deep = { type: "struct", fields: [{ id: 1, value: deep }] };
  assertError(binaryMessage(call([deep])), /nesting deeper than 64/);
  assertError(compactMessage(call([deep])), /nesting deeper than 64/);
  assert.equal(decode(binaryMessage(call([deep])), { max_depth: 100 }).kind, "frame");
});

Deno.test("truncated input: unframed waits, a frame too short for its message is an error", () => {
  const message = binaryMessage(call([{ type: "string", value: "abc" }]));
  const r = decode(message.subarray(0, message.length - 1));
  assert.deepEqual(r, { kind: "need-more", atLeast: message.length });
  const short = framed(message.subarray(0, message.length - 1));
  assertError(short, /message truncated by its frame/);
  assertError(framed(Uint8Array.from([...message, 0, 0])), /2 trailing bytes in frame/);
});

Deno.test("THeader: transforms, unknown protocol id and header beyond frame are rejected", () => {
  const message = binaryMessage(call());
  const withTransform = header(message, { protocolId: 0, seqid: 1 });
  withTransform[15] = 1; // one transform (zlib)
  assertError(withTransform, /header transforms are not supported/);
  const json = header(message, { protocolId: 1, seqid: 1 });
  assertError(json, /unsupported header protocol id 1/);
  const beyond = header(message, { protocolId: 0, seqid: 1 });
  beyond[12] = 0x40; // 16384 header words
  assertError(beyond, /header size \d+ exceeds frame size/);
});

Deno.test("a negative (non-THeader) frame length in a pinned framed codec is rejected", () => {
  assertError(hex("ffffffff80010001"), /frame size 4294967295 exceeds limit/, { transport: "framed" });
});

/** One named test per malformed Dubbo input: each must be a decode error, never need-more or a throw. */
import assert from "node:assert/strict";
import type { DecodeResult } from "../../../codecs/codec.ts";
import { createDubboCodecFactory } from "../../../codecs/dubbo/mod.ts";
import { dubboHeader, encodeRequest, hessianEncode, withHeader } from "../../support/dubbo_frames.ts";

const factory = createDubboCodecFactory();

function decode(bytes: Uint8Array, options?: Parameters<typeof createDubboCodecFactory>[0]): DecodeResult {
  return (options ? createDubboCodecFactory(options) : factory).create("server").decode(bytes);
}

function assertError(result: DecodeResult, pattern: RegExp): void {
  assert.equal(result.kind, "error", JSON.stringify(result));
  assert.match((result as { reason: string }).reason, pattern);
  assert.match((result as { reason: string }).reason, /^Cannot /);
}

/** A request body with these leading values (then whatever follows). */
function requestBody(...values: unknown[]): Uint8Array {
  return withHeader(0xc2, 0, 1, hessianEncode(...values));
}

Deno.test("malformed: bad magic", () => {
  const bytes = encodeRequest({ requestId: 1, interface: "a.B", method: "m" });
  bytes[1] = 0xbc;
  assertError(decode(bytes), /^Cannot decode Dubbo frame: bad magic 0xdabc$/);
});

Deno.test("malformed: serialization id 6 (kryo) is named in the error", () => {
  const bytes = encodeRequest({ requestId: 1, interface: "a.B", method: "m" });
  bytes[2] = 0xc6;
  assertError(decode(bytes), /^Cannot decode Dubbo frame: serialization id 6 is not hessian2 \(2\)$/);
});

Deno.test("malformed: body length 0x7fffffff with only the header is an error, not need-more", () => {
  assertError(decode(dubboHeader(0xc2, 0, 1, 0x7fffffff)), /body size 2147483647 exceeds limit 16777216/);
});

Deno.test("malformed: negative body length", () => {
  assertError(decode(dubboHeader(0xc2, 0, 1, -5)), /negative body size -5/);
});

Deno.test("malformed: maxBodySize option lowers the limit (checked before the body arrives)", () => {
  const header = dubboHeader(0xc2, 0, 1, 1025);
  assertError(decode(header, { maxBodySize: 1024 }), /body size 1025 exceeds limit 1024/);
  assert.equal(decode(header).kind, "need-more");
  assert.throws(() => createDubboCodecFactory({ maxBodySize: -1 }), RangeError);
});

Deno.test("malformed: unknown response status", () => {
  assertError(decode(withHeader(0x02, 21, 1, Uint8Array.of(0x91))), /unknown response status 21/);
});

Deno.test("malformed: truncated Hessian string (declared 30 chars, body holds 5)", () => {
  const body = Uint8Array.of(0x05, ...new TextEncoder().encode("2.0.2"), 0x1e, 0x61, 0x62);
  assertError(decode(withHeader(0xc2, 0, 1, body)), /interface: truncated string/);
});

Deno.test("malformed: garbled Hessian argument (reserved tag 0x40)", () => {
  const valid = requestBody("2.0.2", "a.B", "0.0.0", "m", "I");
  const bytes = new Uint8Array(valid.length + 1);
  bytes.set(valid);
  bytes[valid.length] = 0x40;
  new DataView(bytes.buffer).setInt32(12, bytes.length - 16);
  assertError(decode(bytes), /argument 0: unexpected tag 0x40/);
});

Deno.test("malformed: non-string interface", () => {
  assertError(
    decode(requestBody("2.0.2", 42, "0.0.0", "m", "")),
    /^Cannot decode Dubbo request: interface is not a string$/,
  );
});

Deno.test("malformed: non-string method", () => {
  assertError(decode(requestBody("2.0.2", "a.B", "0.0.0", null, "")), /method is not a string/);
});

Deno.test("malformed: bad parameter descriptor", () => {
  assertError(decode(requestBody("2.0.2", "a.B", "0.0.0", "m", "Ljava/lang/String")), /bad parameter types/);
});

Deno.test("malformed: fewer arguments than the descriptor declares", () => {
  assertError(decode(requestBody("2.0.2", "a.B", "0.0.0", "m", "II", 1)), /argument 1: truncated value/);
});

Deno.test("malformed: truncated attachment map (no 'Z')", () => {
  const valid = requestBody("2.0.2", "a.B", "0.0.0", "m", "", { a: "b" });
  const cut = withHeader(0xc2, 0, 1, valid.subarray(16, valid.length - 1));
  assertError(decode(cut), /attachments: truncated map/);
});

Deno.test("malformed: object referencing an undefined class definition", () => {
  const body = new Uint8Array([
    ...requestBody("2.0.2", "a.B", "0.0.0", "m", "Ljava/lang/Object;").subarray(16),
    0x60,
  ]);
  assertError(decode(withHeader(0xc2, 0, 1, body)), /unknown class definition 0/);
});

Deno.test("malformed: nesting deeper than the depth cap", () => {
  const deep = new Uint8Array([...new Array(100).fill(0x79), 0x4e]); // 100 nested one-element lists
  const body = new Uint8Array([
    ...requestBody("2.0.2", "a.B", "0.0.0", "m", "Ljava/util/List;").subarray(16),
    ...deep,
  ]);
  assertError(decode(withHeader(0xc2, 0, 1, body)), /nesting deeper than 64/);
});

Deno.test("malformed: fixed list longer than the body (count checked before walking)", () => {
  const body = new Uint8Array([
    ...requestBody("2.0.2", "a.B", "0.0.0", "m", "Ljava/util/List;").subarray(16),
    0x58, // 'X' untyped fixed list
    0x49,
    0x7f,
    0xff,
    0xff,
    0xff, // int 0x7fffffff elements
  ]);
  assertError(decode(withHeader(0xc2, 0, 1, body)), /list length 2147483647 exceeds what remains/);
});

Deno.test("malformed: interface longer than the string cap", () => {
  const codec = createDubboCodecFactory({ hessian: { maxStringLength: 16 } }).create("server");
  const result = codec.decode(requestBody("2.0.2", "a".repeat(17), "0.0.0", "m", ""));
  assertError(result, /interface: string longer than 16/);
});

Deno.test("malformed: response type 6, and a status-20 response with an empty body", () => {
  assertError(decode(withHeader(0x02, 20, 1, Uint8Array.of(0x96))), /response type 6 is not supported/);
  assertError(decode(withHeader(0x02, 20, 1, new Uint8Array(0))), /response type: truncated int/);
});

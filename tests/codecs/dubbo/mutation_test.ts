/** encode(frame, mutation): attachments rewritten, everything before them kept byte for byte. */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Frame } from "../../../codecs/codec.ts";
import type { DubboRequestPrivate } from "../../../codecs/dubbo/dubbo_codec.ts";
import { createDubboCodecFactory } from "../../../codecs/dubbo/mod.ts";
import {
  decodeRequestBody,
  encodeRequest,
  encodeResponse,
  hessianEncode,
  withHeader,
} from "../../support/dubbo_frames.ts";

const codec = createDubboCodecFactory().create("client");
const args = [
  "Aeraki",
  42,
  { $class: "long", $: 2 ** 40 },
  1.5,
  ["a", 1, null],
  { k: { nested: true } },
  { $class: "com.example.User", $: { id: 1, name: "n" } },
  new Date(1700000000000),
  Buffer.from([0, 1, 2]),
  "é😀".repeat(20_000),
];

function decodeFrame(bytes: Uint8Array): Frame {
  const result = codec.decode(bytes);
  assert.equal(result.kind, "frame");
  return (result as { frame: Frame }).frame;
}

function mutate(bytes: Uint8Array, mutation: Record<string, string>): Uint8Array {
  const encoded = codec.encode(decodeFrame(bytes), new Map(Object.entries(mutation)));
  assert.equal(encoded.kind, "bytes");
  return (encoded as { bytes: Uint8Array }).bytes;
}

Deno.test("mutation: set + overwrite; hessian.js reads the same args and the mutated map", () => {
  const original = encodeRequest({
    requestId: 3,
    interface: "com.example.Kitchen",
    method: "cook",
    args,
    attachments: { path: "com.example.Kitchen", foo: "bar", n: 5, list: ["x"] },
  });
  const frame = decodeFrame(original);
  const { attachStart } = (frame.private as DubboRequestPrivate).layout;
  const mutation = { foo: "baz", "x-request-id": "0f1e2d3c", "é-key": "値😀", long: "v".repeat(2000) };
  const out = mutate(original, mutation);

  assert.deepEqual(out.subarray(0, 12), original.subarray(0, 12));
  assert.equal(new DataView(out.buffer).getInt32(12), out.length - 16);
  assert.deepEqual(out.subarray(16, attachStart), original.subarray(16, attachStart), "args untouched");
  const before = decodeRequestBody(original.subarray(16));
  const after = decodeRequestBody(out.subarray(16));
  assert.deepEqual(after.args, before.args);
  assert.deepEqual(after.attachments, { ...before.attachments, ...mutation });
  // Our own decoder sees the new values too.
  const again = decodeFrame(out);
  assert.equal(again.metadata.get("foo"), "baz");
  assert.equal(again.metadata.get("é-key"), "値😀");
  assert.equal(again.metadata.get("x-request-id"), "0f1e2d3c");
});

Deno.test("mutation: empty mutation returns the frame's own bytes", () => {
  const bytes = encodeRequest({
    requestId: 1,
    interface: "a.B",
    method: "m",
    args: ["x"],
    attachments: { a: "b" },
  });
  const frame = decodeFrame(bytes);
  const encoded = codec.encode(frame, new Map());
  assert.equal(encoded.kind, "bytes");
  assert.equal((encoded as { bytes: Uint8Array }).bytes, frame.bytes);
});

Deno.test("mutation: a request without an attachment map gets one appended", () => {
  const bytes = encodeRequest({
    requestId: 1,
    interface: "a.B",
    method: "m",
    args: ["x", 1],
    attachments: null,
  });
  const out = mutate(bytes, { group: "blue" });
  assert.deepEqual(out.subarray(16, bytes.length), bytes.subarray(16));
  const body = decodeRequestBody(out.subarray(16));
  assert.deepEqual(body.args, ["x", 1]);
  assert.deepEqual(body.attachments, { group: "blue" });
});

Deno.test("mutation: a typed 'M' attachment map is re-serialised as untyped 'H'", () => {
  const values = ["2.0.2", "a.B", "0.0.0", "m", "", { $class: "java.util.HashMap", $: { a: "b" } }];
  const typed = hessianEncode(...values);
  const bytes = withHeader(0xc2, 0, 1, typed);
  const out = mutate(bytes, { c: "d" });
  assert.equal(out[16 + typed.length - hessianEncode(values[5]).length], 0x48);
  assert.deepEqual(decodeRequestBody(out.subarray(16)).attachments, { a: "b", c: "d" });
});

Deno.test("mutation: not applicable to responses, or when the attachments are not a map", () => {
  const response = decodeFrame(encodeResponse({ requestId: 1, value: "v" }));
  assert.equal(codec.encode(response, new Map([["a", "b"]])).kind, "not-applicable");
  const odd = withHeader(0xc2, 0, 1, hessianEncode("2.0.2", "a.B", "0.0.0", "m", "", "not a map"));
  assert.equal(codec.encode(decodeFrame(odd), new Map([["a", "b"]])).kind, "not-applicable");
});

Deno.test("mutation: an attachment object using a class defined by an argument survives (fuzz regression)", () => {
  const user = (id: number) => ({ $class: "com.example.User", $: { id, name: "n" } });
  const bytes = encodeRequest({
    requestId: 8,
    interface: "a.B",
    method: "m",
    args: [user(1)],
    attachments: { who: user(2), foo: "bar" },
  });
  const out = mutate(bytes, { foo: "baz" });
  const body = decodeRequestBody(out.subarray(16));
  assert.deepEqual(body.args, [{ id: 1, name: "n" }]);
  assert.deepEqual(body.attachments, { who: { id: 2, name: "n" }, foo: "baz" });
});

/** The hand-written Hessian2 reader/writer cross-checked against bodies produced and read by hessian.js. */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Hessian2Reader } from "../../../codecs/dubbo/hessian2_reader.ts";
import { stringSize, writeString } from "../../../codecs/dubbo/hessian2_writer.ts";
import { hessianDecodeAll, hessianEncode } from "../../support/dubbo_frames.ts";

const long = (n: number) => ({ $class: "long", $: n });
const shared = { shared: "object" };

/** Every kind of argument a Dubbo client sends, in every encoding range hessian.js uses. */
const values: [string, unknown][] = [
  ...[-16, 0, 47, -2048, 2047, -262144, 262143, 2 ** 31 - 1, -(2 ** 31)].map((n) =>
    [`int ${n}`, n] as [string, unknown]
  ),
  ...[-8, 15, -2048, 2047, -262144, 262143, 2 ** 31 - 1, 2 ** 40, -(2 ** 50)].map((n) =>
    [`long ${n}`, long(n)] as [string, unknown]
  ),
  ["long 2^40 (untyped)", 2 ** 40],
  ...[0, 1, 1.5, -3, 127, 300.25, 1e100, -0.1].map((n) =>
    [`double ${n}`, { $class: "double", $: n }] as [string, unknown]
  ),
  ["true", true],
  ["false", false],
  ["null", null],
  ["date", new Date(1700000000123)],
  ["date on a minute", new Date(1700000040000)],
  ["bytes short", Buffer.from([1, 2, 3])],
  ["bytes medium", Buffer.alloc(1000, 7)],
  ["bytes chunked", Buffer.alloc(70_000, 9)],
  ["list untyped", [1, "two", null, [3, [4]]]],
  ["list typed", { $class: "[int", $: [1, 2, 3] }],
  ["list long typed", { $class: "java.util.ArrayList", $: Array.from({ length: 20 }, (_, i) => i) }],
  ["map untyped", { a: 1, b: { c: [true] } }],
  ["map typed", { $class: "java.util.HashMap", $: { k: "v" } }],
  ["map with Map keys", new Map<unknown, unknown>([[1, "one"], ["two", 2]])],
  ["typed object", { $class: "com.example.User", $: { id: long(42), name: "n", tags: ["a"] } }],
  ["two objects of one class (class ref)", [
    { $class: "com.example.P", $: { x: 1 } },
    { $class: "com.example.P", $: { x: 2 } },
  ]],
  ["back references", [shared, shared, shared]],
];

const strings = [
  "",
  "a",
  "x".repeat(31),
  "x".repeat(32),
  "x".repeat(1023),
  "x".repeat(1024),
  "x".repeat(65_535),
  "x".repeat(70_000),
  "é",
  "中文 and ascii",
  "😀",
  "é😀中".repeat(12_000), // chunked, multi-byte, surrogate pairs near chunk ends
  "a" + "😀".repeat(20_000),
];

Deno.test("reader: skipValue lands exactly after every hessian.js value kind", () => {
  const reader = new Hessian2Reader();
  for (
    const [name, value] of [
      ...values,
      ...strings.map((s) => [`string ${s.length}`, s] as [string, unknown]),
    ]
  ) {
    const bytes = hessianEncode(value, "sentinel");
    reader.reset(bytes, 0, bytes.length);
    assert.ok(reader.skipValue(), `${name}: ${reader.error}`);
    assert.equal(reader.readString(), "sentinel", name);
    assert.equal(reader.pos, bytes.length, name);
  }
});

Deno.test("reader: several values in one body share class definitions (as in a Dubbo request)", () => {
  const bytes = hessianEncode(...values.map(([, v]) => v), "end");
  const reader = new Hessian2Reader();
  reader.reset(bytes, 0, bytes.length);
  for (const [name] of values) assert.ok(reader.skipValue(), `${name}: ${reader.error}`);
  assert.equal(reader.readString(), "end");
});

Deno.test("reader: readString equals hessian.js for short, medium, chunked and non-ASCII strings", () => {
  const reader = new Hessian2Reader();
  for (const s of strings) {
    const bytes = hessianEncode(s);
    reader.reset(bytes, 0, bytes.length);
    assert.equal(reader.readString(), s, `length ${s.length}`);
    assert.equal(reader.pos, bytes.length);
  }
});

Deno.test("reader: 4-byte UTF-8 (non-Java writers) counts as two UTF-16 units", () => {
  const utf8 = new TextEncoder().encode("a😀");
  const bytes = Uint8Array.of(3, ...utf8); // length 3 units: 'a' + surrogate pair
  const reader = new Hessian2Reader();
  reader.reset(bytes, 0, bytes.length);
  assert.equal(reader.readString(), "a😀");
});

Deno.test("reader: readInt reads every int encoding", () => {
  const reader = new Hessian2Reader();
  for (const n of [-16, 47, -2048, 2047, -262144, 262143, 2 ** 31 - 1, -(2 ** 31)]) {
    const bytes = hessianEncode(n);
    reader.reset(bytes, 0, bytes.length);
    assert.equal(reader.readInt(), n);
  }
});

Deno.test("writer: stringSize/writeString produce exactly hessian.js's bytes", () => {
  for (const s of strings) {
    const expected = hessianEncode(s);
    assert.equal(stringSize(s), expected.length, `length ${s.length}`);
    const out = new Uint8Array(stringSize(s));
    assert.equal(writeString(out, 0, s), out.length);
    assert.deepEqual(out, expected, `length ${s.length}`);
    assert.deepEqual(hessianDecodeAll(out), [s]);
  }
});

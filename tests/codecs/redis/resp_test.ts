import assert from "node:assert/strict";
import {
  encodeArray,
  encodeBulk,
  encodeCommand,
  encodeError,
  encodeInteger,
} from "../../../codecs/redis/encode.ts";
import {
  RespDecoder,
  RespProtocolError,
  RespType,
  type RespValue,
  textOf,
} from "../../../codecs/redis/resp.ts";
import { crc16, slotOf } from "../../../codecs/redis/crc16.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function decodeAll(decoder: RespDecoder): (RespValue | RespProtocolError)[] {
  const out: (RespValue | RespProtocolError)[] = [];
  for (;;) {
    const v = decoder.next();
    if (v === null) return out;
    out.push(v);
    if (v instanceof RespProtocolError) return out;
  }
}

/** A compact rendering of a value for assertions. */
function show(v: RespValue | RespProtocolError): unknown {
  if (v instanceof RespProtocolError) return `error: ${v.message}`;
  if (v.type === RespType.ARRAY) return v.items === null ? null : v.items.map(show);
  if (v.type === RespType.BULK) return v.data === null ? null : dec.decode(v.data);
  return String.fromCharCode(v.type) + textOf(v);
}

const CASES: [string, string, unknown[]][] = [
  ["simple, error, integer", "+OK\r\n-ERR bad\r\n:-42\r\n", ["+OK", "-ERR bad", ":-42"]],
  ["bulk and null bulk", "$5\r\nhello\r\n$0\r\n\r\n$-1\r\n", ["hello", "", null]],
  ["binary bulk with CRLF inside", "$4\r\na\r\nb\r\n", ["a\r\nb"]],
  ["arrays, nested, empty, null", "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*2\r\n*1\r\n:1\r\n*0\r\n*-1\r\n", [
    ["GET", "k"],
    [[":1"], []],
    null,
  ]],
  ["inline commands, empty line skipped", "PING\r\n\r\nset  a   b\n", [["PING"], ["set", "a", "b"]]],
];

Deno.test("RespDecoder decodes each value kind whole, byte by byte and split at every boundary", () => {
  for (const [name, input, expected] of CASES) {
    const bytes = enc.encode(input);
    const whole = new RespDecoder({ inline: true });
    whole.push(bytes);
    assert.deepEqual(decodeAll(whole).map(show), expected, `${name} (whole)`);
    const byByte = new RespDecoder({ inline: true });
    const got: unknown[] = [];
    for (const b of bytes) {
      byByte.push(Uint8Array.of(b));
      got.push(...decodeAll(byByte).map(show));
    }
    assert.deepEqual(got, expected, `${name} (byte by byte)`);
    for (let cut = 1; cut < bytes.length; cut++) {
      const d = new RespDecoder({ inline: true });
      d.push(bytes.subarray(0, cut));
      const parts = decodeAll(d).map(show);
      d.push(bytes.subarray(cut));
      parts.push(...decodeAll(d).map(show));
      assert.deepEqual(parts, expected, `${name} (cut at ${cut})`);
    }
  }
});

Deno.test("RespDecoder raw views are the exact encodings and survive buffer relocation", () => {
  const d = new RespDecoder();
  const big = "x".repeat(100_000);
  const input = enc.encode(`*2\r\n$3\r\nSET\r\n$${big.length}\r\n${big}\r\n+OK\r\n`);
  const values: RespValue[] = [];
  for (let off = 0; off < input.length; off += 7000) {
    d.push(input.subarray(off, off + 7000));
    for (let v = d.next(); v !== null; v = d.next()) values.push(v as RespValue);
  }
  assert.equal(values.length, 2);
  assert.deepEqual(values[0].raw, input.subarray(0, input.length - 5));
  assert.equal(dec.decode(values[0].items![1].data!), big);
  assert.equal(dec.decode(values[1].raw), "+OK\r\n");
  assert.equal(d.buffered, 0);
});

Deno.test("RespDecoder rejects oversize lengths before buffering them", () => {
  const reject = (input: string, limits: ConstructorParameters<typeof RespDecoder>[0], pattern: RegExp) => {
    const d = new RespDecoder(limits);
    d.push(enc.encode(input));
    const v = d.next();
    assert.ok(v instanceof RespProtocolError, `${JSON.stringify(input)} should be rejected`);
    assert.match(v.message, pattern);
  };
  reject("$2147483648\r\n", {}, /bulk length 2147483648 exceeds limit 536870912/);
  reject("$11\r\n", { maxBulkLength: 10 }, /bulk length 11 exceeds limit 10/);
  reject("*10000000\r\n", {}, /array length 10000000 exceeds limit 1048576/);
  reject("*1\r\n".repeat(33), {}, /nesting deeper than 32/);
  reject("$99999999999999999999\r\n", {}, /invalid length/);
  reject("$-5\r\n", {}, /invalid length/);
  reject(":12a\r\n", {}, /invalid integer/);
  reject("+OK\rX", {}, /not terminated by CRLF/);
  reject("$3\r\nabcXY", {}, /bulk string not terminated/);
  reject("!garbage\r\n", {}, /unexpected type byte 0x21/);
  reject("+" + "a".repeat(70_000), {}, /line longer than 65536/);
  reject("x".repeat(70_000), { inline: true }, /line longer than 65536/);
});

Deno.test("RespDecoder accepts a 1,048,576-element array and 32 levels of nesting", () => {
  const d = new RespDecoder();
  d.push(enc.encode(`*1048576\r\n` + ":1\r\n".repeat(1_048_576)));
  const v = d.next() as RespValue;
  assert.equal(v.items!.length, 1_048_576);
  const deep = new RespDecoder();
  deep.push(enc.encode("*1\r\n".repeat(31) + "*0\r\n"));
  assert.equal((deep.next() as RespValue).type, RespType.ARRAY);
});

Deno.test("encoders write the exact wire strings", () => {
  assert.equal(
    dec.decode(encodeCommand(["SET", "key", enc.encode("v\r\n")])),
    "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$3\r\nv\r\n\r\n",
  );
  assert.equal(dec.decode(encodeBulk("bulk string")), "$11\r\nbulk string\r\n");
  assert.equal(dec.decode(encodeBulk(null)), "$-1\r\n");
  assert.equal(dec.decode(encodeInteger(-7)), ":-7\r\n");
  assert.equal(dec.decode(encodeError("ERR two\r\nlines")), "-ERR two lines\r\n");
  assert.equal(dec.decode(encodeArray([encodeInteger(1), encodeBulk("a")])), "*2\r\n:1\r\n$1\r\na\r\n");
});

Deno.test("slotOf matches Redis Cluster key slots, hash tags included", () => {
  assert.equal(crc16(enc.encode("123456789")), 0x31c3);
  assert.equal(slotOf(enc.encode("foo")), 12182);
  assert.equal(slotOf(enc.encode("{user1000}.following")), slotOf(enc.encode("{user1000}.followers")));
  assert.equal(slotOf(enc.encode("foo{}{bar}")), slotOf(enc.encode("foo{}{bar}")));
  assert.notEqual(slotOf(enc.encode("foo{}{bar}")), slotOf(enc.encode("bar")));
  assert.equal(slotOf(enc.encode("foo{{bar}}zap")), slotOf(enc.encode("{bar")));
});

import assert from "node:assert/strict";
import { commandAt } from "../../../codecs/redis/commands.ts";
import {
  FOUND,
  MAX_FAST_ARGS,
  MAX_FAST_ELEMENTS,
  NEED_MORE,
  scanCommand,
  ScanRecord,
  scanReply,
  SLOW,
} from "../../../codecs/redis/scan.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const BIG = 1 << 30;

/** Every proper prefix needs more; the whole value is found with its exact end (trailing bytes ignored). */
function checkSplits(
  wire: string,
  scan: (buf: Uint8Array, end: number, out: ScanRecord) => number,
): ScanRecord {
  const bytes = enc.encode(wire + "+NEXT\r\n");
  const out = new ScanRecord();
  for (let cut = 1; cut < wire.length; cut++) {
    assert.equal(scan(bytes, cut, out), NEED_MORE, `${JSON.stringify(wire)} cut at ${cut}`);
  }
  assert.equal(scan(bytes, bytes.length, out), FOUND);
  assert.equal(out.end, wire.length);
  return out;
}

const command = (buf: Uint8Array, end: number, out: ScanRecord) => scanCommand(buf, 0, end, out, BIG, BIG);
const reply = (buf: Uint8Array, end: number, out: ScanRecord) => scanReply(buf, 0, end, out, BIG, BIG);

Deno.test("scanCommand finds command ends, name and first key at every split", () => {
  const wire = "*3\r\n$3\r\nSET\r\n$5\r\nk\r\ney\r\n$10\r\n0123456789\r\n";
  const out = checkSplits(wire, command);
  const bytes = enc.encode(wire);
  assert.equal(out.argc, 3);
  assert.equal(dec.decode(bytes.subarray(out.nameStart, out.nameEnd)), "SET");
  assert.equal(dec.decode(bytes.subarray(out.keyStart, out.keyEnd)), "k\r\ney");
  const one = checkSplits("*1\r\n$4\r\nPING\r\n", command);
  assert.equal(one.keyStart, one.keyEnd);
});

Deno.test("scanCommand leaves inline, nested, malformed and over-limit commands to the full decoder", () => {
  const out = new ScanRecord();
  const slow = (wire: string, maxBulk = BIG, maxArray = BIG) =>
    assert.equal(scanCommand(enc.encode(wire), 0, wire.length, out, maxBulk, maxArray), SLOW, wire);
  slow("PING\r\n");
  slow("*1\r\n*1\r\n$1\r\na\r\n");
  slow("*1\r\n:1\r\n");
  slow("*0\r\n");
  slow("*-1\r\n");
  slow("*1\r\n$3\r\nabcXY");
  slow("*1\r\n$x\r\n");
  slow("*1\r\n$1234567890123456\r\n");
  slow("*2\r\n$3\r\nGET\r\n$9\r\n", 8);
  slow("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", BIG, 1);
  slow(`*${MAX_FAST_ARGS + 1}\r\n`);
});

Deno.test("scanReply finds reply ends at every split, nested arrays and nulls included", () => {
  for (
    const wire of [
      "+OK\r\n",
      "-MOVED 1 127.0.0.1:7000\r\n",
      ":-42\r\n",
      "$5\r\nhello\r\n",
      "$4\r\na\r\nb\r\n",
      "$-1\r\n",
      "*-1\r\n",
      "*0\r\n",
      "*3\r\n$1\r\na\r\n*2\r\n:1\r\n*0\r\n$-1\r\n",
    ]
  ) {
    assert.equal(checkSplits(wire, reply).type, wire.charCodeAt(0));
  }
});

Deno.test("scanReply leaves malformed, huge and deep replies to the full decoder", () => {
  const out = new ScanRecord();
  const slow = (wire: string, maxBulk = BIG) =>
    assert.equal(scanReply(enc.encode(wire), 0, wire.length, out, maxBulk, BIG), SLOW, wire);
  slow("?x\r\n");
  slow(":12a\r\n");
  slow("+OK\rX");
  slow("$3\r\nabcXY");
  slow("$9\r\n", 8);
  slow(`*${MAX_FAST_ELEMENTS + 1}\r\n`);
  slow("*1\r\n".repeat(9) + ":1\r\n");
});

Deno.test("commandAt looks names up case-insensitively without strings", () => {
  const bytes = enc.encode("xxGeTyyINCRBYzz");
  assert.equal(commandAt(bytes, 2, 5)?.name, "get");
  assert.equal(commandAt(bytes, 7, 13)?.name, "incrby");
  assert.equal(commandAt(bytes, 2, 4), undefined);
  assert.equal(commandAt(enc.encode("zrangebyscore"), 0, 13), undefined);
});

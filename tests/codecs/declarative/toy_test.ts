/**
 * Features neither shipped description uses, on a toy protocol: little-endian header, a u64 request id,
 * direction and heartbeat/oneway from flag bits, a varint-prefixed string, a kv_list section, length
 * counted after the length field, a heartbeat answer and kv mutation.
 */
import assert from "node:assert/strict";
import { createDeclarativeCodecFactory, loadProtocol } from "../../../codecs/declarative/mod.ts";
import { decodeError, decodeEveryWay } from "./_matrix.ts";
import { TOY, toyFrame } from "./_toy.ts";

const program = loadProtocol(TOY);
const factory = createDeclarativeCodecFactory(program);

Deno.test("toy: request every way with string and kv_list metadata and a u64 id", () => {
  const f = decodeEveryWay(factory, "client", toyFrame(0xc0, 2n ** 60n, "echo", [["k", "v"], ["zone", "a"]]));
  assert.equal(f.type, "request"); // direction from the flag, whatever the role
  assert.equal(f.requestId, 2n ** 60n);
  assert.equal(f.operation, "echo");
  assert.deepEqual(Object.fromEntries(f.metadata), {
    service: "echo",
    flags: "192",
    "attr.k": "v",
    "attr.zone": "a",
  });
  assert.equal(factory.multiplexable, true);
});

Deno.test("toy: oneway, heartbeat and error kinds from flag bits", () => {
  assert.equal(decodeEveryWay(factory, "server", toyFrame(0x80, 1n, "s", [])).type, "oneway");
  assert.equal(decodeEveryWay(factory, "server", toyFrame(0xe0, 1n, "s", [])).type, "heartbeat");
  const err = decodeEveryWay(factory, "client", toyFrame(0x01, 1n, "s", []));
  assert.equal(err.type, "error");
  assert.equal(err.ok, false);
  assert.equal(decodeEveryWay(factory, "client", toyFrame(0x00, 1n, "s", [])).ok, true);
});

Deno.test("toy malformed: entry limit, entry past the section, section past the frame, oversized", () => {
  const many = Array.from({ length: 9 }, (_, i): [string, string] => [`k${i}`, "v"]);
  assert.match(decodeError(factory, "server", toyFrame(0xc0, 1n, "s", many)), /9 entries, over the limit 8/);
  const cut = toyFrame(0xc0, 1n, "s", [["key", "value"]]);
  cut[14 + 2 + 2 + 1] = 200; // key length past the section
  assert.match(decodeError(factory, "server", cut), /entry 0 has a key past the section end/);
  const trailing = toyFrame(0xc0, 1n, "s", []);
  trailing[14 + 2] = 3; // kv section claims 3 bytes, holds 1 (count 0) + the rest is outside the frame
  assert.match(decodeError(factory, "server", trailing), /section 'attrs'/);
  const huge = toyFrame(0xc0, 1n, "s", []).subarray(0, 14);
  new DataView(huge.buffer, huge.byteOffset).setUint32(10, 0xffffffff, true);
  assert.match(decodeError(factory, "server", huge), /exceeds limit 4096/);
});

Deno.test("toy: u64 id rewrite in place; kv mutation; heartbeat and error replies", () => {
  const codec = factory.create("server");
  const r = codec.decode(toyFrame(0xc0, 5n, "svc", [["k", "v"]]));
  if (r.kind !== "frame") throw new Error(r.kind);
  const moved = codec.setRequestId(r.frame, r.frame.bytes.slice(), 2n ** 63n);
  assert.equal(decodeEveryWay(factory, "server", moved).requestId, 2n ** 63n);
  const mutated = codec.encode(r.frame, new Map([["k", "w"], ["new", "x".repeat(200)]]));
  if (mutated.kind !== "bytes") throw new Error(mutated.kind);
  const back = decodeEveryWay(factory, "server", mutated.bytes);
  assert.equal(back.metadata.get("attr.k"), "w");
  assert.equal(back.metadata.get("attr.new"), "x".repeat(200));
  assert.equal(back.metadata.get("service"), "svc");
  const hb = codec.decode(toyFrame(0xe0, 77n, "", []));
  if (hb.kind !== "frame") throw new Error(hb.kind);
  const answer = decodeEveryWay(factory, "client", codec.heartbeatReply(hb.frame)!);
  assert.equal(answer.type, "heartbeat");
  assert.equal(answer.requestId, 77);
  const reply = decodeEveryWay(
    factory,
    "client",
    codec.localReply(r.frame, { kind: "timeout", message: "late" })!,
  );
  assert.equal(reply.type, "error");
  assert.equal(reply.requestId, 5);
  assert.equal(reply.metadata.get("service"), "late");
});

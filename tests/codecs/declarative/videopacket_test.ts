import assert from "node:assert/strict";
import { createDeclarativeCodecFactory, shippedProtocols } from "../../../codecs/declarative/mod.ts";
import { decodeVideoPacket, encodeVideoPacket } from "../../support/videopacket_peer.ts";
import { decodeError, decodeEveryWay } from "./_matrix.ts";

const factory = createDeclarativeCodecFactory(shippedProtocols().get("videopacket")!);

Deno.test("videopacket: no request id, so not multiplexable", () => {
  assert.equal(factory.name, "metamesh.codec.videopacket");
  assert.equal(factory.multiplexable, false);
});

Deno.test("videopacket: request and response every way; command as metadata", () => {
  const req = decodeEveryWay(factory, "server", encodeVideoPacket(24608, new Uint8Array([9, 8, 7])));
  assert.equal(req.type, "request");
  assert.equal(req.requestId, 0);
  assert.deepEqual(Object.fromEntries(req.metadata), { command: "24608" });
  assert.equal(req.operation, "24608");
  const min = decodeEveryWay(factory, "client", encodeVideoPacket(1));
  assert.equal(min.type, "response");
  assert.equal(min.bytes.length, 17);
});

Deno.test("videopacket malformed: STX, ETX, short and oversized lengths", () => {
  const bad = encodeVideoPacket(1);
  bad[0] = 0x27;
  assert.match(decodeError(factory, "server", bad.subarray(0, 1)), /not the magic/);
  const etx = encodeVideoPacket(1);
  etx[16] = 0;
  assert.match(decodeError(factory, "server", etx), /trailer/);
  const short = encodeVideoPacket(1);
  new DataView(short.buffer).setUint32(1, 16);
  assert.match(decodeError(factory, "server", short), /below the header size/);
  const huge = encodeVideoPacket(1).subarray(0, 16);
  new DataView(huge.buffer).setUint32(1, 2 * 1024 * 1024 + 1);
  assert.match(decodeError(factory, "server", huge), /exceeds limit 2097152/);
});

Deno.test("videopacket: no mutation target; local reply echoes the command", () => {
  const codec = factory.create("server");
  const r = codec.decode(encodeVideoPacket(153, new Uint8Array([1])));
  if (r.kind !== "frame") throw new Error(r.kind);
  assert.equal(codec.encode(r.frame, new Map([["a", "b"]])).kind, "not-applicable");
  assert.throws(() => codec.setRequestId(r.frame, r.frame.bytes.slice(), 1), /no rewritable request id/);
  const reply = codec.localReply(r.frame, { kind: "route_not_found", message: "x" })!;
  assert.deepEqual(decodeVideoPacket(reply), { command: 153, version: 1, commHeader: new Uint8Array(0) });
  assert.equal(decodeEveryWay(factory, "client", reply).type, "response");
});

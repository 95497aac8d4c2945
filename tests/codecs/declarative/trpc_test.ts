import assert from "node:assert/strict";
import { createDeclarativeCodecFactory, shippedProtocols } from "../../../codecs/declarative/mod.ts";
import {
  decodeTrpcFrame,
  encodeTrpcRequest,
  encodeTrpcResponse,
  frame as trpcFrame,
} from "../../support/trpc_peer.ts";
import { decodeError, decodeEveryWay } from "./_matrix.ts";

const factory = createDeclarativeCodecFactory(shippedProtocols().get("trpc")!);
const greet = {
  requestId: 7,
  caller: "trpc.app.client.service",
  callee: "trpc.test.helloworld",
  func: "/trpc.test.helloworld.Greeter/SayHello",
  timeout: 1000,
  transInfo: { version: "v1", "trpc-dyeing-key": "abc" },
  body: new TextEncoder().encode("hello"),
};

Deno.test("tRPC: the factory is multiplexable and named after the description", () => {
  assert.equal(factory.name, "metamesh.codec.trpc");
  assert.equal(factory.multiplexable, true);
});

Deno.test("tRPC: request whole, byte by byte and split: metadata, id, operation", () => {
  const f = decodeEveryWay(factory, "server", encodeTrpcRequest(greet));
  assert.equal(f.type, "request");
  assert.equal(f.requestId, 7);
  assert.equal(f.ok, true);
  assert.equal(f.operation, "/trpc.test.helloworld.Greeter/SayHello");
  assert.deepEqual(Object.fromEntries(f.metadata), {
    caller: greet.caller,
    callee: greet.callee,
    func: greet.func,
    version: "v1",
    "trpc-dyeing-key": "abc",
  });
});

Deno.test("tRPC: oneway call_type, absent id, 32-bit id", () => {
  assert.equal(
    decodeEveryWay(factory, "server", encodeTrpcRequest({ ...greet, callType: 1 })).type,
    "oneway",
  );
  assert.equal(decodeEveryWay(factory, "server", encodeTrpcRequest({ requestId: 0 })).requestId, 0);
  assert.equal(
    decodeEveryWay(factory, "server", encodeTrpcRequest({ requestId: 0xffffffff })).requestId,
    0xffffffff,
  );
});

Deno.test("tRPC: responses: ok, framework error, business error", () => {
  const ok = decodeEveryWay(
    factory,
    "client",
    encodeTrpcResponse({ requestId: 9, transInfo: { server: "a" } }),
  );
  assert.equal(ok.type, "response");
  assert.equal(ok.requestId, 9);
  assert.equal(ok.ok, true);
  assert.equal(ok.metadata.get("server"), "a");
  const err = decodeEveryWay(
    factory,
    "client",
    encodeTrpcResponse({ requestId: 9, ret: 11, errorMsg: "no service" }),
  );
  assert.equal(err.ok, false);
  assert.equal(err.metadata.get("error_msg"), "no service");
  assert.equal(
    decodeEveryWay(factory, "client", encodeTrpcResponse({ requestId: 1, funcRet: -5 })).ok,
    false,
  );
});

Deno.test("tRPC malformed: bad magic", () => {
  const bytes = encodeTrpcRequest(greet);
  bytes[1] = 0x31;
  assert.match(decodeError(factory, "server", bytes.subarray(0, 2)), /not the magic/);
});

Deno.test("tRPC malformed: oversized total size is rejected from the header alone", () => {
  const header = trpcFrame([]).subarray(0, 16);
  new DataView(header.buffer).setUint32(4, 0xffffffff);
  assert.match(decodeError(factory, "server", header), /frame size 4294967295 exceeds limit 10485760/);
});

Deno.test("tRPC malformed: total size below the header, header size past the frame", () => {
  const small = trpcFrame([]);
  new DataView(small.buffer).setUint32(4, 15);
  assert.match(decodeError(factory, "server", small), /below the header size/);
  const over = trpcFrame([0x18, 0x01]);
  new DataView(over.buffer).setUint16(8, 500);
  assert.match(
    decodeError(factory, "server", over),
    /section 'protocol_header' of 500 bytes .* exceeds the frame/,
  );
});

Deno.test("tRPC malformed: cut protobuf, group wire type, streaming frame", () => {
  assert.match(decodeError(factory, "server", trpcFrame([0x18, 0x80])), /cut varint in field 3/);
  assert.match(decodeError(factory, "server", trpcFrame([0x1b])), /unsupported wire type 3/);
  const stream = trpcFrame([]);
  stream[2] = 1;
  stream[3] = 1;
  assert.match(decodeError(factory, "server", stream), /streaming frames are not supported/);
});

Deno.test("tRPC: request id rewrite in place, growing, and inserted; the peer reads it back", () => {
  const codec = factory.create("server");
  for (const [from, to] of [[7, 9], [7, 300], [300, 7], [0, 70000]]) {
    const original = encodeTrpcRequest({ ...greet, requestId: from });
    const r = codec.decode(original);
    assert.equal(r.kind, "frame");
    if (r.kind !== "frame") return;
    const out = codec.setRequestId(r.frame, original.slice(), to);
    const peer = decodeTrpcFrame(out, 9);
    assert.equal(peer.fields.get(3), to);
    assert.equal(peer.totalSize, out.length);
    assert.equal(new TextDecoder().decode(peer.body), "hello");
    assert.equal(peer.transInfo.get("version"), "v1");
    const back = factory.create("server").decode(out);
    assert.equal(back.kind === "frame" && back.frame.requestId, to);
    const restored = codec.setRequestId(r.frame, out.slice(), from);
    if (from !== 0) assert.deepEqual(restored, original, `round trip ${from} → ${to} → ${from}`);
    else assert.equal(decodeTrpcFrame(restored, 9).fields.get(3), 0); // an explicit 0 stays on the wire
  }
});

Deno.test("tRPC: mutation sets and replaces trans_info entries, keeping the rest", () => {
  const codec = factory.create("server");
  const bytes = encodeTrpcRequest(greet);
  const r = codec.decode(bytes);
  if (r.kind !== "frame") throw new Error(r.kind);
  const out = codec.encode(r.frame, new Map([["version", "v2"], ["x-request-id", "r-1"]]));
  assert.equal(out.kind, "bytes");
  if (out.kind !== "bytes") return;
  const peer = decodeTrpcFrame(out.bytes, 9);
  assert.deepEqual(Object.fromEntries(peer.transInfo), {
    "trpc-dyeing-key": "abc",
    version: "v2",
    "x-request-id": "r-1",
  });
  assert.equal(peer.fields.get(6), greet.callee);
  assert.equal(new TextDecoder().decode(peer.body), "hello");
  assert.equal(codec.encode(r.frame, new Map()).kind, "bytes");
});

Deno.test("tRPC: response mutation uses ResponseProtocol trans_info (field 8)", () => {
  const codec = factory.create("client");
  const r = codec.decode(encodeTrpcResponse({ requestId: 3, body: new Uint8Array([1, 2]) }));
  if (r.kind !== "frame") throw new Error(r.kind);
  const out = codec.encode(r.frame, new Map([["x-envoy-peer-metadata", "m"]]));
  if (out.kind !== "bytes") throw new Error(out.kind);
  assert.equal(decodeTrpcFrame(out.bytes, 8).transInfo.get("x-envoy-peer-metadata"), "m");
});

Deno.test("tRPC: local reply is a ResponseProtocol error with the request id; none for oneway", () => {
  const server = factory.create("server");
  const r = server.decode(encodeTrpcRequest({ ...greet, requestId: 4242 }));
  if (r.kind !== "frame") throw new Error(r.kind);
  const reply = server.localReply(r.frame, { kind: "route_not_found", message: "no route" })!;
  const back = decodeEveryWay(factory, "client", reply);
  assert.equal(back.type, "response");
  assert.equal(back.requestId, 4242);
  assert.equal(back.ok, false);
  const peer = decodeTrpcFrame(reply, 8);
  assert.equal(peer.fields.get(4), 11);
  assert.equal(peer.fields.get(6), "no route");
  const other = server.localReply(r.frame, { kind: "upstream_reset", message: "x" })!;
  assert.equal(decodeTrpcFrame(other, 8).fields.get(4), 31);
  const one = server.decode(encodeTrpcRequest({ ...greet, callType: 1 }));
  if (one.kind !== "frame") throw new Error(one.kind);
  assert.equal(server.localReply(one.frame, { kind: "timeout", message: "t" }), null);
  assert.equal(server.heartbeatReply(one.frame), null);
});

/**
 * The Dubbo vectors of shared/specs/frames.md (sections A–C, self-check list F), read from the file
 * itself so the hex is exactly as documented.
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import type { DecodeResult, Frame } from "../../../codecs/codec.ts";
import { createDubboCodecFactory } from "../../../codecs/dubbo/mod.ts";
import { decodeRequestBody, hessianDecodeAll } from "../../support/dubbo_frames.ts";
import { sharedDir } from "../../support/paths.ts";

const doc = Deno.readTextFileSync(resolve(sharedDir, "specs/frames.md"));
const factory = createDubboCodecFactory();

function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** Hex of a table row `| id | \`hex\` | ...`. */
function tableHex(id: string): Uint8Array {
  const row = doc.match(new RegExp(`^\\| ${id} \\| \`([0-9a-f]+)\``, "m"));
  assert.ok(row, `vector ${id} not found`);
  return fromHex(row[1]);
}

/** The n-th fenced block after heading `### <id>`. */
function blockHex(id: string, n = 0): Uint8Array {
  const at = doc.indexOf(`### ${id} `);
  assert.ok(at >= 0, `vector ${id} not found`);
  const blocks = [...doc.slice(at).matchAll(/```\n([0-9a-f\n]+)```/g)];
  return fromHex(blocks[n][1].replace(/\n/g, ""));
}

function frameOf(result: DecodeResult): Frame {
  assert.equal(result.kind, "frame", JSON.stringify(result));
  return (result as { frame: Frame }).frame;
}

function decode(bytes: Uint8Array): DecodeResult {
  return factory.create("server").decode(bytes);
}

/** A header from section A completed with a body that makes the frame valid for its type. */
function withBody(header: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + body.length);
  out.set(header);
  new DataView(out.buffer).setInt32(12, body.length);
  out.set(body, 16);
  return out;
}

Deno.test("D-H1..D-H6, D-H12: header-only vectors are need-more until the body arrives, then typed", () => {
  // Requests: D-B1 + an empty parameter descriptor (a whole zero-argument invocation).
  const invocation = fromHex("05322e302e32047465737405302e302e30047465737400");
  const cases: [string, Uint8Array, Frame["type"], boolean][] = [
    ["D-H1", invocation, "request", true],
    ["D-H2", invocation, "oneway", true],
    ["D-H3", Uint8Array.of(0x4e), "heartbeat", true],
    ["D-H4", Uint8Array.of(0x91, 0x4e), "response", true],
    ["D-H5", fromHex("0474657374"), "error", false],
    ["D-H6", Uint8Array.of(0x4e), "heartbeat", true],
    ["D-H12", Uint8Array.of(0x92), "response", true],
  ];
  for (const [id, body, type, ok] of cases) {
    const header = tableHex(id);
    assert.deepEqual(decode(header), { kind: "need-more", atLeast: 17 }, id);
    const frame = frameOf(decode(withBody(header, body)));
    assert.equal(frame.type, type, id);
    assert.equal(frame.ok, ok, id);
    assert.equal(frame.requestId, 1, id);
  }
});

Deno.test("D-H7..D-H10, D-H13: bad headers are errors from the header alone", () => {
  const expected: Record<string, RegExp> = {
    "D-H7": /bad magic 0x0000/,
    "D-H8": /body size 16777217 exceeds limit 16777216/,
    "D-H9": /serialization id 3 is not hessian2 \(2\)/,
    "D-H10": /unknown response status 0/,
    "D-H13": /unknown response status 0/,
  };
  for (const [id, reason] of Object.entries(expected)) {
    const result = decode(tableHex(id));
    assert.equal(result.kind, "error", id);
    assert.match((result as { reason: string }).reason, reason, id);
    assert.match((result as { reason: string }).reason, /^Cannot decode Dubbo frame: /, id);
  }
});

Deno.test("D-H11: 15 bytes are need-more", () => {
  assert.deepEqual(decode(new Uint8Array(15)), { kind: "need-more", atLeast: 16 });
});

Deno.test("D-B1: request body start decodes with 22 bytes, errors with 21", () => {
  const body = tableHex("D-B1");
  // D-B1 stops after the method; complete it with an empty descriptor so the body is a whole invocation.
  const frame = frameOf(decode(withBody(fromHex("dabbc2000000000000000001"), Uint8Array.of(...body, 0x00))));
  assert.deepEqual(Object.fromEntries(frame.metadata), {
    interface: "test",
    method: "test",
    version: "0.0.0",
  });
  const short = decode(withBody(fromHex("dabbc2000000000000000001"), body.subarray(0, 21)));
  assert.equal(short.kind, "error");
});

Deno.test("D-B2..D-B7: response types", () => {
  const header = fromHex("dabb02140000000000000001");
  const expected: [string, Frame["type"] | "error-result"][] = [
    ["D-B2", "response"],
    ["D-B3", "error"],
    ["D-B4", "error"],
    ["D-B5", "response"],
    ["D-B6", "error-result"],
    ["D-B7", "error-result"],
  ];
  for (const [id, type] of expected) {
    const result = decode(withBody(header, tableHex(id)));
    if (type === "error-result") {
      assert.equal(result.kind, "error", id);
      continue;
    }
    const frame = frameOf(result);
    assert.equal(frame.type, type, id);
    assert.equal(frame.ok, type === "response", id);
  }
  assert.match((decode(withBody(header, tableHex("D-B6"))) as { reason: string }).reason, /response type 6/);
});

Deno.test("D-F1: request metadata, operation, offsets; bytes are a view of the input", () => {
  const bytes = blockHex("D-F1");
  assert.equal(bytes.length, 246);
  const frame = frameOf(decode(bytes));
  const iface = "org.apache.dubbo.samples.basic.api.DemoService";
  assert.equal(frame.type, "request");
  assert.equal(frame.requestId, 1);
  assert.deepEqual(Object.fromEntries(frame.metadata), {
    interface: iface,
    method: "sayHello",
    path: iface,
    version: "0.0.0",
    foo: "bar",
  });
  assert.equal(frame.operation, `${iface}/sayHello`);
  assert.deepEqual(frame.private, { layout: { attachStart: 111, attachEnd: 246 } });
  assert.equal(frame.bytes.buffer, bytes.buffer);
});

Deno.test("D-F1 + {foo1: bar1} re-encodes to D-F2 (same bytes up to the map, same decoded map)", () => {
  const codec = factory.create("client");
  const encoded = codec.encode(frameOf(codec.decode(blockHex("D-F1"))), new Map([["foo1", "bar1"]]));
  assert.equal(encoded.kind, "bytes");
  const bytes = (encoded as { bytes: Uint8Array }).bytes;
  const d2 = blockHex("D-F2");
  assert.equal(bytes.length, 256);
  assert.deepEqual(bytes.subarray(0, 111), d2.subarray(0, 111));
  assert.deepEqual(
    decodeRequestBody(bytes.subarray(16)).attachments,
    decodeRequestBody(d2.subarray(16)).attachments,
  );
});

Deno.test("D-F3..D-F7: one-way request and responses", () => {
  const oneway = frameOf(decode(blockHex("D-F3")));
  assert.equal(oneway.type, "oneway");
  assert.equal(oneway.requestId, 2);
  assert.equal(factory.create("server").localReply(oneway, { kind: "timeout", message: "x" }), null);
  for (
    const [id, type, ok] of [["D-F4", "response", true], ["D-F5", "response", true], [
      "D-F6",
      "response",
      true,
    ], [
      "D-F7",
      "error",
      false,
    ]] as const
  ) {
    const frame = frameOf(decode(blockHex(id)));
    assert.equal(frame.type, type, id);
    assert.equal(frame.ok, ok, id);
    assert.equal(frame.requestId, 1, id);
    assert.equal(frame.metadata.size, 0, id);
  }
});

Deno.test("D-F8 → D-F9: heartbeat reply is exactly the 17 documented bytes", () => {
  const codec = factory.create("server");
  const heartbeat = frameOf(codec.decode(blockHex("D-F8")));
  assert.equal(heartbeat.type, "heartbeat");
  assert.equal(heartbeat.requestId, 7);
  const reply = codec.heartbeatReply(heartbeat);
  assert.deepEqual(reply, blockHex("D-F8", 1));
  assert.equal(reply!.length, 17);
  // A heartbeat response is decoded as a heartbeat too and is not answered.
  const back = frameOf(codec.decode(reply!));
  assert.equal(back.type, "heartbeat");
  assert.equal(codec.heartbeatReply(back), null);
});

Deno.test("D-F10/D-F11: Aeraki's local replies still decode (as responses with non-20 status 60/80)", () => {
  for (const id of ["D-F10", "D-F11"]) {
    const frame = frameOf(decode(blockHex(id)));
    assert.equal(frame.type, "error", id);
    assert.equal(frame.ok, false, id);
  }
  // Aeraki's quirk: int 0 before the message; ours (see local_reply tests) is the message alone.
  assert.deepEqual(hessianDecodeAll(blockHex("D-F10").subarray(16)), [
    0,
    "meta protocol router: no matched route for request '1'",
  ]);
});

/**
 * The Thrift vectors of /work/shared/specs/frames.md sections D and E (transport detection, complete
 * messages, local replies).
 */
import assert from "node:assert/strict";
import { resolveCodec } from "../../../codecs/registry.ts";
import "../../../codecs/builtin.ts";
import { detectTransport } from "../../../codecs/thrift/transport.ts";
import { feed } from "./feed.ts";
import { hex, toHex } from "./thrift_wire.ts";

const MAX = 16 * 1024 * 1024;

Deno.test("T-A1..T-A9: transport detection as Envoy's auto transport", () => {
  const cases: [string, string, string][] = [
    ["T-A1", "000000ff80010000", "framed"],
    ["T-A2", "00000fff82010000", "framed"],
    ["T-A3", "8001000000000000", "unframed"],
    ["T-A4", "8201000000000000", "unframed"],
    ["T-A5", "000000ff0fff0000000000ee0001000000008001", "header"],
    ["T-A6", "000000ff0fff0000000000ee0001020000008201", "header"],
    ["T-A7", "0000000000000000", "error:unknown transport frame start 00 00 00 00 00 00 00 00"],
    ["T-A8", "000000ff00000000", "error:unknown transport frame start 00 00 00 ff 00 00 00 00"],
    ["T-A9", "00000000000000", "need-more"],
  ];
  for (const [id, bytes, expected] of cases) {
    const r = detectTransport(hex(bytes), MAX, true);
    const got = r.kind === "transport" ? r.transport : r.kind === "error" ? `error:${r.reason}` : r.kind;
    assert.equal(got, expected, id);
  }
});

const T_F1 = "00000022800100010000000873617948656c6c6f000000010b000100000006416572616b6900";
const T_F2 = "800100010000000873617948656c6c6f000000010b000100000006416572616b6900";
const T_F3 = "00000028800100020000000873617948656c6c6f000000010b00000000000c48656c6c6f20416572616b6900";
const T_F4 = "00000011800100040000000470696e670000000500";
const T_F5 = "000000158221010873617948656c6c6f1806416572616b6900";
const T_F6 = "000000400fff000000000001000500000101047573657206616572616b690000" +
  "0000800100010000000873617948656c6c6f000000010b000100000006416572616b6900";
const MESSAGE = "meta protocol router: no matched route for request '1'";
const T_F7_MESSAGE = "800100030000000873617948656c6c6f000000010b0001000000366d65746120" +
  "70726f746f636f6c20726f757465723a206e6f206d61746368656420726f7574" +
  "6520666f722072657175657374202731270800020000000600";
const T_F8 = "00000059" + T_F7_MESSAGE;

Deno.test("T-F1..T-F6: complete messages decode with method, seqid, type and identical bytes", () => {
  const cases: [string, string, string, number, string, Record<string, string>][] = [
    ["T-F1", T_F1, "sayHello", 1, "request", {}],
    ["T-F2", T_F2, "sayHello", 1, "request", {}],
    ["T-F3", T_F3, "sayHello", 1, "response", {}],
    ["T-F4", T_F4, "ping", 5, "oneway", {}],
    ["T-F5", T_F5, "sayHello", 1, "request", {}],
    ["T-F6", T_F6, "sayHello", 1, "request", { user: "aeraki" }],
  ];
  for (const [id, bytes, method, seqid, type, headers] of cases) {
    const codec = resolveCodec("aeraki.meta_protocol.codec.thrift").create("server");
    const { frames, error, leftover } = feed(codec, [hex(bytes)]);
    assert.equal(error, undefined, id);
    assert.equal(frames.length, 1, id);
    assert.equal(leftover, 0, id);
    const { frame } = frames[0];
    assert.equal(toHex(frames[0].bytes), bytes, id);
    assert.equal(frame.metadata.get("method"), method, id);
    assert.equal(frame.requestId, seqid, id);
    assert.equal(frame.type, type, id);
    assert.equal(frame.ok, true, id);
    for (const [k, v] of Object.entries(headers)) assert.equal(frame.metadata.get(k), v, `${id} ${k}`);
  }
});

Deno.test("T-F7/T-F8: local replies match the vectors (framed like the request; unframed when it was)", () => {
  for (const [request, expected] of [[T_F1, T_F8], [T_F2, T_F7_MESSAGE]]) {
    const codec = resolveCodec("thrift").create("server");
    const { frames } = feed(codec, [hex(request)]);
    // The vectors carry INTERNAL_ERROR (6): MetaProtocolProxy's type for every kind, ours for cluster errors.
    const reply = codec.localReply(frames[0].frame, { kind: "cluster_not_found", message: MESSAGE });
    assert.ok(reply);
    assert.equal(toHex(reply), expected);
    // route_not_found is reported as UNKNOWN_METHOD (1): the same bytes but the type.
    const unknown = codec.localReply(frames[0].frame, { kind: "route_not_found", message: MESSAGE });
    assert.ok(unknown);
    assert.equal(toHex(unknown), expected.replace(/0800020000000600$/, "0800020000000100"));
  }
});

Deno.test("oneway requests get no local reply", () => {
  const codec = resolveCodec("thrift").create("server");
  const { frames } = feed(codec, [hex(T_F4)]);
  assert.equal(codec.localReply(frames[0].frame, { kind: "timeout", message: "x" }), null);
});

/**
 * Throughput of the compiled tRPC description against a hand-written tRPC request decoder producing the
 * same Frame (metadata caller/callee/func + trans_info, request id, operation). Prints a table; the goal
 * is a ratio within ~1.5×: `node_modules/.bin/deno run -A bench/declarative.ts [frames]`.
 *
 * @module
 */
import type { Frame } from "../codecs/codec.ts";
import { createDeclarativeCodecFactory, shippedProtocols } from "../codecs/declarative/mod.ts";
import { encodeTrpcRequest } from "../tests/support/trpc_peer.ts";

const td = new TextDecoder();

function varint(b: Uint8Array, at: number, end: number, out: { v: number }): number {
  let v = 0, scale = 1;
  for (let i = 0; i < 10 && at < end; i++) {
    const x = b[at++];
    v += (x & 0x7f) * scale;
    if (x < 0x80) {
      out.v = v;
      return at;
    }
    scale *= 128;
  }
  return -1;
}

function str(b: Uint8Array, s: number, e: number): string {
  if (e - s <= 32) {
    let r = "";
    for (let i = s; i < e; i++) {
      if (b[i] >= 0x80) return td.decode(b.subarray(s, e));
      r += String.fromCharCode(b[i]);
    }
    return r;
  }
  return td.decode(b.subarray(s, e));
}

const scratch = { v: 0 };

/** The hand-written reference: what one would code for tRPC requests without a description. */
function handDecode(b: Uint8Array): Frame | null {
  if (b.length < 16 || b[0] !== 0x09 || b[1] !== 0x30) return null;
  const total = b[4] * 0x1000000 + ((b[5] << 16) | (b[6] << 8) | b[7]);
  const hsize = (b[8] << 8) | b[9];
  if (total > 10485760 || b.length < total || 16 + hsize > total || b[2] !== 0) return null;
  const meta = new Map<string, string>();
  let id = 0, callType = 0, func = "", pos = 16;
  const end = 16 + hsize;
  while (pos < end) {
    pos = varint(b, pos, end, scratch);
    if (pos < 0) return null;
    const tag = scratch.v, num = Math.floor(tag / 8);
    if ((tag & 7) === 0) {
      pos = varint(b, pos, end, scratch);
      if (pos < 0) return null;
      if (num === 3) id = scratch.v;
      else if (num === 2) callType = scratch.v;
    } else if ((tag & 7) === 2) {
      pos = varint(b, pos, end, scratch);
      if (pos < 0 || scratch.v > end - pos) return null;
      const s = pos, e = pos + scratch.v;
      if (num === 5) meta.set("caller", str(b, s, e));
      else if (num === 6) meta.set("callee", str(b, s, e));
      else if (num === 7) meta.set("func", func = str(b, s, e));
      else if (num === 9) {
        let k = "", v = "", p = s;
        while (p < e) {
          p = varint(b, p, e, scratch);
          const t = scratch.v;
          p = varint(b, p, e, scratch);
          if (p < 0 || scratch.v > e - p) return null;
          if (t === 0x0a) k = str(b, p, p + scratch.v);
          else if (t === 0x12) v = str(b, p, p + scratch.v);
          p += scratch.v;
        }
        meta.set(k, v);
      }
      pos = e;
    } else return null;
  }
  return {
    type: callType === 1 ? "oneway" : "request",
    requestId: id,
    bytes: b.subarray(0, total),
    metadata: meta,
    ok: true,
    operation: func,
  };
}

const frames = Number(Deno.args[0] ?? 1_000_000);
const sample = encodeTrpcRequest({
  requestId: 123456,
  caller: "trpc.app.client.service",
  callee: "trpc.test.helloworld",
  func: "/trpc.test.helloworld.Greeter/SayHello",
  timeout: 1000,
  transInfo: { version: "v1", "trpc-dyeing-key": "abc", "x-trace": "0123456789abcdef" },
  body: new Uint8Array(64),
});
const codec = createDeclarativeCodecFactory(shippedProtocols().get("trpc")!).create("server");

function run(name: string, decode: () => unknown): number {
  for (let i = 0; i < 50_000; i++) decode(); // warm-up
  const t0 = performance.now();
  let sink = 0;
  for (let i = 0; i < frames; i++) if (decode()) sink++;
  const ns = ((performance.now() - t0) * 1e6) / frames;
  if (sink !== frames) throw new Error(`${name} failed`);
  return ns;
}

const hand = run("hand", () => handDecode(sample));
const compiled = run("declarative", () => codec.decode(sample).kind === "frame");
console.log(`| decoder (tRPC request, ${sample.length} bytes) | ns/frame | frames/s |`);
console.log(`| --- | ---: | ---: |`);
console.log(`| hand-written | ${hand.toFixed(0)} | ${Math.round(1e9 / hand)} |`);
console.log(`| declarative (compiled trpc.yaml) | ${compiled.toFixed(0)} | ${Math.round(1e9 / compiled)} |`);
console.log(`ratio declarative/hand = ${(compiled / hand).toFixed(2)}×`);

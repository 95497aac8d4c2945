/**
 * Seeded fuzzing of the brpc codec, shared by `fuzz_test.ts` and `bench/fuzz_brpc.ts`: valid frames
 * (built with the independent peer encoder) must decode to exactly what was generated and survive an id
 * rewrite round trip; mutated frames (bit flips, truncation, random header sizes, random bodies) must
 * yield a frame, need-more or an error — never an exception, never a frame larger than the input.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createBrpcCodecFactory } from "../../../codecs/brpc/mod.ts";
import { frame, pbEncode } from "../../support/brpc_peer.ts";
import { unitPrng } from "../../support/prng.ts";

type Item = [number, number | bigint | string | Uint8Array];

/** Counts of decode outcomes. */
export interface FuzzTally {
  frames: number;
  frame: number;
  error: number;
  "need-more": number;
  /** Valid frames whose decoded facts and id round trip were checked. */
  verified: number;
}

/** Runs `count` fuzz frames from `seed`; throws (assertion) on the first broken invariant. */
export function runFuzz(count: number, seed: number): FuzzTally {
  const r = unitPrng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const word = () => Array.from({ length: int(12) }, () => String.fromCharCode(97 + int(26))).join("");
  const factory = createBrpcCodecFactory({ maxBodySize: 4096 });
  const tally: FuzzTally = { frames: 0, frame: 0, error: 0, "need-more": 0, verified: 0 };
  for (let i = 0; i < count; i++) {
    const isRequest = r() < 0.6;
    const id = r() < 0.2
      ? BigInt.asUintN(64, BigInt(int(2 ** 32)) * BigInt(int(2 ** 32)))
      : BigInt(int(2 ** 20));
    const service = word();
    const method = word();
    const code = r() < 0.5 ? 0 : 1000 + int(2000);
    const items: Item[] = [];
    if (isRequest) items.push([1, pbEncode([[1, service], [2, method], [3, int(1000)], [8, int(5000)]])]);
    else items.push([2, pbEncode([[1, code], [2, word()]])]);
    if (r() < 0.3) items.push([3, int(3)]);
    if (r() < 0.9) items.push([4, id]);
    const fields: [string, string][] = [];
    for (let n = int(3); n > 0; n--) fields.push([word() + "k", word()]);
    for (const [k, v] of fields) items.push([9, pbEncode([[1, k], [2, v]])]);
    if (r() < 0.2) items.push([7, word()]);
    const payload = Uint8Array.from({ length: int(40) }, () => int(256));
    const attachment = Uint8Array.from({ length: int(10) }, () => int(256));
    if (attachment.length) items.push([5, attachment.length]);
    let bytes = frame(pbEncode(items), payload, attachment);
    const mode = int(5);
    if (mode === 1) {
      for (let n = 1 + int(3); n > 0; n--) bytes[int(bytes.length)] ^= 1 << int(8);
    } else if (mode === 2) bytes = bytes.slice(0, int(bytes.length));
    else if (mode === 3) {
      const view = new DataView(bytes.buffer);
      view.setUint32(4 + 4 * int(2), r() < 0.5 ? int(2 ** 32) : int(bytes.length));
    } else if (mode === 4) {
      for (let k = 12; k < bytes.length; k++) bytes[k] = int(256);
    }
    const codec = factory.create(isRequest ? "server" : "client");
    const res = codec.decode(bytes);
    tally.frames++;
    tally[res.kind]++;
    if (res.kind === "need-more") {
      assert.ok(res.atLeast === undefined || res.atLeast > bytes.length, `seed ${seed} #${i}: bad atLeast`);
      continue;
    }
    if (res.kind === "error") {
      assert.equal(mode === 0, false, `seed ${seed} #${i}: valid frame refused: ${res.reason}`);
      assert.match(res.reason, /^Cannot /);
      continue;
    }
    assert.ok(res.size <= bytes.length && res.frame.bytes.length === res.size, `seed ${seed} #${i}: size`);
    if (mode !== 0) continue;
    const f = res.frame;
    const hasId = items.some(([n]) => n === 4);
    const expectId = hasId ? (id <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(id) : id) : 0;
    assert.equal(f.requestId, expectId, `seed ${seed} #${i}: id`);
    assert.equal(f.type, isRequest ? "request" : "response");
    if (isRequest) {
      assert.equal(f.metadata.get("service"), service);
      assert.equal(f.metadata.get("method"), method);
    } else assert.equal(f.ok, code === 0);
    for (const [k, v] of new Map(fields)) assert.equal(f.metadata.get(k), v); // a later entry wins
    const newId = r() < 0.5 ? int(2 ** 30) : BigInt.asUintN(64, BigInt(int(2 ** 32)) << 31n);
    const rewritten = codec.setRequestId(f, bytes.slice(), newId);
    const again = factory.create(isRequest ? "server" : "client").decode(rewritten);
    assert.equal(again.kind, "frame", `seed ${seed} #${i}: rewritten frame`);
    if (again.kind !== "frame") continue;
    const norm = typeof newId === "bigint" && newId <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(newId)
      : newId;
    assert.equal(again.frame.requestId, norm);
    assert.deepEqual(
      rewritten.subarray(rewritten.length - payload.length - attachment.length).slice(),
      Uint8Array.from([...payload, ...attachment]),
    );
    if (hasId) assert.deepEqual(codec.setRequestId(again.frame, rewritten.slice(), f.requestId), bytes);
    tally.verified++;
  }
  return tally;
}

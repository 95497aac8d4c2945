/**
 * The split-chunk matrix shared by the declarative codec tests: every case decoded whole, byte by byte
 * (each prefix must be `need-more`), split at every boundary, and followed by a second frame.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { CodecFactory, CodecRole, Frame } from "../../../codecs/codec.ts";

/** Decodes `bytes` every way; returns the frame of the whole decode. */
export function decodeEveryWay(factory: CodecFactory, role: CodecRole, bytes: Uint8Array): Frame {
  const codec = factory.create(role);
  for (let i = 0; i < bytes.length; i++) {
    const r = codec.decode(bytes.subarray(0, i));
    assert.equal(r.kind, "need-more", `prefix of ${i}/${bytes.length} bytes`);
    if (r.kind === "need-more" && r.atLeast !== undefined) {
      assert.ok(r.atLeast > i && r.atLeast <= bytes.length);
    }
  }
  const whole = codec.decode(bytes);
  assert.equal(whole.kind, "frame", whole.kind === "error" ? whole.reason : "");
  if (whole.kind !== "frame") throw new Error("unreachable");
  assert.equal(whole.size, bytes.length);
  assert.deepEqual(whole.frame.bytes, bytes);
  // Split at every boundary, on a fresh instance each time, then two frames back to back.
  for (let k = 1; k < bytes.length; k++) {
    const c = factory.create(role);
    assert.equal(c.decode(bytes.subarray(0, k)).kind, "need-more");
    const again = c.decode(bytes);
    assert.equal(again.kind, "frame");
  }
  const two = new Uint8Array(bytes.length * 2);
  two.set(bytes);
  two.set(bytes, bytes.length);
  const c = factory.create(role);
  const first = c.decode(two);
  assert.equal(first.kind === "frame" && first.size, bytes.length);
  const second = c.decode(two.subarray(bytes.length));
  assert.equal(second.kind === "frame" && second.size, bytes.length);
  return whole.frame;
}

/** The error reason of decoding `bytes` (fails if it is not an error). */
export function decodeError(factory: CodecFactory, role: CodecRole, bytes: Uint8Array): string {
  const r = factory.create(role).decode(bytes);
  assert.equal(r.kind, "error", `expected an error, got ${r.kind}`);
  return r.kind === "error" ? r.reason : "";
}

/** Seeded deterministic fuzz of the Thrift codec: ≥ 100,000 inputs, no throw, no hang. */
import assert from "node:assert/strict";
import { runFuzz } from "./fuzz_frames.ts";

Deno.test("fuzz: 100,000 seeded inputs decode without a throw or a stall", () => {
  const stats = runFuzz(20240601, 100_000);
  assert.equal(stats.inputs, 100_000);
  assert.equal(stats.validDecoded, 25_000);
  // Every ending occurs: the mutations reach each outcome.
  assert.ok(stats.errors > 1000, `errors ${stats.errors}`);
  assert.ok(stats.needMore > 1000, `need-more ${stats.needMore}`);
  assert.ok(stats.frames > stats.validDecoded, `frames ${stats.frames}`);
});

Deno.test("fuzz runs are deterministic for a seed", () => {
  const a = runFuzz(7, 2000);
  const b = runFuzz(7, 2000);
  assert.deepEqual({ ...a, ms: 0 }, { ...b, ms: 0 });
});

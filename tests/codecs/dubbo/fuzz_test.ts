import assert from "node:assert/strict";
import { runFuzz } from "../../support/dubbo_fuzz.ts";

Deno.test("fuzz: 120,000 mutated/truncated/oversized frames never throw and always return a sane result", () => {
  const tally = runFuzz(120_000);
  assert.equal(tally.frames, 120_000);
  // Every outcome kind is exercised, so the generator is not degenerate.
  assert.ok(tally.frame > 10_000, JSON.stringify(tally));
  assert.ok(tally.error > 10_000, JSON.stringify(tally));
  assert.ok(tally["need-more"] > 5_000, JSON.stringify(tally));
  // Deterministic: the same seed gives the same tally.
  assert.deepEqual(runFuzz(2_000), runFuzz(2_000));
});

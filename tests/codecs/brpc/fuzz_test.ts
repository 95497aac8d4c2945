/** Seeded fuzz of the brpc codec: 100,000 frames through the shared generator (`_fuzz.ts`). */
import assert from "node:assert/strict";
import { runFuzz } from "./_fuzz.ts";

Deno.test("brpc codec: seeded fuzz, 100,000 frames: valid ones exact and id round trips, the rest refused cleanly", () => {
  const tally = runFuzz(100_000, 0xb4c);
  assert.equal(tally.frames, 100_000);
  assert.ok(tally.verified > 15_000, `verified ${tally.verified}`);
  assert.ok(tally.error > 10_000 && tally["need-more"] > 10_000, JSON.stringify(tally));
});

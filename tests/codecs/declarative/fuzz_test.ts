import assert from "node:assert/strict";
import { fuzz, fuzzTargets } from "./_fuzz.ts";

// ≥ 100,000 frames per description in CI (METAMESH_FUZZ_FRAMES overrides).
const FRAMES = Number(Deno.env.get("METAMESH_FUZZ_FRAMES") ?? 100_000);

for (const target of fuzzTargets()) {
  Deno.test(`fuzz ${target.name}: ${FRAMES} seeded mutated frames, no crash or hang`, () => {
    const tally = fuzz(target, 0xdec1, FRAMES);
    assert.equal(tally.frames, FRAMES);
    assert.ok(tally.frame > 0 && tally.error > 0 && tally["need-more"] > 0, JSON.stringify(tally));
  });
}

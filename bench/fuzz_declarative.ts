/**
 * Seeded fuzzing of the declarative codec (tRPC, videopacket and toy descriptions), printing a table of
 * outcomes and rates: `node_modules/.bin/deno run -A bench/fuzz_declarative.ts [frames] [seed]`.
 *
 * @module
 */
import { fuzz, fuzzTargets } from "../tests/codecs/declarative/_fuzz.ts";

const frames = Number(Deno.args[0] ?? 1_000_000);
const seed = Number(Deno.args[1] ?? 0xdec1);
console.log(`| description | frames | frame | need-more | error | frames/s |`);
console.log(`| --- | ---: | ---: | ---: | ---: | ---: |`);
for (const target of fuzzTargets()) {
  const t0 = performance.now();
  const tally = fuzz(target, seed, frames);
  const rate = Math.round(frames / ((performance.now() - t0) / 1000));
  console.log(
    `| ${target.name} | ${tally.frames} | ${tally.frame} | ${
      tally["need-more"]
    } | ${tally.error} | ${rate} |`,
  );
}

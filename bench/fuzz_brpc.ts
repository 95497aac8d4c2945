/**
 * Fuzzes the brpc codec with the shared generator and prints a small table.
 *
 *     node_modules/.bin/deno run -A bench/fuzz_brpc.ts [count=1000000] [seed=2892]
 *
 * @module
 */
import { runFuzz } from "../tests/codecs/brpc/_fuzz.ts";
import { runFuzzBench } from "./fuzz_table.ts";

runFuzzBench({
  title: "brpc codec fuzz",
  defaultSeed: 0xb4c,
  run: runFuzz,
  rows: [
    ["result frame", "frame"],
    ["verified exact + id round trip", "verified"],
    ["result error", "error"],
    ["result need-more", "need-more"],
  ],
});

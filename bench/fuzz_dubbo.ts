/**
 * Fuzzes the Dubbo codec with the shared generator and prints a small table.
 *
 *     node_modules/.bin/deno run -A bench/fuzz_dubbo.ts [count=1000000] [seed=24301]
 *
 * @module
 */
import { runFuzz } from "../tests/support/dubbo_fuzz.ts";
import { runFuzzBench } from "./fuzz_table.ts";

runFuzzBench({
  title: "Dubbo codec fuzz",
  defaultSeed: 0x5eed,
  run: runFuzz,
  rows: [
    ["result frame", "frame"],
    ["result error", "error"],
    ["result need-more", "need-more"],
  ],
});

/**
 * Fuzzes the brpc codec with the shared generator and prints a small table.
 *
 *     node_modules/.bin/deno run -A bench/fuzz_brpc.ts [count=1000000] [seed=2892]
 *
 * @module
 */
import { runFuzz } from "../tests/codecs/brpc/_fuzz.ts";

const count = Number(Deno.args[0] ?? 1_000_000);
const seed = Number(Deno.args[1] ?? 0xb4c);
if (!Number.isInteger(count) || count <= 0) {
  throw new RangeError(`Cannot fuzz: count '${Deno.args[0]}' is not a positive integer`);
}

const started = performance.now();
const tally = runFuzz(count, seed);
const seconds = (performance.now() - started) / 1000;

const rows: [string, string][] = [
  ["frames", tally.frames.toLocaleString("en-US")],
  ["seconds", seconds.toFixed(2)],
  ["frames/s", Math.round(tally.frames / seconds).toLocaleString("en-US")],
  ["result frame", tally.frame.toLocaleString("en-US")],
  ["verified exact + id round trip", tally.verified.toLocaleString("en-US")],
  ["result error", tally.error.toLocaleString("en-US")],
  ["result need-more", tally["need-more"].toLocaleString("en-US")],
  ["throws", "0"],
];
console.log(`brpc codec fuzz (seed ${seed})`);
console.log("| metric | value |\n| --- | ---: |");
for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);

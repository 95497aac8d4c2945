/**
 * Thrift codec fuzz run: `deno run -A bench/fuzz_thrift.ts [count] [seed]` (default 100000, 1). Prints how
 * the inputs ended and the rate; fails (throws) on any codec contract breach. Shares its generator with
 * `tests/codecs/thrift/fuzz_test.ts`.
 *
 * @module
 */
import { runFuzz } from "../tests/codecs/thrift/fuzz_frames.ts";

const count = Number(Deno.args[0] ?? 100_000);
const seed = Number(Deno.args[1] ?? 1);
const stats = runFuzz(seed, count);
const rows: [string, string][] = [
  ["inputs", String(stats.inputs)],
  ["valid, decoded exactly", String(stats.validDecoded)],
  ["frames returned", String(stats.frames)],
  ["ended in error", String(stats.errors)],
  ["ended in need-more", String(stats.needMore)],
  ["time (ms)", stats.ms.toFixed(0)],
  ["inputs/s", Math.round(stats.inputs / (stats.ms / 1000)).toLocaleString("en-US")],
];
console.log(`| thrift fuzz (seed ${seed}) | value |\n| --- | ---: |`);
for (const [name, value] of rows) console.log(`| ${name} | ${value} |`);

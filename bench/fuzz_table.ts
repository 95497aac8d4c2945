/**
 * The shared body of the codec fuzz benches (`bench/fuzz_<codec>.ts [count] [seed]`): reads count and seed from
 * the command line, times one fuzz run and prints a markdown table of its tally.
 *
 * @module
 */

/** Which codec, how to run it, and which tally rows to print (label → tally key), after frames/seconds/rate. */
export interface FuzzBench<T extends { readonly frames: number }> {
  /** Title, e.g. `brpc codec fuzz`. */
  readonly title: string;
  readonly defaultSeed: number;
  /** One fuzz run: frames fed, and a count per outcome. */
  readonly run: (count: number, seed: number) => T;
  readonly rows: readonly (readonly [label: string, key: keyof T])[];
}

/** Runs the bench with `args` (`[count=1000000] [seed]`); throws on a count that is not a positive integer. */
export function runFuzzBench<T extends { readonly frames: number }>(
  bench: FuzzBench<T>,
  args: readonly string[] = Deno.args,
): void {
  const count = Number(args[0] ?? 1_000_000);
  const seed = Number(args[1] ?? bench.defaultSeed);
  if (!Number.isInteger(count) || count <= 0) {
    throw new RangeError(`Cannot fuzz: count '${args[0]}' is not a positive integer`);
  }
  const started = performance.now();
  const tally = bench.run(count, seed);
  const seconds = (performance.now() - started) / 1000;
  const n = (x: number) => x.toLocaleString("en-US");
  const rows: [string, string][] = [
    ["frames", n(tally.frames)],
    ["seconds", seconds.toFixed(2)],
    ["frames/s", n(Math.round(tally.frames / seconds))],
    ...bench.rows.map(([label, key]): [string, string] => [label, n(Number(tally[key]))]),
    ["throws", "0"],
  ];
  console.log(`${bench.title} (seed ${seed})`);
  console.log("| metric | value |\n| --- | ---: |");
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
}

/**
 * Runs every benchmark in turn (`deno task bench [--write]`); each prints its own table.
 *
 * @module
 */
import { deno, repoRoot } from "./lib.ts";

const SCRIPTS = ["dubbo/run.ts", "thrift/run.ts", "redis/run.ts", "control-plane/run.ts"];

for (const script of SCRIPTS) {
  const path = `${repoRoot}bench/${script}`;
  if (!(await Deno.stat(path).catch(() => undefined))) continue;
  console.log(`\n# bench/${script}\n`);
  const { code } = await new Deno.Command(deno, {
    args: ["run", "-A", path, ...Deno.args],
    stdout: "inherit",
    stderr: "inherit",
  })
    .output();
  if (code !== 0) Deno.exit(code);
}

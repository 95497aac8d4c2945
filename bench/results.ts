/**
 * Keeps bench/RESULTS.md as one section per benchmark (`## Dubbo`, `## Thrift`, `## Redis`, …), so each
 * script rewrites only its own section.
 *
 * @module
 */
import { deno, repoRoot } from "./lib.ts";

const FILE = `${repoRoot}bench/RESULTS.md`;
const HEAD =
  "# Benchmark results\n\nEach section is written by its script (`--write`); conditions are recorded with the numbers.\n";

/** Replaces (or appends) the section `## <title>` with `body`. */
export async function replaceSection(title: string, body: string): Promise<void> {
  const text = await Deno.readTextFile(FILE).catch(() => HEAD);
  const sections = text.split(/^(?=## )/m);
  const head = sections[0].startsWith("## ") ? HEAD : sections.shift()!;
  const next = `## ${title}\n\n${body.trim()}\n\n`;
  const index = sections.findIndex((s) => s.startsWith(`## ${title}\n`));
  if (index >= 0) sections[index] = next;
  else sections.push(next);
  await Deno.writeTextFile(FILE, (head.trimEnd() + "\n\n" + sections.join("")).trimEnd() + "\n");
  // Keep the file as `deno fmt` wants it (tables aligned), so a bench run leaves the tree fmt-clean.
  await new Deno.Command(deno, { args: ["fmt", "--quiet", FILE], cwd: repoRoot }).output();
}

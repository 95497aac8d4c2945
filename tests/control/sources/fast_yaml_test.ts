import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { parseSimpleYamlStream } from "../../../control/sources/fast_yaml.ts";
import { metaRouter, writeManifests } from "../../../bench/control-plane/manifests.ts";

function viaYaml(text: string): unknown[] {
  return parseAllDocuments(text).map((d) => d.toJS());
}

/** The fast path either declines (`undefined`) or gives exactly what the `yaml` package gives. */
function agrees(text: string, mustAccept = false): void {
  const fast = parseSimpleYamlStream(text);
  if (fast === undefined) {
    assert.ok(!mustAccept, `declined:\n${text}`);
    return;
  }
  assert.deepEqual(fast, viaYaml(text), text);
}

Deno.test("fast YAML: the benchmark manifests parse as with the yaml package", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeManifests(dir, 120, 3);
    for await (const entry of Deno.readDir(dir)) {
      agrees(await Deno.readTextFile(`${dir}/${entry.name}`), true);
    }
    agrees(metaRouter(7, "r"), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fast YAML: every YAML file of the repository agrees or is declined", async () => {
  let accepted = 0;
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (/\.ya?ml$/.test(entry.name)) {
        const text = await Deno.readTextFile(path);
        if (parseAllDocuments(text).some((d) => d.errors.length > 0)) continue;
        agrees(text);
        if (parseSimpleYamlStream(text)) accepted++;
      }
    }
  };
  await walk(new URL("../../..", import.meta.url).pathname.replace(/\/$/, ""));
  assert.ok(accepted > 0);
});

Deno.test("fast YAML: scalars, flow collections, comments, nesting", () => {
  const cases = [
    "a: 1\nb: -2\nc: 1.5\nd: .5\ne: 1e3\nf: true\ng: False\nh: null\ni: ~\nj:\nk: '010'\nl: 010\nm: +3\n",
    "s: \"quoted # not a comment\" # a comment\nt: 'it''s'\nu: plain text, with comma\nv: a:b\n",
    "# leading comment\n---\nkind: X\nlist:\n- a\n- {b: 1, c: [x, 'y', \"z\"]}\n-\n  nested: yes\n",
    "m:\n  - name: n\n    value: {}\n    empty: []\n  - - 1\n    - 2\n  -\n",
    "a: 1\n---\nb: 2\n--- # c\nc: [1, [2, {d: e}]]\n",
    "k: 0x1F\n",
    "k: .inf\n",
    "k: |\n  block\n",
    "k: &a 1\nl: *a\n",
    "k: !!str 1\n",
    "a: 1\na: 2\n",
    "k: [1,\n  2]\n",
    "k: multi\n  line\n",
    "%YAML 1.2\n---\na: 1\n",
    "a: 1\n---\n",
    'k: "\\u00e9"\n',
    "k: - x\n",
    "\tk: 1\n",
    "key with space: 1\n",
    "? complex\n: v\n",
  ];
  for (const text of cases) agrees(text);
  agrees(cases[0], true);
  agrees(cases[2], true);
  agrees(cases[4], true);
});

import assert from "node:assert/strict";
import { parse as parseYaml, stringify } from "yaml";
import "../../../codecs/declarative/mod.ts";
import { resolveCodec } from "../../../codecs/registry.ts";
import { DECLARATIVE_CONFIG_TYPE, loadProtocol } from "../../../codecs/declarative/mod.ts";
import { SHIPPED_DESCRIPTIONS } from "../../../codecs/declarative/shipped.ts";
import { TOY } from "./_toy.ts";

// Descriptions are edited as loose YAML trees on purpose: the point is to feed the loader bad shapes.
// deno-lint-ignore no-explicit-any
type Doc = Record<string, any>;

/** The toy description with `edit` applied to its parsed object. */
function edited(edit: (d: Doc) => void): string {
  const d = parseYaml(TOY) as Doc;
  edit(d);
  return stringify(d);
}

const cases: [string, (d: Doc) => void, RegExp][] = [
  ["bad offset type", (d) => d.fields[2].offset = "x", /fields\[2\]\.offset: expected a number/],
  ["unknown key", (d) => d.lenght = 1, /\(root\): unknown field 'lenght'/],
  ["bad int type", (d) => d.fields[0].type = "u9", /fields\[0\]\.type: Invalid option/],
  ["missing length", (d) => delete d.length, /length: expected an object/],
  [
    "field past header",
    (d) => d.fields[2].offset = 12,
    /fields\[2\]\.offset: u32 at 12 ends past header_size 14/,
  ],
  ["duplicate name", (d) => d.fields[1].name = "flags", /fields\[1\]\.name: name 'flags' is already used/],
  ["unknown length field", (d) => d.length.field = "size", /length\.field: unknown header field 'size'/],
  [
    "unknown rule value",
    (d) => d.message_kind[1].when = { flag: 1 },
    /message_kind\[1\]\.when\.flag: unknown value 'flag'/,
  ],
  [
    "metadata of a map",
    (d) => d.metadata[0] = { key: "a", from: "attrs" },
    /metadata\[0\]\.from: 'attrs' is a map/,
  ],
  ["kv_list without kv", (d) => delete d.sections[1].kv, /sections\[1\]\.kv: a kv_list section needs kv/],
  ["bad hex magic", (d) => d.magic[0].hex = "7", /magic\[0\]\.hex: expected hex bytes/],
  [
    "template of unknown section",
    (d) => d.error_reply.sections = { nope: [] },
    /error_reply\.sections\.nope: unknown section/,
  ],
  ["bad request id", (d) => d.request_id.from = "service", /request_id\.from: 'service' is not a number/],
];

for (const [name, edit, expected] of cases) {
  Deno.test(`description rejected at load: ${name}`, () => {
    assert.throws(() => loadProtocol(edited(edit)), (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /^Cannot load declarative description/);
      assert.match(e.message, expected);
      return true;
    });
  });
}

Deno.test("description: bad YAML is rejected with its origin", () => {
  assert.throws(
    () => loadProtocol("name: [", "x.yaml"),
    /Cannot load declarative description from x\.yaml: bad YAML/,
  );
});

Deno.test("shipped.ts embeds exactly codecs/protocols/*.yaml (rerun gen_shipped.ts if this fails)", () => {
  const dir = new URL("../../../codecs/protocols/", import.meta.url);
  const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".yaml")).sort();
  assert.deepEqual(Object.keys(SHIPPED_DESCRIPTIONS).sort(), files);
  for (const f of files) assert.equal(SHIPPED_DESCRIPTIONS[f], Deno.readTextFileSync(new URL(f, dir)), f);
});

Deno.test("registry: declarative codec from inline description or file; shipped names; bad configs", async () => {
  const inline = resolveCodec("metamesh.codec.declarative", {
    "@type": DECLARATIVE_CONFIG_TYPE,
    description: TOY,
  });
  assert.equal(inline.name, "metamesh.codec.declarative");
  assert.equal(inline.multiplexable, true);
  const path = await Deno.makeTempFile({ suffix: ".yaml" });
  try {
    await Deno.writeTextFile(path, TOY);
    assert.equal(resolveCodec("metamesh.codec.declarative", { description_file: path }).multiplexable, true);
  } finally {
    await Deno.remove(path);
  }
  assert.equal(resolveCodec("metamesh.codec.trpc").multiplexable, true);
  assert.equal(resolveCodec("metamesh.codec.videopacket").multiplexable, false);
  assert.throws(
    () => resolveCodec("metamesh.codec.declarative"),
    /description or description_file is required/,
  );
  assert.throws(
    () => resolveCodec("metamesh.codec.declarative", { description: TOY, description_file: "x" }),
    /exactly one/,
  );
  assert.throws(
    () => resolveCodec("metamesh.codec.declarative", { description_file: "/nonexistent.yaml" }),
    /cannot be read/,
  );
  assert.throws(
    () =>
      resolveCodec("metamesh.codec.declarative", { description: edited((d) => d.fields[2].offset = "x") }),
    /fields\[2\]\.offset: expected a number/,
  );
  assert.throws(
    () => resolveCodec("metamesh.codec.trpc", { description: TOY }),
    /unknown field 'description'/,
  );
});

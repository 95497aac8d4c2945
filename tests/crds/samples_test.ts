/**
 * Every document of a supported kind in Aeraki's samples and install manifests validates unchanged.
 */
import assert from "node:assert/strict";
import { relative } from "node:path";
import { parseAllDocuments } from "yaml";
import { expandList, validateResource } from "../../crds/validate.ts";
import { aerakiPath } from "../support/paths.ts";

async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...await yamlFiles(path));
    else if (/\.ya?ml$/.test(entry.name)) out.push(path);
  }
  return out.sort();
}

Deno.test("Aeraki samples and install manifests validate unchanged", async () => {
  const files = [...await yamlFiles(aerakiPath("samples")), ...await yamlFiles(aerakiPath("install"))];
  const failures: string[] = [];
  const counts = new Map<string, number>();
  for (const file of files) {
    const name = relative(aerakiPath(), file);
    const text = await Deno.readTextFile(file);
    const docs = parseAllDocuments(text);
    const lines: string[] = [];
    // install/aeraki.yaml, istio-config.yaml… are envsubst templates: validated as written, placeholders kept.
    if (text.includes("${")) lines.push("  (has ${VAR} placeholders: validated as written)");
    docs.forEach((doc, index) => {
      assert.equal(doc.errors.length, 0, `${name}#${index} must parse: ${doc.errors[0]?.message}`);
      for (const obj of expandList(doc.toJS())) {
        const result = validateResource(obj, `${name}#${index}`);
        if (result.ok) counts.set(result.key.kind, (counts.get(result.key.kind) ?? 0) + 1);
        else if (result.skipped) lines.push(`  #${index} skipped: ${result.reason}`);
        else failures.push(result.error);
      }
    });
    console.log(`${name}${lines.length ? "\n" + lines.join("\n") : ""}`);
  }
  console.log("validated:", Object.fromEntries(counts));
  assert.deepEqual(failures, []);
  // Every Aeraki kind the samples contain was seen (guards against everything being "skipped").
  for (const kind of ["MetaRouter", "ApplicationProtocol", "RedisService", "RedisDestination"]) {
    assert.ok((counts.get(kind) ?? 0) > 0, kind);
  }
  for (const kind of ["DubboAuthorizationPolicy", "ServiceEntry", "DestinationRule", "VirtualService"]) {
    assert.ok((counts.get(kind) ?? 0) > 0, kind);
  }
  for (const kind of ["Gateway", "Service", "EndpointSlice", "Secret"]) {
    assert.ok((counts.get(kind) ?? 0) > 0, kind);
  }
});
